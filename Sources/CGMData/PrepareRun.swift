// DatasetPreparer: `cgmtrain prepare` on one rank of a job (or alone). Protocol, identical on every rank:
//
//   1  global plan (local):   config, refuse an existing DIR without overwrite, read CSV, resample,
//                             features, QC rules 1–5, split, fit the FeatureSpec       (CohortPipeline.plan)
//   2  agree:                 allReduce(min) of the first failing rank; if any, its message is broadcast
//                             and every rank throws the same error (nothing was created yet)
//   3  jobs:                  ShardJobs over subjects; job j runs on rank j mod size: rule 6 (twin matching),
//                             materialize, write shards into DIR.tmp-*; manifest; rename to DIR
//                             (PreparedDatasetWriter: a failure anywhere removes the temp dir on every path)
//   4  empty check:           if rule 6 removed every window, DIR is removed again and all ranks throw
//
// Step 1 is repeated on every rank on purpose: it is cheap next to step 3 and deterministic, so the ranks
// agree on the plan without shipping it around. Output is independent of the number of ranks.

import Dispatch
import Distributed
import Foundation

/// Options of one `prepare` run.
public struct PrepareOptions {
    /// The measurements CSV.
    public var cgmPath: String
    /// subjects.csv, if any.
    public var subjectsPath: String?
    /// Output directory DIR.
    public var outDir: String
    /// Replace an existing prepared dataset at DIR.
    public var overwrite: Bool
    /// Subjects per shard job (and shard file).
    public var subjectsPerShard: Int
    /// Producer string written into shards and the manifest.
    public var createdBy: String
    /// Source of `meal_flag` instead of the data (`--meal-detector`), recorded in the manifest.
    public var mealFlags: (any MealFlagSource)?

    /// Creates options (16 subjects per shard).
    public init(cgmPath: String, subjectsPath: String? = nil, outDir: String, overwrite: Bool = false,
                subjectsPerShard: Int = 16, createdBy: String = "cgmtrain prepare") {
        self.cgmPath = cgmPath
        self.subjectsPath = subjectsPath
        self.outDir = outDir
        self.overwrite = overwrite
        self.subjectsPerShard = subjectsPerShard
        self.createdBy = createdBy
    }
}

/// A failure of `prepare` before any output existed (bad input, bad config, empty cohort, existing DIR).
public struct PrepareError: Error, CustomStringConvertible, Equatable {
    /// The failing rank when the failure was not seen by rank 0 (nil: rank 0 or every rank).
    public var rank: Int?
    /// What went wrong (a `DataError`'s text names file and line, subject or config key).
    public var message: String

    /// Creates an error.
    public init(rank: Int? = nil, message: String) {
        self.rank = rank
        self.message = message
    }

    /// The message, prefixed by the rank when it is not rank 0.
    public var description: String { (rank.map { "rank \($0): " } ?? "") + message }
}

/// What a successful `prepare` produced (identical on every rank except `seconds`).
public struct PrepareOutcome {
    /// The manifest written to DIR.
    public var manifest: Manifest
    /// Ingest counts.
    public var ingest: IngestReport
    /// Resampling counts.
    public var resample: ResampleReport
    /// QC counts of all six rules and the yield, after the jobs ran.
    public var qc: QCReport
    /// Split method and seed (window counts are in the manifest).
    public var split: SplitReport
    /// Warnings of the planning stages.
    public var warnings: [String]
    /// Shard jobs planned.
    public var jobs: Int
    /// Ranks that ran.
    public var ranks: Int
    /// Wall time of this rank, seconds.
    public var seconds: Double
    /// Of which the global plan (every rank: read, resample, features, QC 1–5, split, fit), seconds.
    public var planSeconds: Double
    /// Peak resident set size of every rank (MiB, getrusage ru_maxrss), in rank order.
    public var peakRSSMiB: [Double]
    /// CPU time (user + system) of every rank, seconds, in rank order (unlike wall time, not inflated
    /// by other processes competing for the cores).
    public var cpuSeconds: [Double]

