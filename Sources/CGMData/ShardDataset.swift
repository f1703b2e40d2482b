// ShardDataset: a prepared dataset directory opened through its manifest. Maps a split's global window
// index (0..<count, running through the shards in index order) to (shard, row) by binary search over the
// shards' cumulative counts. Opening reads only manifest.json; shard files are opened by ShardReader, only
// when a batch needs them (or all at once by `verifyShards`).

import Foundation
import HDF5IO

/// A prepared dataset: manifest plus global-index arithmetic per split.
public final class ShardDataset: @unchecked Sendable {
    /// Dataset directory.
    public let directory: String
    /// The validated manifest.
    public let manifest: Manifest
    /// Per split: start offset of each shard, plus the total at the end (count + 1 entries).
    private let offsets: [ShardSplit: [Int]]

    /// Opens `directory` (loads and validates manifest.json: schema version, shard files present).
    public init(directory: String) throws {
        self.directory = directory
        self.manifest = try Manifest.load(directory)
        var offsets: [ShardSplit: [Int]] = [:]
        for split in ShardSplit.allCases {
            var o = [0]
            for shard in manifest.split(split).shards { o.append(o.last! + shard.windows) }
            offsets[split] = o
        }
        self.offsets = offsets
    }

    /// Windows in `split`.
    public func count(_ split: ShardSplit) -> Int { offsets[split]!.last! }

    /// Shards of `split`, in index order.
    public func shards(_ split: ShardSplit) -> [ManifestShard] { manifest.split(split).shards }

    /// Absolute path of shard number `shard` (position in `shards(split)`) of `split`.
    public func shardPath(_ split: ShardSplit, shard: Int) -> String {
        (directory as NSString).appendingPathComponent(shards(split)[shard].file)
    }

    /// First global index of shard position `shard` in `split`.
    public func firstIndex(_ split: ShardSplit, shard: Int) -> Int { offsets[split]![shard] }

    /// (shard position, row within the shard) of global window `index` of `split`; `index` must be in
    /// 0..<count(split).
    public func locate(_ index: Int, in split: ShardSplit) -> (shard: Int, row: Int) {
        let o = offsets[split]!
        precondition(index >= 0 && index < o.last!,
                     "ShardDataset.locate: index \(index) outside 0..<\(o.last!) of split \(split.rawValue)")
        // Last shard whose start is <= index (empty shards share a start; skip past them).
        var lo = 0, hi = o.count - 2
        while lo < hi {
            let mid = (lo + hi + 1) / 2
            if o[mid] <= index { lo = mid } else { hi = mid - 1 }
        }
        return (lo, index - o[lo])
    }

    /// Opens every shard of every split and checks it against the manifest (schema version, L, H, feature
    /// names, subjects, window count, dataset shapes). For `prepare`/`check` tools; readers check lazily.
    public func verifyShards(rank: Int? = nil) throws {
        for split in ShardSplit.allCases {
            for (k, entry) in shards(split).enumerated() {
                try HDF5Lock.withLock {
                    try ShardHandle.open(path: shardPath(split, shard: k), entry: entry, split: split,
                                         manifest: manifest, chunkCache: H5ChunkCache(bytes: 0), rank: rank).close()
                }
            }
        }
    }
}
