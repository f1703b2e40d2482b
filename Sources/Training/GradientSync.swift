// GradientSync: how the trainer keeps model replicas identical across ranks. The trainer only uses this
// protocol; `makeGradientSync` chooses the implementation (the bucketed `DataParallel` replaces
// `PlainAllReduceSync` here at merge time — one line).
//
// PlainAllReduceSync, the simple reference implementation:
//   broadcastParameters   MPI_Bcast of the whole flat value buffer from rank 0
//   verifyLayout          all-gather of a hash of the parameter names, shapes and offsets; any difference
//                         is an error on every rank naming the ranks that differ from rank 0
//   allReduceGradients    one in-place sum all-reduce over the whole flat gradient buffer, then g ← g / d
//   checkReplicas         all-gather of a hash of the parameter bits; an error on every rank naming the
//                         ranks whose replica differs from rank 0's
// All four are collectives: every rank calls them in the same order. Errors are thrown identically on
// every rank (they are computed from all-gathered values), so no rank is left waiting.

import CGMData
import Distributed
import Foundation
import Layers

/// Keeps data-parallel replicas in sync: initial broadcast, gradient averaging, consistency checks.
/// Every method is a collective. `verifyLayout` and `checkReplicas` must throw on every rank alike (the
/// trainer then stops every rank with that error); an `MPIError` is taken as a communication failure and
/// aborts the job.
public protocol GradientSync {
    /// Copies rank 0's parameter values to every rank.
    func broadcastParameters() throws
    /// Throws on every rank unless all ranks registered the same parameters (names, shapes, order).
    func verifyLayout() throws
    /// Replaces each rank's gradients by the sum over ranks divided by `divisor`.
    func allReduceGradients(divisor: Float) throws
    /// Throws on every rank unless all ranks hold bit-identical parameter values.
    func checkReplicas() throws
}

/// The implementation the trainer uses. `bucketCapBytes` is the all-reduce bucket size of DataParallel.
public func makeGradientSync(comm: any Communicator, store: ParameterStore, bucketCapBytes: Int) throws -> any GradientSync {
    // MERGE: return try DataParallel(comm: comm, store: store, bucketCapBytes: bucketCapBytes)
    PlainAllReduceSync(comm: comm, store: store)
}

/// Replicas that disagree (layout or values); the message names the ranks.
public struct ReplicaMismatchError: Error, CustomStringConvertible {
    public let description: String
}

/// One all-reduce over the whole flat gradient buffer (see the file comment).
public final class PlainAllReduceSync: GradientSync {
    public let comm: any Communicator
    public let store: ParameterStore

    public init(comm: any Communicator, store: ParameterStore) {
        self.comm = comm
        self.store = store
    }

    public func broadcastParameters() throws {
        guard store.count > 0 else { return }
        try comm.broadcast(store.values.pointer, count: store.count, root: 0)
    }

    public func verifyLayout() throws {
        let hashes = try comm.allGather([Int64(bitPattern: ParameterFingerprint.hash(store))])
        let differ = hashes.indices.filter { hashes[$0] != hashes[0] }
        guard differ.isEmpty else {
            throw ReplicaMismatchError(description: "parameter layout of rank(s) \(differ.map(String.init).joined(separator: ", ")) "
                                       + "differs from rank 0's (different model or config on some ranks?)")
        }
    }

    public func allReduceGradients(divisor: Float) throws {
        let n = store.count
        guard n > 0 else { return }
        let g = store.gradients.pointer
        try comm.allReduce(g, count: n, op: .sum)
        if divisor != 1 { for i in 0..<n { g[i] /= divisor } }
    }

    public func checkReplicas() throws {
        let h = ParameterFingerprint.valuesHash(store.values.pointer, count: store.count)
        let hashes = try comm.allGather([Int64(bitPattern: h)])
        let differ = hashes.indices.filter { hashes[$0] != hashes[0] }
        guard differ.isEmpty else {
            throw ReplicaMismatchError(description: "replica check failed: the parameters of rank(s) "
                                       + "\(differ.map(String.init).joined(separator: ", ")) differ from rank 0's")
        }
    }
}

/// Hashes of a store's layout and values (FNV-1a 64).
public enum ParameterFingerprint {
    /// Hash of every entry's name, shape and offset, in order.
    public static func hash(_ store: ParameterStore) -> UInt64 {
        var h = TrainerFNV1a()
        for e in store.entries { h.add("\(e.name):\(e.shape.map(String.init).joined(separator: "x"))@\(e.offset);") }
        return h.value
    }

    /// The layout as text: "name (shape)" per entry.
    public static func describe(_ store: ParameterStore) -> [String] {
        store.entries.map { "\($0.name) \($0.shape)" }
    }

    /// Hash of `count` floats' bit patterns.
    public static func valuesHash(_ p: UnsafePointer<Float>, count: Int) -> UInt64 {
        var h = TrainerFNV1a()
        h.add(UnsafeRawBufferPointer(start: p, count: count * MemoryLayout<Float>.size))
        return h.value
    }
}

/// FNV-1a 64-bit.
struct TrainerFNV1a {
    private(set) var value: UInt64 = 0xCBF2_9CE4_8422_2325

    mutating func add(_ bytes: UnsafeRawBufferPointer) {
        var h = value
        for b in bytes {
            h ^= UInt64(b)
            h &*= 0x0000_0100_0000_01B3
        }
        value = h
    }

    mutating func add(_ s: String) {
        var copy = s
        copy.withUTF8 { add(UnsafeRawBufferPointer($0)) }
    }

    var hex: String {
        let s = String(value, radix: 16)
        return String(repeating: "0", count: 16 - s.count) + s
    }
}
