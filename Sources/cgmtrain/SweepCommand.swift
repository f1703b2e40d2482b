// `cgmtrain sweep`: hyperparameter random search (SSM-CGM A.9's protocol) inside one MPI job or as cluster jobs.
//
//   cgmtrain sweep run configs/sweep-seq2seq.yaml --out sweeps/demo [--data DIR] [--group-size K]
//   mpirun -n 8 cgmtrain sweep run SWEEP.yaml --out DIR --group-size 2     # 4 trials at a time, 2 ranks each
//   cgmtrain sweep run-trial SWEEP.yaml --trial 3 --out DIR --data DIR      # one trial (a SLURM array task)
//   cgmtrain sweep launch SWEEP.yaml --out DIR --scheduler slurm|mpirun [--ranks K] [--dry-run]
//   cgmtrain sweep report DIR
//
// Exit status of run / run-trial: 0 when the trials ran (failed trials are recorded and reported, not
// fatal) or a signal stopped the sweep cleanly; 1 when the sweep cannot start, every trial failed, or (run-
// trial) its trial failed; 2 when MPI cannot start. An error that is not agreed inside a group aborts the job.

import ArgumentParser
import CGMTensor
import Config
import DataParallel
import Distributed
import Foundation
import Sweep
import Training

struct SweepCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "sweep",
        abstract: "Hyperparameter random search: run trials in one MPI job, launch them as cluster jobs, report the best.",
        subcommands: [SweepRunCommand.self, SweepRunTrialCommand.self, SweepLaunchCommand.self, SweepReportCommand.self])
}

/// Options shared by run and run-trial.
struct SweepJobOptions: ParsableArguments {
    @Argument(help: "Sweep file (e.g. configs/sweep-seq2seq.yaml).")
    var sweep: String

    @Option(help: "Sweep directory: one run directory per trial, plan.json, statuses, report.")
    var out: String

    @Option(help: "Prepared dataset directory (default: the sweep file's data:).")
    var data: String?

    @Flag(help: "Run trials that failed before again.")
    var retryFailed = false

    @Option(help: .hidden)
    var debugStepDelay: Double = 0
}

struct SweepRunCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "run",
        abstract: "Run every pending trial of a sweep inside this (MPI) job; rerun to resume.",
        discussion: """
        With --group-size K the ranks are split into np/K groups that train different trials concurrently \
        (K ranks each, data parallel within a trial). Finished trials are skipped on rerun and interrupted ones \
        resume from their last.h5. Ends with the report (cgmtrain sweep report DIR).
        """)

    @OptionGroup var job: SweepJobOptions

    @Option(help: "Ranks per trial (must divide the number of ranks; default: all ranks train one trial at a time).")
    var groupSize: Int?

    func validate() throws {
        if let k = groupSize, k < 1 { throw ValidationError("--group-size must be at least 1") }
    }

    func run() throws { try runSweepJob(job, groupSize: groupSize, onlyTrial: nil, command: "run") }
}

struct SweepRunTrialCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "run-trial",
        abstract: "Run one trial of a sweep on all ranks of this job (what each SLURM array task runs).")

    @OptionGroup var job: SweepJobOptions

    @Option(help: "Trial index (0-based).")
    var trial: Int

    func run() throws { try runSweepJob(job, groupSize: nil, onlyTrial: trial, command: "run-trial") }
}

