// DataParallel: synchronous data parallelism over a Communicator (PyTorch DDP / Horovod semantics).
//
//   start       verifyLayout (hash of names + shapes on every rank) → broadcastParameters (rank 0's values)
//   each step   for each of k micro-batches of b_i samples: loss_i = mean over its samples,
//               backward seeded with b_i (so gradients accumulate Σ_i b_i ∇loss_i = ∇ Σ_samples ℓ),
//               then synchronizeGradients: one all-reduce (sum) per bucket, in the same order on every
//               rank, and division by N = Σ_ranks Σ_i b_i, the global number of samples of the step.
//   result      ∇ (1/N) Σ_{all N samples} ℓ — the gradient of the mean loss over the global batch,
//               whatever the split into ranks and micro-batches: np=2 × B, np=1 × 2B and np=1 × B × 2
//               accumulation steps agree to float-summation tolerance (dropout keyed by global sample
//               index, see RandomContext). Dividing by the global count, rather than by np and k, keeps
//               this exact when micro-batches differ in size.
//
// Overlap (optional): with `overlapWithBackward` the synchronizing micro-batch's backward reports
// parameters whose gradients are final (`Graph.backward(_:seed:onFinal:)`) and each bucket's non-blocking
// all-reduce starts as soon as it and every earlier bucket are complete (earlier-first keeps the
// order identical on every rank, as PyTorch's reducer does). Off by default: on the 2-core reference
// machine PhysioSeq2Seq's all-reduce (155 KiB, one bucket) costs ~0.035 ms of a ~12.8 ms step, and
// overlap with 64 KiB buckets measured no gain (1.87× vs 1.89× np=1 throughput): with shared-memory
// transport the copies need the same CPU cores backward is using, and Open MPI progresses a started
// collective only inside MPI calls. It pays off for larger models on real networks.

import CGMTensor
import Distributed
import Layers

/// Data-parallel gradient synchronization of one model replica per rank.
public final class DataParallel {
    /// The ranks taking part.
    public let comm: any Communicator
    /// This rank's replica.
    public let store: ParameterStore
    /// The store's layout (names, shapes), as verified by `verifyLayout()`.
    public let layout: ParameterLayout
    /// Contiguous ranges of the flat gradient buffer, in launch order (reverse registration order).
    public let buckets: [GradientBucket]
    /// Start each bucket's all-reduce during backward, as soon as its gradients are final.
    public var overlapWithBackward: Bool
    /// Time spent communicating, accumulated over steps.
    public private(set) var statistics = GradientSyncStatistics()

    /// Samples of the micro-batches backpropagated since the last synchronization (this rank).
    public private(set) var localSamples = 0

    /// Buckets containing each entry (a parameter larger than the cap spans several).
    private let bucketsOfEntry: [[Int]]
    /// Entry index by offset into the flat buffer (entries with at least one scalar).
    private let entryAtOffset: [Int: Int]
    /// Persistent buffer of the sample-count all-reduce (a started request needs a stable address).
    private let countBuffer = UnsafeMutablePointer<Int64>.allocate(capacity: 1)
    private var countRequest: Request?
    private var bucketRequests: [Request] = []

    /// Default bucket cap: 25 MiB, PyTorch DDP's `bucket_cap_mb`.
    public static let defaultBucketCapBytes = 25 << 20
    /// Default cap of the first bucket: 1 MiB, PyTorch's `_DEFAULT_FIRST_BUCKET_BYTES`.
    public static let defaultFirstBucketCapBytes = 1 << 20

    /// Plans the buckets of `store` (every rank must pass a store of the same layout; `verifyLayout`
    /// proves it). No communication happens here.
    public init(comm: any Communicator, store: ParameterStore, bucketCapBytes: Int = DataParallel.defaultBucketCapBytes,
                firstBucketCapBytes: Int? = DataParallel.defaultFirstBucketCapBytes, overlapWithBackward: Bool = false) {
        self.comm = comm
        self.store = store
        self.layout = ParameterLayout(store)
        self.overlapWithBackward = overlapWithBackward
        buckets = GradientBucket.plan(store, capBytes: bucketCapBytes, firstCapBytes: firstBucketCapBytes)
        var ofEntry = [[Int]](repeating: [], count: store.entries.count)
        for b in buckets { for e in b.entries { ofEntry[e].append(b.index) } }
        bucketsOfEntry = ofEntry
        var byOffset: [Int: Int] = [:]
        for (i, e) in store.entries.enumerated() where e.count > 0 { byOffset[e.offset] = i }
        entryAtOffset = byOffset
        countBuffer.initialize(to: 0)
    }

