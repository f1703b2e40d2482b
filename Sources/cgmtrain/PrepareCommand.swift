// `cgmtrain prepare`: CSV cohort → DIR/manifest.json + DIR/{train,val,test}/shard-NNNNN.h5, alone or
// under mpirun (each rank takes a share of the shard jobs; see DatasetPreparer in CGMData). Rank 0 prints
// the ingest report, the QC counts per rule, the extraction yield, the windows per split and the time;
// other ranks are quiet. Errors print `error: <message>` on stderr (once, from rank 0 or from the first
// rank that failed alone) and exit 1; DIR is then absent (or, with --overwrite, unchanged).

import ArgumentParser
import CGMData
import Config
import Distributed
import Foundation
import Inference
import Training

/// Builds a prepared (sharded) dataset from the canonical CSV files.
struct PrepareCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "prepare",
        abstract: "Ingest, quality-control, split and window a CGM cohort into HDF5 shards (runs under mpirun).",
        discussion: """
            The config is YAML with a top-level `data:` section (other top-level sections, e.g. model or \
            train, are ignored here). Writes DIR/manifest.json and DIR/{train,val,test}/shard-NNNNN.h5 via a \
            temporary directory renamed at the end: a failed run leaves nothing half-written.
            """)

    @Option(help: "Measurements CSV (subject_id, timestamp, glucose_mg_dl | glucose_mmol_l, optional columns).")
    var cgm: String

    @Option(help: "subjects.csv with static covariates (subject_id, age, …).")
    var subjects: String?

    @Option(help: "YAML config with a top-level `data:` section.")
    var config: String

    @Option(help: "Output directory (must not exist unless --overwrite).")
    var out: String

    @Flag(help: "Replace an existing prepared dataset at --out (only once the new one is complete).")
    var overwrite = false

    @Option(help: "Subjects per shard job and shard file (the output does not depend on the number of ranks).")
    var subjectsPerShard = 16

    @Option(help: "meal_detector checkpoint: fill the meal_flag covariate with its detected flags instead of the data's meal events (recorded in the manifest).")
    var mealDetector: String?

    @Option(help: "With --meal-detector: per-window threshold θ (A.2: 0.36; use the value `detect-meals --tune` selected).")
    var mealTheta: Float = 0.36

    @Option(help: "With --meal-detector --meal-flags smoothed: ratio-voting consensus ρ (A.2: 0.77).")
    var mealRho: Float = 0.77

    @Option(help: "With --meal-detector: causal (default; the flag at t uses CGM at times ≤ t only: the last step of the window ending at t, threshold θ; meal_flag may then only be a past feature) or smoothed (A.2 ratio voting over all windows covering t: uses CGM up to 6 h after t — leaks the future into a forecast, for offline annotation only).")
    var mealFlags: String = "causal"

    @Option(help: "With --meal-flags causal: read the window ending at t at step L − 1 − lag (fixed latency of lag 5-min steps; still CGM ≤ t only; tune with detect-meals --causal --lag).")
    var mealLag: Int = 0

    func run() throws {
        let comm: any Communicator
        do {
            comm = try Communicators.detect()
        } catch {
            Self.printError("cannot start the communicator: \(error)")
            throw ExitCode.failure
        }
        var options = PrepareOptions(cgmPath: cgm, subjectsPath: subjects, outDir: out, overwrite: overwrite,
                                     subjectsPerShard: subjectsPerShard)
        if let mealDetector {
            // Every rank reads the same file, so a failure here is the same on every rank.
            do {
                guard (0...1).contains(mealTheta), (0...1).contains(mealRho) else {
                    throw PrepareError(message: "--meal-theta and --meal-rho must be in [0, 1] (got \(mealTheta), \(mealRho))")
                }
                guard let mode = MealFlagMode(rawValue: mealFlags) else {
                    throw PrepareError(message: "--meal-flags must be causal or smoothed (got \(mealFlags))")
                }
                options.mealFlags = try MealDetectorFlags(checkpoint: mealDetector, theta: mealTheta, rho: mealRho, mode: mode, lag: mealLag)
            } catch {
                if comm.rank == 0 { Self.printError("--meal-detector: \(error)") }
                try? comm.shutdown()
                throw ExitCode.failure
            }
        }
        let configPath = config
        do {
            let outcome = try DatasetPreparer.run(options, comm: comm) { try Self.loadDataConfig(path: configPath) }
            if comm.rank == 0 {
                print(outcome.summaryLines(outDir: out).joined(separator: "\n"))
            }
        } catch let error as PrepareError {
            // Same error on every rank: print once (rank 0, or the failing rank itself).
            if comm.rank == (error.rank ?? 0) { Self.printError(error.message + (error.rank.map { " (rank \($0))" } ?? "")) }
            try? comm.shutdown()
            throw ExitCode.failure
        } catch let error as PreparedDatasetError {
            if comm.rank == 0 { Self.printError("\(error)") }
            try? comm.shutdown()
            throw ExitCode.failure
        } catch {
            // An MPI failure mid-protocol: this rank cannot rely on the others any more.
            Self.printError("rank \(comm.rank): \(error)")
            if comm.size > 1 { comm.abort(code: 1) }
            throw ExitCode.failure
        }
        try? comm.shutdown()
    }

    /// Reads the `data:` section of the YAML file at `path`; errors name the file (and the key).
    static func loadDataConfig(path: String) throws -> DataConfig {
        do {
            return try DataConfig.load(path: path)
        } catch let error as ConfigError {
            throw PrepareError(message: "\(error)")
        }
    }

    /// One line on stderr.
    static func printError(_ message: String) {
        FileHandle.standardError.write(Data("error: \(message)\n".utf8))
    }
}