/// Shared body of run and run-trial.
private func runSweepJob(_ job: SweepJobOptions, groupSize: Int?, onlyTrial: Int?, command: String) throws {
    let comm: any Communicator
    do {
        comm = try Communicators.detect()
    } catch {
        FileHandle.standardError.write(Data("cgmtrain sweep \(command): cannot start the communicator: \(error)\n".utf8))
        throw ExitCode(2)
    }
    CommandRanks.useOneBLASThreadUnlessSet()
    let label = "cgmtrain sweep \(command)" + (comm.size > 1 ? ": rank \(comm.rank)" : "")
    let stop = StopSignal.install(label: label)
    var options = SweepRunOptions(outDirectory: job.out)
    options.dataDirectory = job.data
    options.groupSize = groupSize
    options.retryFailed = job.retryFailed
    options.onlyTrial = onlyTrial
    options.stepDelaySeconds = job.debugStepDelay
    options.rerunCommand = rerunCommand(ranks: comm.size)
    do {
        let plan = try SweepPlan.load(sweepFile: job.sweep, comm: comm)
        let runner = try SweepRunner(plan: plan, options: options, world: comm, stop: stop)
        let summary = try runner.run()
        var failedAll = false
        if comm.rank == 0 {
            if let only = onlyTrial {
                failedAll = (try? SweepDirectory(job.out).readStatus(only))??.state == .failed
            } else {
                failedAll = summary.pending == 0 && !summary.interrupted && (summary.counts[.finished] ?? 0) == 0
                    && (summary.counts[.pruned] ?? 0) == 0
                do {
                    let report = try SweepReport(directory: job.out)
                    try report.write()
                    print(report.text, terminator: "")
                } catch {
                    FileHandle.standardError.write(Data("cgmtrain sweep \(command): cannot write the report: \(error)\n".utf8))
                }
            }
        }
        failedAll = try comm.broadcast(failedAll ? "1" : "0", root: 0) == "1"
        stop.markFinished()
        try? comm.shutdown()
        if failedAll { throw ExitCode(1) }
    } catch let e as AgreedFailure {
        stop.markFinished()
        if comm.rank == 0 { FileHandle.standardError.write(Data("cgmtrain sweep \(command): error: \(e)\n".utf8)) }
        try? comm.shutdown()
        throw ExitCode(1)
    } catch let e as ExitCode {
        throw e
    } catch {
        FileHandle.standardError.write(Data("\(label): error: \(error); aborting the job (rerun the same command to resume the sweep)\n".utf8))
        if comm.size > 1 { comm.abort(code: 1) }
        throw ExitCode(1)
    }
}

/// This command line, to print when a signal stopped the sweep.
private func rerunCommand(ranks: Int) -> String {
    var args: [String] = [], skip = false
    for a in CommandLine.arguments.dropFirst() {
        if skip { skip = false; continue }
        if a == "--debug-step-delay" { skip = true; continue }
        if a.hasPrefix("--debug-step-delay=") { continue }
        args.append(a)
    }
    return (ranks > 1 ? "mpirun -n \(ranks) " : "") + "cgmtrain " + args.map(SweepLaunch.quote).joined(separator: " ")
}

