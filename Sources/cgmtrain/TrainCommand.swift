// `cgmtrain train`: data-parallel training from a YAML config on a prepared dataset.
//
//   cgmtrain train --config configs/seq2seq.yaml --data data/prepared --run checkpoints/seq2seq-01 \
//                  [--set train.optimizer.lr=3e-3 ...] [--resume] [--allow-data-change]
//
// Run it alone (one rank, launch/local.sh) or under mpirun/srun (launch/mpirun.sh, launch/slurm.sbatch).
// Rank 0 reads the config file and broadcasts its text, so only the dataset directory must be visible to
// every rank. Exit status: 0 when the run finished, stopped early, or was stopped by SIGTERM/SIGINT after
// writing last.h5; 1 for errors (printed once by rank 0, naming the failing rank); 2 when MPI cannot start.

import ArgumentParser
import CGMTensor
import Config
import DataParallel
import Distributed
import Foundation
import Models
import Training

/// Trains a model (see the file comment).
struct TrainCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "train",
        abstract: "Train a forecasting model on a prepared dataset (one rank, or many under mpirun/srun).",
        discussion: """
        Writes RUN/config.yaml (resolved config), RUN/metrics.jsonl, checkpoints (last.h5, best.h5, \
        epoch-NNN.h5, top-k) and a learning curve. SIGTERM/SIGINT finish the current step, write last.h5 \
        and exit 0; continue with --resume. Models: \(ModelRegistry.names.joined(separator: ", ")).
        """)

    @Option(help: "YAML config (e.g. configs/seq2seq.yaml). With --resume, defaults to RUN/config.yaml.")
    var config: String?

    @Option(help: "Prepared dataset directory (the output of `cgmtrain prepare`).")
    var data: String

    @Option(name: .customLong("run"), help: "Run directory for config, metrics and checkpoints (e.g. checkpoints/seq2seq-01).")
    var runDirectory: String

    @Option(name: .customLong("set"), parsing: .singleValue,
            help: ArgumentHelp("Override a config value, e.g. --set train.optimizer.lr=3e-3 (repeatable).",
                               valueName: "key.path=value"))
    var overrides: [String] = []

    @Option(help: ArgumentHelp("Verify every N steps that all ranks hold bit-identical parameters (0: off); same as --set train.check_replicas=N.",
                               valueName: "N"))
    var checkReplicas: Int?

    @Flag(help: "Continue the run in --run from its last.h5 (bit-identical to an uninterrupted run with the same number of ranks).")
    var resume = false

    @Flag(help: "Resume even if the dataset's manifest differs from the one the checkpoint was trained on.")
    var allowDataChange = false

    @Flag(help: .hidden)
    var writePids = false

    @Option(help: .hidden)
    var debugStepDelay: Double = 0

    func validate() throws {
        if config == nil && !resume {
            throw ValidationError("--config is required (with --resume it defaults to RUN/config.yaml)")
        }
    }

    func run() throws {
        let comm: any Communicator
        do {
            comm = try Communicators.detect()
        } catch {
            FileHandle.standardError.write(Data("cgmtrain train: cannot start the communicator: \(error)\n".utf8))
            throw ExitCode(2)
        }
        CommandRanks.useOneBLASThreadUnlessSet()
        let label = comm.size > 1 ? "cgmtrain train: rank \(comm.rank)" : "cgmtrain train"
        let stop = StopSignal.install(label: label)
        do {
            let runConfig = try loadConfig(comm)
            var options = TrainOptions(dataDirectory: data, runDirectory: runDirectory)
            options.resume = resume
            options.allowDataChange = allowDataChange
            options.writePIDs = writePids
            options.stepDelaySeconds = debugStepDelay
            options.resumeCommand = resumeCommand(ranks: comm.size)
            let progress = Progress(enabled: comm.rank == 0, every: runConfig.train.logEverySeconds)
            let trainer = Trainer(config: runConfig, options: options, comm: comm, stop: stop, progress: progress)
            trainer.configSource = config ?? RunDirectory(runDirectory).configFile
            _ = try trainer.run()
            stop.markFinished()
            try? comm.shutdown()
        } catch let e as AgreedFailure {
            stop.markFinished()
            if comm.rank == 0 { FileHandle.standardError.write(Data("cgmtrain train: error: \(e)\n".utf8)) }
            try? comm.shutdown()
            throw ExitCode(1)
        } catch {
            // Not agreed: other ranks may be waiting in a collective, so take the whole job down.
            FileHandle.standardError.write(Data("\(label): error: \(error)\n".utf8))
            if comm.size > 1 { comm.abort(code: 1) }
            throw ExitCode(1)
        }
    }

    /// `--set` overrides, then the shorthand options.
    var allOverrides: [String] { overrides + (checkReplicas.map { ["train.check_replicas=\($0)"] } ?? []) }

    /// Rank 0 reads the config text and broadcasts it; every rank parses it with the overrides.
    private func loadConfig(_ comm: any Communicator) throws -> RunConfig {
        let source = config ?? RunDirectory(runDirectory).configFile
        var text = "", problem = ""
        if comm.rank == 0 {
            if let t = try? String(contentsOfFile: source, encoding: .utf8) { text = t } else {
                problem = config == nil ? "\(source): cannot read the run's config (is --run the directory of an existing run?)"
                                        : "\(source): cannot read the config file"
            }
        }
        problem = try comm.broadcast(problem, root: 0)
        if !problem.isEmpty { throw AgreedFailure(problem) }
        text = try comm.broadcast(text, root: 0)
        return try AgreedFailure.agree(comm, context: "invalid configuration") {
            try RunConfig.parse(yaml: text, source: source, overrides: try [ConfigOverride](arguments: allOverrides))
        }
    }

    /// This command line with --resume (hidden test flags dropped), for the stop message. A launch script
    /// names itself in CGMTRAIN_LAUNCH_COMMAND (e.g. "launch/mpirun.sh -n 4"), which then replaces
    /// "cgmtrain train".
    private func resumeCommand(ranks: Int) -> String {
        var args: [String] = []
        var skip = false
        for a in CommandLine.arguments.dropFirst(2) {     // the binary and "train"
            if skip { skip = false; continue }
            if a == "--write-pids" || a.hasPrefix("--debug-step-delay=") { continue }
            if a == "--debug-step-delay" { skip = true; continue }
            args.append(a)
        }
        if !args.contains("--resume") { args.append("--resume") }
        let quoted = args.map { $0.range(of: "^[A-Za-z0-9_./=,:@%+-]+$", options: .regularExpression) != nil ? $0 : "'\($0)'" }
        let launcher = ProcessInfo.processInfo.environment["CGMTRAIN_LAUNCH_COMMAND"]
            ?? ((ranks > 1 ? "mpirun -n \(ranks) " : "") + "cgmtrain train")
        return launcher + " " + quoted.joined(separator: " ")
    }
}