    /// The printable report: ingest, resampling, QC per rule with the yield, windows per split, timing.
    public func summaryLines(outDir: String) -> [String] {
        var lines = ingest.summaryLines() + resample.summaryLines() + qc.summaryLines()
        let m = manifest
        let parts = ShardSplit.allCases.map { s -> String in
            let e = m.split(s)
            return "\(s.rawValue) \(e.windows) windows / \(e.subjects.count) subjects / \(e.shards.count) shards"
        }
        lines.append("split (\(split.method)\(split.seed.map { ", seed \($0)" } ?? "")): " + parts.joined(separator: ", ")
            + (split.discarded > 0 ? "; \(split.discarded) straddling windows discarded" : ""))
        lines.append("features: past [\(m.pastFeatures.joined(separator: ", "))], future [\(m.futureFeatures.joined(separator: ", "))]"
            + ", static [\(m.staticFeatures.joined(separator: ", "))]")
        lines += (m.droppedFeatures ?? []).map(\.summary)
        lines += warnings.filter { !ingest.warnings.contains($0) }.map { "warning: \($0)" }
        let rate = Double(ingest.rows) / max(seconds, 1e-9)
        lines.append("wrote \(outDir): \(m.totals.windows) windows in \(m.totals.shards) shards (\(jobs) jobs on "
            + "\(ranks) rank\(ranks == 1 ? "" : "s")) in " + String(format: "%.2f", seconds) + " s ("
            + String(format: "%.0f", rate) + " CSV rows/s, "
            + String(format: "%.0f", Double(m.totals.windows) / max(seconds, 1e-9)) + " windows/s; plan "
            + String(format: "%.2f", planSeconds) + " s on every rank, shard jobs "
            + String(format: "%.2f", seconds - planSeconds) + " s)")
        lines.append("peak RSS per rank: " + peakRSSMiB.map { String(format: "%.1f", $0) }.joined(separator: ", ") + " MiB")
        lines.append("CPU time per rank: " + cpuSeconds.map { String(format: "%.2f", $0) }.joined(separator: ", ") + " s")
        return lines
    }
}

/// Runs `prepare` on one rank of `comm` (see the file header).
public enum DatasetPreparer {
    /// Agreement on failure after a phase every rank runs on its own: throws the failure of the lowest failing
    /// rank on every rank (rank named unless 0). Collective.
    static func agree(_ failure: String?, comm: any Communicator) throws {
        let firstFailing = try comm.allReduce(Int64(failure == nil ? comm.size : comm.rank), op: .min)
        if firstFailing < comm.size {
            let message = try comm.broadcast(failure ?? "", root: Int(firstFailing))
            throw PrepareError(rank: firstFailing == 0 ? nil : Int(firstFailing), message: message)
        }
    }

