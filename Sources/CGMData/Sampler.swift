// DistributedSampler: PyTorch `torch.utils.data.DistributedSampler` semantics over indices 0..<N.
//
//   order     shuffle ? permutation(seed + epoch) : 0..<N            (same on every rank)
//   dropLast  false: numSamples = ceil(N / R), pad by repeating the order from its start
//             true:  numSamples = floor(N / R), drop the tail
//   rank r    order[r ..< totalSize by R]                            (numSamples each, equal on all ranks)
//
// With batches of B per rank, step s of rank r holds order[(s·B + j)·R + r] for j < B, so the union over
// ranks of step s is order[s·R·B ..< (s+1)·R·B] — exactly step s of a single rank with batch R·B. This is
// what makes np = R with batch B equivalent to np = 1 with batch R·B (padding aside, in the last step).

import Distributed

/// Splits a dataset's indices across ranks, reshuffled each epoch, with equal counts per rank.
public struct DistributedSampler: Sendable, Equatable {
    /// Dataset size N.
    public let count: Int
    /// Number of ranks R.
    public let numReplicas: Int
    /// This rank, 0..<R.
    public let rank: Int
    /// Shuffle each epoch.
    public let shuffle: Bool
    /// Base seed; epoch e uses seed + e.
    public let seed: UInt64
    /// Drop the tail instead of padding so that N splits evenly.
    public let dropLast: Bool
    /// Current epoch (set with `setEpoch` before each epoch, as in PyTorch).
    public private(set) var epoch: Int = 0

    /// Creates a sampler for rank `rank` of `numReplicas`.
    public init(count: Int, numReplicas: Int = 1, rank: Int = 0, shuffle: Bool = true, seed: UInt64 = 0,
                dropLast: Bool = false) {
        precondition(count >= 0, "DistributedSampler: count must be non-negative, got \(count)")
        precondition(numReplicas >= 1, "DistributedSampler: numReplicas must be at least 1, got \(numReplicas)")
        precondition(rank >= 0 && rank < numReplicas,
                     "DistributedSampler: rank \(rank) outside 0..<\(numReplicas)")
        self.count = count
        self.numReplicas = numReplicas
        self.rank = rank
        self.shuffle = shuffle
        self.seed = seed
        self.dropLast = dropLast
    }

    /// Creates a sampler for this process's rank of `comm`.
    public init(count: Int, comm: any Communicator, shuffle: Bool = true, seed: UInt64 = 0, dropLast: Bool = false) {
        self.init(count: count, numReplicas: comm.size, rank: comm.rank, shuffle: shuffle, seed: seed,
                  dropLast: dropLast)
    }

    /// Samples per rank per epoch.
    public var numSamples: Int {
        dropLast ? count / numReplicas : (count + numReplicas - 1) / numReplicas
    }

    /// Samples per epoch over all ranks (numSamples × R).
    public var totalSize: Int { numSamples * numReplicas }

    /// Sets the epoch (changes the shuffle).
    public mutating func setEpoch(_ epoch: Int) { self.epoch = epoch }

    /// The epoch's order of all N indices before padding/splitting (identical on every rank).
    public func globalOrder() -> [Int] {
        shuffle ? SamplerRNG.permutation(count: count, seed: seed &+ UInt64(bitPattern: Int64(epoch)))
                : Array(0..<count)
    }

    /// The epoch's order padded (repeating from the start) or truncated to `totalSize`.
    public func paddedOrder() -> [Int] {
        var order = globalOrder()
        if order.count >= totalSize { return Array(order.prefix(totalSize)) }
        let base = order
        while order.count < totalSize { order += base.prefix(totalSize - order.count) }
        return order
    }

    /// This rank's indices for the current epoch (numSamples of them).
    public func indices() -> [Int] {
        let order = paddedOrder()
        return Array(stride(from: rank, to: totalSize, by: numReplicas).map { order[$0] })
    }

    /// How many batches `batches(batchSize:dropLastBatch:)` returns, without drawing the epoch's order.
    public func batchCount(batchSize: Int, dropLastBatch: Bool = false) -> Int {
        precondition(batchSize > 0, "DistributedSampler.batchCount: batchSize must be positive, got \(batchSize)")
        return dropLastBatch ? numSamples / batchSize : (numSamples + batchSize - 1) / batchSize
    }

    /// This rank's indices cut into batches of `batchSize` (a shorter last batch unless `dropLastBatch`).
    public func batches(batchSize: Int, dropLastBatch: Bool = false) -> [[Int]] {
        precondition(batchSize > 0, "DistributedSampler.batches: batchSize must be positive, got \(batchSize)")
        let mine = indices()
        var out: [[Int]] = []
        var start = 0
        while start < mine.count {
            let end = min(start + batchSize, mine.count)
            if end - start < batchSize && dropLastBatch { break }
            out.append(Array(mine[start..<end]))
            start = end
        }
        return out
    }
}