    deinit {
        // Outstanding requests complete in their own deinit before the count buffer goes.
        countRequest = nil
        bucketRequests = []
        countBuffer.deallocate()
    }

    // MARK: Start of training

    /// Verifies the layout on every rank, then copies rank 0's parameter values to every rank.
    public func synchronizeReplicas() throws {
        try verifyLayout()
        try broadcastParameters()
    }

    /// Copies the parameter values of rank `root` to every rank (MPI_Bcast of the flat buffer).
    public func broadcastParameters(root: Int = 0) throws {
        try comm.broadcast(store.values.pointer, count: store.count, root: root)
    }

    // MARK: Gradients

    /// Sets every gradient to zero and forgets the samples counted since the last synchronization.
    public func zeroGradients() {
        precondition(countRequest == nil && bucketRequests.isEmpty, "zeroGradients while an all-reduce is in flight")
        store.zeroGradients()
        localSamples = 0
    }

    /// Backward of one micro-batch whose `loss` is a mean over `samples` samples. Gradients accumulate
    /// as the gradient of the *sum* over samples (the seed is `samples`). Pass `synchronize: true` for
    /// the last micro-batch of an optimizer step: with `overlapWithBackward` its all-reduces start
    /// during this backward. Follow it with `synchronizeGradients()`.
    public func backward(_ loss: Var, samples: Int, synchronize: Bool) throws {
        guard samples > 0 else { throw DataParallelError.invalidSampleCount(samples, rank: comm.rank) }
        precondition(loss.value.count == 1, "DataParallel.backward: the loss must be a scalar, got \(loss.shape)")
        precondition(countRequest == nil && bucketRequests.isEmpty,
                     "DataParallel.backward after a synchronizing backward without synchronizeGradients()")
        localSamples += samples
        let seed = Tensor(repeating: Float(samples), shape: loss.shape)
        guard synchronize && overlapWithBackward && comm.size > 1 else {
            let t0 = monotonicSeconds()
            loss.graph.backward(loss, seed: seed)
            if synchronize { statistics.synchronizingBackwardSeconds += monotonicSeconds() - t0 }
            return
        }
        try backwardOverlapped(loss, seed: seed)
    }

    /// Completes the step's all-reduces (started during backward, or issued now one bucket at a time)
    /// and divides by the global number of samples, which it returns. Afterwards every rank holds the
    /// gradient of the mean loss over the step's global batch.
    @discardableResult
    public func synchronizeGradients() throws -> Int {
        let t0 = monotonicSeconds()
        defer {
            statistics.exposedSeconds += monotonicSeconds() - t0
            statistics.steps += 1
            localSamples = 0
        }
        if countRequest == nil { try startCountAllReduce() }
        try countRequest!.wait()
        countRequest = nil
        let global = Int(countBuffer.pointee)
        guard global > 0 else { throw DataParallelError.invalidSampleCount(global, rank: comm.rank) }
        if bucketRequests.isEmpty {
            try allReduceGradients(divisor: Float(global))
        } else {
            let requests = bucketRequests
            bucketRequests = []
            for (b, r) in zip(buckets, requests) {
                try r.wait()
                divide(b, by: Float(global))
            }
        }
        return global
    }

    /// Sums the gradient buffer over ranks, one blocking all-reduce per bucket in bucket order, and
    /// divides it by `divisor` (1 = plain sum).
    public func allReduceGradients(divisor: Float) throws {
        precondition(divisor > 0, "allReduceGradients: divisor must be positive, got \(divisor)")
        for b in buckets {
            if comm.size > 1 {
                try comm.allReduce(store.gradients.pointer + b.range.lowerBound, count: b.range.count, op: .sum)
                statistics.bucketAllReduces += 1
                statistics.bytes += b.byteCount
            }
            divide(b, by: divisor)
        }
    }

