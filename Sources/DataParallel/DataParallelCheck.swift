// The end-to-end data-parallel check behind `cgmtrain ddp-check`: trains the Seq2Seq forecaster on
// synthetic batches with Adam (or SGD) for a few steps under any (ranks × per-rank batch × accumulation) split.
//
//   data      N = steps · G samples, G = ranks · B · k (the global batch); DistributedSampler (shuffled,
//             seeded) gives rank r its micro-batches; step s uses micro-batches s·k ..< (s+1)·k, whose
//             union over ranks is order[s·G ..< (s+1)·G] — the same global batch for every split with
//             the same G (see Sampler.swift)
//   dropout   RandomContext(seed, step s, global sample indices): masks do not depend on the split
//   init      rank r builds its replica with seed + r (deliberately different), so only the broadcast
//             of rank 0's values makes the replicas equal
//
// Rank-count invariance: the final parameters of np=2 × B, np=1 × 2B and np=1 × B × 2 agree to float
// summation tolerance.

import CGMData
import CGMTensor
import Distributed
import Layers
import Models
import Optim

/// Options and driver of the data-parallel check run.
public struct DataParallelCheck {
    /// Per-rank batch size B.
    public var batchSize = 8
    /// Micro-batches per optimizer step k.
    public var accumulation = 1
    /// Optimizer steps.
    public var steps = 20
    /// LSTM hidden size.
    public var hidden = 16
    /// Dropout on the decoder output.
    public var dropout: Float = 0.2
    /// Learning rate.
    public var learningRate = 1e-2
    /// Plain SGD instead of Adam. Adam is nearly invariant to the gradient's scale, so a wrong
    /// averaging divisor shows only under SGD.
    public var useSGD = false
    /// Seed of data, initialization and dropout.
    public var seed: UInt64 = 7
    /// Synthetic data shapes.
    public var data = SyntheticForecastData(history: 12, horizon: 6, pastFeatures: 3, futureFeatures: 2, seed: 7)
    /// Verify bit-identical replicas every this many steps (nil: never).
    public var checkReplicasEvery: Int?
    /// Bucket caps and overlap, as in `DataParallel`.
    public var bucketCapBytes = DataParallel.defaultBucketCapBytes
    public var firstBucketCapBytes: Int? = DataParallel.defaultFirstBucketCapBytes
    public var overlapWithBackward = false
    /// Test hook: after step `step`, rank `rank` adds 1e-3 to the first scalar of `parameter`.
    public var perturbation: (rank: Int, step: Int, parameter: String)?
    /// Test hook: this rank registers an extra parameter "ddp_check.extra" [3].
    public var extraParameterRank: Int?

    public init() {}

    /// What a run produced.
    public struct Outcome {
        /// Final parameter values (flat, registration order).
        public var parameters: [Float]
        public var layout: ParameterLayout
        /// Mean loss of the last step's global batch.
        public var lastLoss: Double
        /// Replica checks that passed.
        public var replicaChecks: Int
        public var statistics: GradientSyncStatistics
        /// Gradient buckets per step.
        public var buckets: Int
    }

    /// The model every rank builds (rank-dependent initialization, see above).
    public func makeModel(rank: Int) -> Seq2SeqForecaster {
        var spec = Seq2SeqSpec.defaults
        (spec.hidden, spec.dropout) = (hidden, Double(dropout))
        let model = Seq2SeqForecaster(pastFeatures: data.pastFeatures, futureFeatures: data.futureFeatures, spec: spec,
                                      seed: seed &+ UInt64(rank))
        if extraParameterRank == rank { model.store.add("ddp_check.extra", Tensor(zeros: [3])) }
        return model
    }

    /// Trains on `comm` and returns the outcome (identical parameters on every rank).
    public func run(comm: any Communicator) throws -> Outcome {
        precondition(batchSize >= 1 && accumulation >= 1 && steps >= 1, "ddp-check: sizes must be positive")
        let model = makeModel(rank: comm.rank)
        let ddp = DataParallel(comm: comm, store: model.store, bucketCapBytes: bucketCapBytes,
                               firstBucketCapBytes: firstBucketCapBytes, overlapWithBackward: overlapWithBackward)
        try ddp.synchronizeReplicas()
        let optimizer: any Optimizer = useSGD ? SGD(model.store, lr: learningRate) : Adam(model.store, lr: learningRate)
        let global = comm.size * batchSize * accumulation
        let sampler = DistributedSampler(count: steps * global, comm: comm, shuffle: true, seed: seed)
        let microBatches = sampler.batches(batchSize: batchSize)
        var lastLoss = 0.0, checks = 0
        for step in 0..<steps {
            let result = try ddp.accumulateGradients(microBatches: accumulation) { i in
                let indices = microBatches[step * accumulation + i]
                let g = Graph(training: true, random: RandomContext(seed: seed, step: UInt64(step), sampleIndices: indices))
                return (model.loss(data.batch(indices), g), indices.count)
            }
            optimizer.step()
            lastLoss = try comm.allReduce(result.localLossSum) / Double(result.globalSamples)
            if let p = perturbation, p.rank == comm.rank, p.step == step + 1 {
                guard let id = model.store.id(named: p.parameter) else {
                    preconditionFailure("ddp-check: no parameter named '\(p.parameter)' to perturb")
                }
                model.store.value(id).sharedMutablePointer[0] += 1e-3
            }
            if let every = checkReplicasEvery, (step + 1) % every == 0 {
                try ddp.checkReplicas(step: step + 1)
                checks += 1
            }
        }
        let values = Array(UnsafeBufferPointer(start: model.store.values.pointer, count: model.store.count))
        return Outcome(parameters: values, layout: ddp.layout, lastLoss: lastLoss, replicaChecks: checks,
                       statistics: ddp.statistics, buckets: ddp.buckets.count)
    }
}
