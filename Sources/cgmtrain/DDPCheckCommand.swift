// `cgmtrain ddp-check` (hidden): the data-parallel end-to-end check and benchmark, run under mpirun.
//
//   check mode   trains Seq2Seq (hidden 16, dropout 0.2) on synthetic batches keyed by global sample
//                index for --steps Adam steps with per-rank batch --batch-size and --accumulation
//                micro-batches; rank 0 writes the final parameters (raw little-endian Float32, registration
//                order) to --output (temp file + rename). Prints "ddp-check: ok ranks=… loss=… layout=…".
//   --bench      PhysioSeq2Seq shapes (hidden 64, B=64 per rank); rank 0 prints one "ddp-bench …" line.
// Any error (layout mismatch, diverged replicas, MPI) is printed as "ddp-check: rank r/n: …" and exits 1.

import ArgumentParser
import CGMTensor
import DataParallel
import Distributed
import Foundation
import Training

/// Data-parallel check and benchmark (hidden; used by the tests and by `cgmbench --ddp`).
struct DDPCheckCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "ddp-check",
        abstract: "Data-parallel check: rank-count invariance, replica checks, all-reduce benchmark.",
        shouldDisplay: false)

    @Option(help: "Per-rank batch size (default 8; 64 with --bench).")
    var batchSize: Int?
    @Option(help: "Micro-batches per optimizer step (gradient accumulation).")
    var accumulation = 1
    @Option(help: "Optimizer steps (timed steps with --bench).")
    var steps = 20
    @Option(help: "LSTM hidden size (default 16; 64 with --bench).")
    var hidden: Int?
    @Option(help: "Dropout probability on the decoder output.")
    var dropout: Float = 0.2
    @Option(help: "Learning rate.")
    var learningRate = 1e-2
    @Flag(help: "Plain SGD instead of Adam (Adam hides the gradient's scale; SGD shows a wrong average).")
    var sgd = false
    @Option(help: "Seed of data, initialization and dropout.")
    var seed: UInt64 = 7
    @Option(help: "Verify every N steps that all ranks hold identical parameters.")
    var checkReplicas: Int?
    @Option(help: "Gradient bucket cap in bytes (PyTorch DDP default: 25 MiB).")
    var bucketCapBytes = DataParallel.defaultBucketCapBytes
    @Option(help: "Cap of the first bucket in bytes (default 1 MiB).")
    var firstBucketCapBytes = DataParallel.defaultFirstBucketCapBytes
    @Flag(help: "Start each bucket's all-reduce during backward, as soon as its gradients are final.")
    var overlap = false
    @Option(help: "Rank 0 writes the final parameters (raw Float32) here.")
    var output: String?

    @Flag(help: "Benchmark mode (PhysioSeq2Seq shapes).")
    var bench = false
    @Option(help: "Warm-up steps before timing (--bench).")
    var warmupSteps = 10

    @Option(name: .customLong("perturb-rank"), help: .hidden)
    var perturbRank: Int?
    @Option(name: .customLong("perturb-step"), help: .hidden)
    var perturbStep = 3
    @Option(name: .customLong("perturb-parameter"), help: .hidden)
    var perturbParameter = "decoder.weight_hh"
    @Option(name: .customLong("extra-parameter-rank"), help: .hidden)
    var extraParameterRank: Int?

    func validate() throws {
        for (name, v) in [("--batch-size", batchSize ?? 1), ("--accumulation", accumulation), ("--steps", steps),
                          ("--hidden", hidden ?? 1), ("--check-replicas", checkReplicas ?? 1),
                          ("--bucket-cap-bytes", bucketCapBytes), ("--first-bucket-cap-bytes", firstBucketCapBytes)]
        where v < 1 {
            throw ValidationError("\(name) must be at least 1, got \(v)")
        }
        if !(0..<1).contains(dropout) { throw ValidationError("--dropout must be in [0, 1), got \(dropout)") }
        if perturbRank != nil {
            var c = DataParallelCheck()
            c.hidden = hidden ?? 16
            guard c.makeModel(rank: 0).store.id(named: perturbParameter) != nil else {
                throw ValidationError("--perturb-parameter: no parameter named '\(perturbParameter)'")
            }
        }
    }

    func run() throws {
        BLAS.setThreads(1)
        let comm: any Communicator
        do {
            comm = try Communicators.detect()
        } catch {
            FileHandle.standardError.write(Data("ddp-check: cannot start the communicator: \(error)\n".utf8))
            throw ExitCode(2)
        }
        let tag = "rank \(comm.rank)/\(comm.size)"
        do {
            if bench {
                var b = DataParallelBenchmark()
                b.batchSize = batchSize ?? 64
                b.hidden = hidden ?? 64
                b.steps = steps
                b.warmupSteps = warmupSteps
                b.overlapWithBackward = overlap
                b.bucketCapBytes = bucketCapBytes
                b.firstBucketCapBytes = firstBucketCapBytes
                let report = try b.run(comm: comm)
                if comm.rank == 0 { print(report.line) }
            } else {
                try check(comm)
            }
        } catch let error as DataParallelError {
            FileHandle.standardError.write(Data("ddp-check: \(tag): \(error)\n".utf8))
            try? comm.shutdown()
            throw ExitCode(1)
        } catch {
            // Other ranks may be blocked in a collective: take the whole job down.
            FileHandle.standardError.write(Data("ddp-check: \(tag): \(error)\n".utf8))
            comm.abort(code: 1)
        }
        try? comm.shutdown()
    }

    func check(_ comm: any Communicator) throws {
        var c = DataParallelCheck()
        c.batchSize = batchSize ?? 8
        c.accumulation = accumulation
        c.steps = steps
        c.hidden = hidden ?? 16
        c.dropout = dropout
        c.learningRate = learningRate
        c.useSGD = sgd
        c.seed = seed
        c.data.seed = seed
        c.checkReplicasEvery = checkReplicas
        c.bucketCapBytes = bucketCapBytes
        c.firstBucketCapBytes = firstBucketCapBytes
        c.overlapWithBackward = overlap
        c.extraParameterRank = extraParameterRank
        if let r = perturbRank {
            c.perturbation = (rank: r, step: perturbStep, parameter: perturbParameter)
        }
        let outcome = try c.run(comm: comm)
        if comm.rank == 0 {
            if let output {
                let bytes = outcome.parameters.withUnsafeBufferPointer { Data(buffer: $0) }
                try bytes.write(to: URL(fileURLWithPath: output), options: .atomic)   // temp file + rename
            }
            print("ddp-check: ok ranks=\(comm.size) batch=\(c.batchSize) accumulation=\(c.accumulation) "
                  + "steps=\(c.steps) optimizer=\(sgd ? "sgd" : "adam") loss=\(outcome.lastLoss) replica_checks=\(outcome.replicaChecks) "
                  + "parameters=\(outcome.parameters.count) buckets=\(outcome.buckets) "
                  + "layout=\(String(outcome.layout.hash, radix: 16))")
        }
    }
}