    /// One optimizer step's gradients over `microBatches` micro-batches: zeroes the gradients, calls
    /// `body(i)` for i in 0..<k — which builds micro-batch i's graph and returns its mean loss and sample
    /// count — back-propagates each (the last one synchronizing) and averages over the global batch.
    /// Returns the global sample count and this rank's Σ loss_i · samples_i.
    @discardableResult
    public func accumulateGradients(microBatches: Int,
                                    _ body: (Int) throws -> (loss: Var, samples: Int)) throws -> AccumulatedStep {
        precondition(microBatches >= 1, "accumulateGradients: need at least one micro-batch, got \(microBatches)")
        zeroGradients()
        var lossSum = 0.0
        for i in 0..<microBatches {
            let (loss, samples) = try body(i)
            lossSum += Double(loss.value.scalar) * Double(samples)
            try backward(loss, samples: samples, synchronize: i == microBatches - 1)
        }
        let global = try synchronizeGradients()
        return AccumulatedStep(globalSamples: global, localLossSum: lossSum)
    }

    /// Zeroes the communication statistics.
    public func resetStatistics() { statistics = GradientSyncStatistics() }

    // MARK: Private

    private func divide(_ b: GradientBucket, by divisor: Float) {
        guard divisor != 1 else { return }
        let g = store.gradients.pointer + b.range.lowerBound
        for i in 0..<b.range.count { g[i] /= divisor }
    }

    private func startCountAllReduce() throws {
        countBuffer.pointee = Int64(localSamples)
        countRequest = try comm.startAllReduce(countBuffer, count: 1, op: .sum)
    }

    /// Backward that starts bucket all-reduces as buckets become final (in bucket order).
    private func backwardOverlapped(_ loss: Var, seed: Tensor) throws {
        let t0 = monotonicSeconds()
        let graph = loss.graph
        // Leaves of this graph per entry: an entry is final when all of its leaves are.
        var pendingLeaves = [Int](repeating: 0, count: store.entries.count)
        for v in graph.gradientLeaves { if let e = entry(of: graph.gradient(of: v)) { pendingLeaves[e] += 1 } }
        var pendingEntries = buckets.map { b in b.entries.filter { pendingLeaves[$0] > 0 }.count }
        var failure: Error?
        try startCountAllReduce()
        let launchReady = { [self] in
            while failure == nil && bucketRequests.count < buckets.count && pendingEntries[bucketRequests.count] == 0 {
                let b = buckets[bucketRequests.count]
                let s = monotonicSeconds()
                do {
                    bucketRequests.append(try comm.startAllReduce(store.gradients.pointer + b.range.lowerBound,
                                                                   count: b.range.count, op: .sum))
                } catch {
                    failure = error
                }
                statistics.launchSeconds += monotonicSeconds() - s
                statistics.launchedDuringBackward += 1
                statistics.bucketAllReduces += 1
                statistics.bytes += b.byteCount
            }
        }
        launchReady()   // buckets of parameters this graph does not use
        graph.backward(loss, seed: seed) { [self] leaves in
            for v in leaves {
                guard let e = entry(of: graph.gradient(of: v)) else { continue }
                pendingLeaves[e] -= 1
                if pendingLeaves[e] == 0 { for b in bucketsOfEntry[e] { pendingEntries[b] -= 1 } }
            }
            launchReady()
        }
        statistics.synchronizingBackwardSeconds += monotonicSeconds() - t0
        if let failure { throw failure }
        precondition(bucketRequests.count == buckets.count, "overlapped backward left buckets unlaunched")
    }

    /// The entry whose gradient view `t` is, if it is one of this store's gradients.
    private func entry(of t: Tensor?) -> Int? {
        guard let t, t.storage === store.gradients, let e = entryAtOffset[t.offset],
              store.entries[e].count == t.count else { return nil }
        return e
    }
}

/// Result of `DataParallel.accumulateGradients`.
public struct AccumulatedStep: Equatable, Sendable {
    /// Samples of the step over all ranks and micro-batches.
    public var globalSamples: Int
    /// This rank's Σ loss_i · samples_i (all-reduce and divide by `globalSamples` for the step's mean loss).
    public var localLossSum: Double
}
