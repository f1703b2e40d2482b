// Data-parallel throughput of PhysioSeq2Seq training (`cgmtrain ddp-check --bench`, run under mpirun by
// `cgmbench --ddp`): encoder 12→64 over L=37, decoder 11→64 over H=48, dropout 0.2, Adam, B per rank.
//
//   samples/s      ranks · B · steps / wall time of the timed steps (barriers before and after)
//   exposed        per step: time the training thread waited for the gradient all-reduce after
//                  backward (includes waiting for the slower rank)
//   all-reduce     per step: the same bucketed all-reduces timed back to back after training, i.e. the
//                  communication cost alone, without waiting for a slower rank
//   compute CPU    per step: thread CPU time of forward + backward + optimizer on the slowest rank — the
//                  step's cost with a core to itself, a check on wall-clock figures from a busy machine
//   hidden         all-reduce − exposed is what overlap hides, when positive (compare runs with and
//                  without `overlapWithBackward`)

import CGMSchema
import CGMTensor
import Distributed
import Models
import Optim

/// Options and driver of the data-parallel benchmark.
public struct DataParallelBenchmark {
    public var batchSize = 64
    public var hidden = 64
    public var warmupSteps = 10
    public var steps = 50
    public var overlapWithBackward = false
    public var bucketCapBytes = DataParallel.defaultBucketCapBytes
    public var firstBucketCapBytes: Int? = DataParallel.defaultFirstBucketCapBytes
    /// Back-to-back all-reduces timed after training.
    public var allReduceRepeats = 200
    /// Distinct synthetic batches each rank cycles through.
    public var distinctBatches = 4

    public init() {}

    /// Figures of one run (identical on every rank: per-rank timings are reduced with max).
    public struct Report: Equatable {
        public var ranks: Int
        public var batchSize: Int
        public var samplesPerSecond: Double
        public var stepMilliseconds: Double
        /// Slowest rank's mean synchronizing backward per step (includes launches under overlap).
        public var backwardMilliseconds: Double
        /// Slowest rank's mean exposed communication per step.
        public var exposedMilliseconds: Double
        /// Slowest rank's mean time inside non-blocking starts during backward per step.
        public var launchMilliseconds: Double
        /// Slowest rank's CPU time of forward, backward and optimizer per step (thread CPU clock: what the
        /// step costs when the rank has its core to itself; MPI's spin-waits are excluded).
        public var computeCPUMilliseconds: Double
        /// Bucketed all-reduce of the gradients alone (back to back, no skew), per step.
        public var allReduceMilliseconds: Double
        public var buckets: Int
        public var gradientBytes: Int
        public var overlap: Bool

        /// One machine-readable line: "ddp-bench ranks=2 batch=64 samples_per_s=... ...".
        public var line: String {
            func f(_ x: Double) -> String { String(format: "%.4f", x) }
            return "ddp-bench ranks=\(ranks) batch=\(batchSize) overlap=\(overlap ? 1 : 0) samples_per_s=\(f(samplesPerSecond)) "
                + "step_ms=\(f(stepMilliseconds)) backward_ms=\(f(backwardMilliseconds)) exposed_ms=\(f(exposedMilliseconds)) "
                + "launch_ms=\(f(launchMilliseconds)) compute_cpu_ms=\(f(computeCPUMilliseconds)) allreduce_ms=\(f(allReduceMilliseconds)) buckets=\(buckets) "
                + "bytes=\(gradientBytes)"
        }
    }

    /// Runs the benchmark (collective over `comm`).
    public func run(comm: any Communicator) throws -> Report {
        let data = SyntheticForecastData.physio(seed: 11)
        var spec = Seq2SeqSpec.defaults
        (spec.hidden, spec.dropout) = (hidden, 0.2)
        let model = Seq2SeqForecaster(pastFeatures: data.pastFeatures, futureFeatures: data.futureFeatures, spec: spec, seed: 3)
        let ddp = DataParallel(comm: comm, store: model.store, bucketCapBytes: bucketCapBytes,
                               firstBucketCapBytes: firstBucketCapBytes, overlapWithBackward: overlapWithBackward)
        try ddp.synchronizeReplicas()
        let adam = Adam(model.store, lr: 1e-3)
        var batches: [Batch] = []
        for j in 0..<distinctBatches {
            let first: Int = (j * comm.size + comm.rank) * batchSize
            batches.append(data.batch(Array(first..<(first + batchSize))))
        }
        var computeCPU = 0.0
        func step(_ s: Int) throws {
            let batch = batches[s % batches.count]
            let c0 = threadCPUSeconds()
            ddp.zeroGradients()
            let g = Graph(training: true, random: RandomContext(seed: 5, step: UInt64(s), sampleIndices: batch.indices))
            try ddp.backward(model.loss(batch, g), samples: batch.count, synchronize: true)
            let c1 = threadCPUSeconds()
            try ddp.synchronizeGradients()
            let c2 = threadCPUSeconds()
            adam.step()
            computeCPU += (c1 - c0) + (threadCPUSeconds() - c2)
        }
        for s in 0..<warmupSteps { try step(s) }
        ddp.resetStatistics()
        computeCPU = 0
        try comm.barrier()
        let t0 = monotonicSeconds()
        for s in 0..<steps { try step(warmupSteps + s) }
        try comm.barrier()
        let wall = try comm.allReduce(monotonicSeconds() - t0, op: .max)
        let stats = ddp.statistics
        let cpuPerStep = try comm.allReduce(computeCPU, op: .max) / Double(steps)

        // The all-reduces alone: back to back, after a barrier, on the real gradient buffer.
        try comm.barrier()
        let a0 = monotonicSeconds()
        for _ in 0..<allReduceRepeats { try ddp.allReduceGradients(divisor: 1) }
        let allReduce = try comm.allReduce((monotonicSeconds() - a0) / Double(max(allReduceRepeats, 1)), op: .max)

        let perStep = 1000 / Double(max(stats.steps, 1))
        return Report(
            ranks: comm.size, batchSize: batchSize,
            samplesPerSecond: Double(comm.size * batchSize * steps) / wall,
            stepMilliseconds: wall * 1000 / Double(steps),
            backwardMilliseconds: try comm.allReduce(stats.synchronizingBackwardSeconds, op: .max) * perStep,
            exposedMilliseconds: try comm.allReduce(stats.exposedSeconds, op: .max) * perStep,
            launchMilliseconds: try comm.allReduce(stats.launchSeconds, op: .max) * perStep,
            computeCPUMilliseconds: cpuPerStep * 1000,
            allReduceMilliseconds: comm.size > 1 ? allReduce * 1000 : 0,
            buckets: ddp.buckets.count, gradientBytes: model.store.count * MemoryLayout<Float>.stride,
            overlap: overlapWithBackward)
    }
}