    /// Prepares `options.cgmPath` into `options.outDir` with the config returned by `loadConfig`.
    /// Collective: every rank of `comm` calls it with the same options.
    /// - Throws: `PrepareError` (same on every rank) for bad input or an empty cohort; `PreparedDatasetError`
    ///   for a failure while writing. DIR is never left half-written.
    public static func run(_ options: PrepareOptions, comm: any Communicator,
                           loadConfig: () throws -> DataConfig) throws -> PrepareOutcome {
        let start = DispatchTime.now().uptimeNanoseconds
        let outDir = normalized(options.outDir)

        // 0: with several ranks, the meal detector's flags are computed once across them (PrepareMealFlags.swift).
        var mealFlags = options.mealFlags
        var cohortRead: Cohort?   // by that phase, for the plan
        if let source = options.mealFlags, comm.size > 1 {
            let shared = try PrepareMealFlags.distributed(source, options: options, comm: comm, loadConfig: loadConfig)
            (mealFlags, cohortRead) = (shared.flags ?? source, shared.cohort)
        }

        // 1–2: the plan on every rank, then agreement on failure.
        var plan: CohortPlan?
        var failure: String?
        do {
            guard options.subjectsPerShard >= 1 else {
                throw PrepareError(message: "--subjects-per-shard must be at least 1 (got \(options.subjectsPerShard))")
            }
            let config = try loadConfig()
            if let problem = PreparedDatasetWriter.outputProblem(outDir, overwrite: options.overwrite) {
                throw PrepareError(message: "\(outDir): \(problem)")
            }
            let cohort = try cohortRead ?? CohortReader().read(cgmPath: options.cgmPath, subjectsPath: options.subjectsPath)
            plan = try CohortPipeline.plan(config: config, cohort: cohort, mealFlags: mealFlags)
        } catch {
            failure = "\(error)"
        }
        try agree(failure, comm: comm)
        let thePlan = plan!
        let planSeconds = Double(DispatchTime.now().uptimeNanoseconds - start) / 1e9

        // 3: jobs → shards → manifest → DIR.
        let jobs = thePlan.shardJobs(subjectsPerShard: options.subjectsPerShard)
        let check = thePlan.config.qc.contains(.twinMatching) ? TwinMatchingCheck() : nil
        let materializer = PrepareMaterializer(plan: thePlan, twinCheck: check)
        var metadata = ShardMetadata(configHash: thePlan.config.hash, splitSeed: Int(thePlan.config.splitSeed),
                                     featureSpecJSON: try thePlan.spec.jsonString(), createdBy: options.createdBy,
                                     twinFutureInputs: thePlan.config.odeStates ? thePlan.config.twinFutureInputs.rawValue : nil)
        metadata.mealFlagSource = options.mealFlags?.manifestDescription
        metadata.droppedFeatures = thePlan.spec.droppedFeatures
        let writer = PreparedDatasetWriter(comm: comm, outDir: outDir, overwrite: options.overwrite, metadata: metadata)
        let manifest = try writer.write(jobs: jobs, qc: ManifestQC(counts: thePlan.plannedCounts(ruleSixPerJob: check != nil), yield: nil),
                                        computeYield: { counts, _ in PrepareCounter.yield(counts) }) { job in
            try materializer.output(for: job)
        }

        // 4: rule 6 may (in principle) have removed every window.
        if manifest.totals.windows == 0 {
            if comm.rank == 0 { try? FileManager.default.removeItem(atPath: outDir) }
            try comm.barrier()
            throw PrepareError(message: "\((options.cgmPath as NSString).lastPathComponent): empty cohort after quality "
                + "control: every window failed twin matching (rule 6); nothing was written")
        }
        let qc = thePlan.finalQC(counts: manifest.qc.counts)
        let seconds = Double(DispatchTime.now().uptimeNanoseconds - start) / 1e9
        var usage = rusage()
        getrusage(RUSAGE_SELF.rawValue, &usage)
        let cpu = Double(usage.ru_utime.tv_sec + usage.ru_stime.tv_sec)
            + Double(usage.ru_utime.tv_usec + usage.ru_stime.tv_usec) / 1e6
        let gathered = try comm.allGather([Double(usage.ru_maxrss) / 1024, cpu])   // ru_maxrss is in KiB on Linux
        let rss = stride(from: 0, to: gathered.count, by: 2).map { gathered[$0] }
        let cpus = stride(from: 1, to: gathered.count, by: 2).map { gathered[$0] }
        return PrepareOutcome(manifest: manifest, ingest: thePlan.ingest, resample: thePlan.resample, qc: qc,
                              split: thePlan.split, warnings: thePlan.warnings, jobs: jobs.count, ranks: comm.size,
                              seconds: seconds, planSeconds: planSeconds, peakRSSMiB: rss,
                              cpuSeconds: cpus)
    }

    private static func normalized(_ dir: String) -> String {
        var d = dir
        while d.count > 1 && d.hasSuffix("/") { d.removeLast() }
        return d
    }
}
