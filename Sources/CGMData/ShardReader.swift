// ShardReader: reads batches of windows of one split by global index. Indices are grouped by shard; for
// each shard the distinct rows are merged into runs of consecutive rows and read with one hyperslab
// H5Dread per dataset, then scattered to their batch positions (duplicates allowed). Memory stays bounded
// whatever the dataset size: at most `maxOpenShards` shard files are open (least recently used closed
// first), and each open dataset caches at most `chunkCacheBytes` of decompressed chunks, so the reader
// holds at most maxOpenShards × datasets × chunkCacheBytes (never more than the shards' decompressed size)
// beyond the batch itself. A rank only ever opens shards that hold its samples.
//
// Sizing: with K ≥ number of shards and chunkCacheBytes ≥ a shard's largest dataset, every chunk is
// inflated once and later epochs read from memory; with less, a globally shuffled epoch re-inflates
// chunks (cost ~ chunkRows rows per sampled row) but memory stays fixed.
//
// Thread safety: not thread-safe; use one reader from one thread at a time (a Prefetcher's thread while
// it runs). Every HDF5 call is made under HDF5Lock.

import CGMSchema
import Foundation
import HDF5IO

/// Random-access batch reader over one split of a `ShardDataset`.
public final class ShardReader {
    /// The dataset.
    public let dataset: ShardDataset
    /// The split read.
    public let split: ShardSplit
    /// Maximum shard files open at once (LRU).
    public let maxOpenShards: Int
    /// Chunk cache per open dataset.
    public let chunkCache: H5ChunkCache
    /// Rank named in errors.
    public let rank: Int?

    /// Open shards, most recently used last.
    private var open: [(shard: Int, handle: ShardHandle)] = []
    /// Shards whose attributes were checked against the manifest (reopens only check datasets).
    private var checked = Set<Int>()
    /// Shard files open now (≤ maxOpenShards).
    public var openShardCount: Int { open.count }
    /// Largest number of shard files ever open at once.
    public private(set) var peakOpenShardCount = 0
    /// Number of shard-file opens so far (cache misses).
    public private(set) var shardOpens = 0

    /// Windows in the split.
    public var count: Int { dataset.count(split) }

    /// Creates a reader. `maxOpenShards` ≥ 1 bounds open files; `chunkCacheBytes` bounds the decompressed
    /// chunks cached per open dataset (default 16 MiB). `rank` is named in errors.
    public init(dataset: ShardDataset, split: ShardSplit, maxOpenShards: Int = 4, chunkCacheBytes: Int = 16 << 20,
                rank: Int? = nil) {
        precondition(maxOpenShards >= 1, "ShardReader: maxOpenShards must be at least 1, got \(maxOpenShards)")
        self.dataset = dataset
        self.split = split
        self.maxOpenShards = maxOpenShards
        self.chunkCache = H5ChunkCache(bytes: chunkCacheBytes)
        self.rank = rank
    }

    deinit { close() }

    /// Closes every open shard file (the reader stays usable; shards reopen on demand).
    public func close() {
        HDF5Lock.withLock {
            for entry in open { entry.handle.close() }
            open.removeAll()
        }
    }

    /// Reads the windows with global indices `indices` (any order, duplicates allowed) into a Batch whose
    /// row b is window `indices[b]`. Errors name the shard file, the dataset and the rank.
    public func read(indices: [Int]) throws -> Batch {
        let m = dataset.manifest
        var batch = Batch(count: indices.count, history: m.history, horizon: m.horizon,
                          pastFeatureCount: m.pastFeatures.count, futureFeatureCount: m.futureFeatures.count,
                          staticFeatureCount: m.staticFeatures.count, extras: m.extras)
        batch.indices = indices
        let n = count
        // Batch positions per shard.
        var groups: [Int: [(position: Int, row: Int)]] = [:]
        for (b, i) in indices.enumerated() {
            guard i >= 0 && i < n else {
                throw ShardError(file: dataset.directory, rank: rank,
                                 message: "sample index \(i) outside 0..<\(n) of split \(split.rawValue)")
            }
            let (shard, row) = dataset.locate(i, in: split)
            groups[shard, default: []].append((b, row))
        }
        try HDF5Lock.withLock {
            for shard in groups.keys.sorted() {
                try readShard(shard, groups[shard]!, into: &batch)
            }
        }
        return batch
    }

