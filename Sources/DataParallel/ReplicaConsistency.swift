// Consistency checks across replicas: the parameter layout before training (names and shapes, hashed),
// and the parameter values during training (`--check-replicas N`). Both first exchange one 64-bit hash
// per rank; only on a mismatch do they exchange per-parameter hashes (and names) to say which
// parameter and which ranks differ. Every rank computes the same verdict and throws the same error.

import CGMData
import Distributed
import Layers

extension DataParallel {
    /// Checks that every rank registered the same parameters (names and shapes, in the same order).
    /// Throws `DataParallelError.layoutMismatch` naming the first differing parameter and the ranks.
    public func verifyLayout() throws {
        let hashes = try comm.allGather([Int64(bitPattern: layout.hash)])
        if hashes.allSatisfy({ $0 == hashes[0] }) { return }
        // Per-entry hashes, padded with 0 ("no entry") to the longest layout.
        let counts = try comm.allGather([Int64(layout.entries.count)])
        let longest = Int(counts.max() ?? 0)
        var mine = layout.entries.map { Int64(bitPattern: $0.hash) }
        mine += [Int64](repeating: 0, count: longest - mine.count)
        let all = try comm.allGather(mine)
        let row = { (r: Int) in Array(all[(r * longest)..<((r + 1) * longest)]) }
        let index = (0..<longest).first { i in (1..<comm.size).contains { all[$0 * longest + i] != all[i] } } ?? longest
        let differing = (1..<comm.size).filter { row($0) != row(0) }
        let here = index < layout.entries.count ? layout.entries[index].description : nil
        let described = try allGatherStrings(here ?? "")
        let entries: [String?] = described.enumerated().map { r, s in index < Int(counts[r]) ? s : nil }
        throw DataParallelError.layoutMismatch(index: index, entries: entries, differingRanks: differing)
    }

    /// Checks that every rank holds bit-identical parameter values. Throws
    /// `DataParallelError.replicasDiverged` naming the ranks that differ from rank 0 and the first
    /// differing parameter. `step` is only used in the message.
    public func checkReplicas(step: Int? = nil) throws {
        let whole = parameterHash(0..<store.count)
        let hashes = try comm.allGather([Int64(bitPattern: whole)])
        let differing = (1..<max(comm.size, 1)).filter { hashes[$0] != hashes[0] }
        if differing.isEmpty { return }
        let mine = store.entries.map { Int64(bitPattern: parameterHash($0.offset..<($0.offset + $0.count))) }
        let all = try comm.allGather(mine)
        let n = mine.count
        let first = (0..<n).first { i in differing.contains { all[$0 * n + i] != all[i] } }
        let name = first.map { store.entries[$0].name } ?? "?"
        throw DataParallelError.replicasDiverged(differingRanks: differing, parameter: name, step: step)
    }

    /// FNV-1a over the bits of `values[range]`.
    func parameterHash(_ range: Range<Int>) -> UInt64 {
        var h = FNV1a64()
        h.add(UInt64(range.count))
        (store.values.pointer + range.lowerBound).withMemoryRebound(to: UInt32.self, capacity: range.count) {
            h.add(words: $0, count: range.count)
        }
        return h.value
    }

    /// Every rank's string, rank-major (lengths first, then the bytes padded to the longest).
    func allGatherStrings(_ s: String) throws -> [String] {
        let bytes = Array(s.utf8)
        let lengths = try comm.allGather([Int64(bytes.count)])
        let width = max(1, Int(lengths.max() ?? 0))
        let all = try comm.allGather(bytes + [UInt8](repeating: 0, count: width - bytes.count))
        return (0..<comm.size).map { r in
            String(decoding: all[(r * width)..<(r * width + Int(lengths[r]))], as: UTF8.self)
        }
    }
}