struct SweepLaunchCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "launch",
        abstract: "Write per-trial commands and a SLURM job-array script (or an mpirun script) for a sweep.",
        discussion: """
        slurm: DIR/launch/sweep-array.sbatch (from launch/sweep-array.sbatch), one array task per trial, each \
        running `cgmtrain sweep run-trial`; submit it with sbatch. mpirun: DIR/launch/run-trials.sh. Both: \
        DIR/launch/trial-commands.txt with the equivalent `cgmtrain train` command of every trial.
        """)

    @Argument(help: "Sweep file.")
    var sweep: String
    @Option(help: "Sweep directory (as for sweep run).")
    var out: String
    @Option(help: "slurm or mpirun.")
    var scheduler: String
    @Option(help: "Prepared dataset directory (default: the sweep file's data:).")
    var data: String?
    @Option(help: "Ranks per trial.")
    var ranks = 1
    @Option(help: "SLURM template (default: launch/sweep-array.sbatch of this checkout).")
    var template: String?
    @Option(help: "cgmtrain binary the scripts run (default: this one).")
    var cgmtrain: String?
    @Flag(help: "Print the script and commands instead of writing them.")
    var dryRun = false

    func validate() throws {
        guard SweepLaunch.Scheduler(rawValue: scheduler) != nil else { throw ValidationError("--scheduler must be slurm or mpirun (got '\(scheduler)')") }
        guard ranks >= 1 else { throw ValidationError("--ranks must be at least 1") }
    }

    func run() throws {
        do {
            let config = try SweepConfig.load(path: sweep)
            guard let baseText = try? String(contentsOfFile: config.base, encoding: .utf8) else {
                throw ConfigError(source: sweep, key: "base", "cannot read the base config \(config.base)")
            }
            let plan = try SweepPlan(config: config, baseText: baseText)
            guard let dataDir = data ?? config.data else {
                throw ConfigError(source: sweep, key: "data", "no prepared dataset: pass --data DIR or set data: in the sweep file")
            }
            let me = SweepLaunch.absolute(CommandLine.arguments[0].contains("/") ? CommandLine.arguments[0]
                                          : (Bundle.main.executablePath ?? CommandLine.arguments[0]))
            let launch = SweepLaunch(plan: plan, sweepFile: sweep, outDirectory: out, dataDirectory: dataDir, ranks: ranks,
                                     binary: cgmtrain.map(SweepLaunch.absolute) ?? me)
            var files: [(String, String)] = [("trial-commands.txt", launch.trainCommandsText)]
            if scheduler == "slurm" {
                guard let path = template ?? SweepLaunch.findTemplate(binary: me),
                      let text = try? String(contentsOfFile: path, encoding: .utf8) else {
                    throw RunDirectoryError("cannot find the SLURM template launch/sweep-array.sbatch (pass --template PATH)")
                }
                files.insert(("sweep-array.sbatch", try launch.slurmScript(template: text)), at: 0)
            } else {
                files.insert(("run-trials.sh", launch.mpirunScript), at: 0)
            }
            let dir = (launch.outDirectory as NSString).appendingPathComponent("launch")
            if dryRun {
                for (name, text) in files { print("==> \(dir)/\(name) <==\n\(text)") }
                return
            }
            try FileManager.default.createDirectory(atPath: dir + "/logs", withIntermediateDirectories: true)
            for (name, text) in files {
                let path = (dir as NSString).appendingPathComponent(name)
                try Data(text.utf8).write(to: URL(fileURLWithPath: path), options: .atomic)
                if name.hasSuffix(".sh") || name.hasSuffix(".sbatch") { chmod(path, 0o755) }
                print("wrote \(path)")
            }
            let invalid = plan.configs.filter { if case .failure = $0 { return true } else { return false } }.count
            print("\(plan.trials.count) trials (\(invalid) with an invalid configuration, recorded as failed when run); "
                  + (scheduler == "slurm" ? "submit with: sbatch \(dir)/sweep-array.sbatch" : "run: bash \(dir)/run-trials.sh")
                  + "; then: cgmtrain sweep report \(launch.outDirectory)")
        } catch let e as ConfigError {
            FileHandle.standardError.write(Data("cgmtrain sweep launch: error: \(e)\n".utf8))
            throw ExitCode(1)
        } catch let e as RunDirectoryError {
            FileHandle.standardError.write(Data("cgmtrain sweep launch: error: \(e)\n".utf8))
            throw ExitCode(1)
        }
    }
}

struct SweepReportCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "report",
        abstract: "Table of a sweep's trials (printed and DIR/report.csv) and the best configuration (DIR/best-config.yaml).")

    @Argument(help: "Sweep directory (--out of sweep run / launch).")
    var directory: String
    @Option(help: "Selection metric (default: the sweep file's select.metric): \(SweepMetric.allCases.map(\.rawValue).joined(separator: ", ")).")
    var metric: String?
    @Option(help: "Comma-separated tie-breakers (default: the sweep file's, else val_mae,val_rmse,params).")
    var tieBreakers: String?

    func run() throws {
        do {
            var selection: SweepSelection?
            if metric != nil || tieBreakers != nil {
                var s = try SweepDirectory(directory).readPlan()?.select.selection ?? SweepSelection()
                if let m = metric {
                    guard let v = SweepMetric(rawValue: m) else { throw ValidationError("--metric must be one of \(SweepMetric.allCases.map(\.rawValue).joined(separator: ", "))") }
                    s.metric = v
                }
                if let t = tieBreakers {
                    s.tieBreakers = try t.split(separator: ",").map { name in
                        guard let v = SweepMetric(rawValue: String(name)) else { throw ValidationError("--tie-breakers: unknown metric '\(name)'") }
                        return v
                    }
                }
                selection = s
            }
            let report = try SweepReport(directory: directory, selection: selection)
            let written = try report.write()
            print(report.text, terminator: "")
            print("wrote " + written.joined(separator: ", "))
        } catch let e as RunDirectoryError {
            FileHandle.standardError.write(Data("cgmtrain sweep report: error: \(e)\n".utf8))
            throw ExitCode(1)
        }
    }
}