    // MARK: Internals

    /// The open handle of `shard`, opening it (and closing the least recently used) if needed.
    private func handle(_ shard: Int) throws -> ShardHandle {
        if let i = open.firstIndex(where: { $0.shard == shard }) {
            let entry = open.remove(at: i)
            open.append(entry)
            return entry.handle
        }
        if open.count >= maxOpenShards { open.removeFirst().handle.close() }
        let h = try ShardHandle.open(path: dataset.shardPath(split, shard: shard), entry: dataset.shards(split)[shard],
                                     split: split, manifest: dataset.manifest, chunkCache: chunkCache,
                                     checkAttributes: !checked.contains(shard), rank: rank)
        checked.insert(shard)
        open.append((shard, h))
        shardOpens += 1
        peakOpenShardCount = max(peakOpenShardCount, open.count)
        return h
    }

    /// Reads the rows of one shard needed by `wanted` and scatters them into `batch`.
    private func readShard(_ shard: Int, _ wanted: [(position: Int, row: Int)], into batch: inout Batch) throws {
        let h = try handle(shard)
        let rows = Array(Set(wanted.map(\.row))).sorted()
        var slot: [Int: Int] = [:]
        for (k, r) in rows.enumerated() { slot[r] = k }
        var runs: [Range<Int>] = []
        for r in rows {
            if let last = runs.last, last.upperBound == r { runs[runs.count - 1] = last.lowerBound..<(r + 1) }
            else { runs.append(r..<(r + 1)) }
        }
        let places = wanted.map { (dst: $0.position, src: slot[$0.row]!) }

        do {
            try gather(h.past, runs, rows.count, places, into: &batch.past)
            try gather(h.future, runs, rows.count, places, into: &batch.future)
            try gather(h.target, runs, rows.count, places, into: &batch.target)
            try gather(h.statics, runs, rows.count, places, into: &batch.statics)
            try gather(h.decisionTime, runs, rows.count, places, into: &batch.decisionTime)
            let subjectRows: [Int32] = try h.subject.readRows(runs).values
            for p in places {
                let s = subjectRows[p.src]
                guard s >= 0 && Int(s) < h.subjectMap.count else {
                    throw ShardError(file: h.path, dataset: "/" + ShardSchema.Dataset.subject, rank: rank,
                                     message: "subject index \(s) outside 0..<\(h.subjectMap.count)")
                }
                batch.subject[p.dst] = h.subjectMap[Int(s)]
            }
            for (name, ds) in h.extras {
                try gather(ds, runs, rows.count, places, into: &batch.extras[name]!.values)
            }
        } catch {
            throw ShardError.wrap(error, file: h.path, rank: rank)
        }
    }

    /// Reads `runs` of `ds` (rowCount rows) and copies row `src` to batch row `dst` for each place.
    private func gather<T: H5Scalar>(_ ds: H5Dataset, _ runs: [Range<Int>], _ rowCount: Int,
                                     _ places: [(dst: Int, src: Int)], into out: inout [T]) throws {
        let rowSize = ds.rowSize
        if rowSize == 0 { return }
        let buffer = try [T](unsafeUninitializedCapacity: rowCount * rowSize) { buf, initialized in
            try ds.readRows(runs, into: buf)
            initialized = rowCount * rowSize
        }
        buffer.withUnsafeBufferPointer { src in
            out.withUnsafeMutableBufferPointer { dst in
                for p in places {
                    (dst.baseAddress! + p.dst * rowSize).update(from: src.baseAddress! + p.src * rowSize,
                                                                count: rowSize)
                }
            }
        }
    }
}
