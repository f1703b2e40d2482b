// DataBench: the data pipeline's speed, as tables (release build: `swift build -c release`).
//   1  twin matching (QC rule 6, Algorithm 1): segments/s on one thread, i.e. per core (target ≥ 500),
//      via `TwinMatcher.benchmark` (300 twins, simulated T1D windows with the paper's L = 37)
//   2  `cgmtrain prepare` on an AI-READI-scale cohort: 525 subjects × 10 days ≈ 2.0 million CGM readings
//      (each simulated sensor has its own reading interval: ≈ 3,850 per subject on average) and ≈ 2.6
//      million CSV rows with events and wearables, simulated once with CohortSimulator. `prepare` runs as
//      a subprocess under `mpirun -np 1` and `-np 2` for each data config, best of 3 interleaved runs
//      (other processes on a shared machine only slow a run down; CPU seconds per rank are shown too, as
//      they are not inflated by them): wall time, readings/s, CSV rows/s, windows/s, and peak RSS — per
//      rank as reported by prepare (getrusage), and the largest process as seen by `/usr/bin/time -v`.
// The cohort and the outputs are deleted afterwards.

import Foundation
import Physiology

/// Benchmarks of twin matching and `cgmtrain prepare`.
struct DataBench {
    /// One `prepare` run's measurements.
    struct PrepareRun {
        var config: String
        var ranks: Int
        var wallSeconds: Double        // outside: mpirun start to exit
        var prepareSeconds: Double     // inside: rank 0's own timing
        var planSeconds: Double        // of which the global plan every rank repeats
        var rows: Int
        var windows: Int
        var yield: Double
        var rankRSSMiB: [Double]
        var rankCPUSeconds: [Double]
        var timeMaxRSSMiB: Double?
        var loadBefore: Double
    }

    /// 1-minute load average (/proc/loadavg; 0 where unavailable): above the core count, timings are inflated.
    static func loadAverage() -> Double {
        guard let text = try? String(contentsOfFile: "/proc/loadavg", encoding: .utf8) else { return 0 }
        return Double(text.split(separator: " ").first ?? "") ?? 0
    }

    /// Runs both benchmarks and returns the tables as text.
    /// - Parameters:
    ///   - cgmtrain: path of the (release) `cgmtrain` binary.
    ///   - configs: data config files to time `prepare` with.
    ///   - subjects, days: simulated cohort size (525 × 10 ≈ 2.0 M CGM readings).
    ///   - twinSegments: segments per twin-matching trial; `twinTrials` trials (median reported).
    ///   - ranks: mpirun rank counts to time; `repeats` runs of each, the fastest reported.
    static func run(cgmtrain: String, configs: [String], subjects: Int = 525, days: Int = 10,
                    twinSegments: Int = 2000, twinTrials: Int = 3, ranks: [Int] = [1, 2], repeats: Int = 3,
                    log: (String) -> Void = { print($0) }) throws -> String {
        var out: [String] = []

        // 1: twin matching.
        log("load average \(fmt(loadAverage(), 2)) on \(ProcessInfo.processInfo.activeProcessorCount) cores\n")
        var twin = Table(header: ["twin matching (300 twins, L = 37)", "segments", "seconds", "segments/s per core",
                                  "failures", "mean RMSE mg/dL"])
        for prune in [true, false] {
            var results: [TwinMatcherBenchmark] = []
            for _ in 0..<twinTrials { results.append(TwinMatcher.benchmark(segments: twinSegments, prune: prune)) }
            let rates = results.map(\.segmentsPerSecond)
            let mid = results.sorted { $0.segmentsPerSecond < $1.segmentsPerSecond }[results.count / 2]
            twin.rows.append([prune ? "Algorithm 1, pruned pass 1 (as prepare runs it)" : "every twin × every step (no pruning)",
                              "\(mid.segments)", fmt(mid.seconds, 2),
                              "\(fmt(median(rates), 0)) [\(fmt(rates.min()!, 0))–\(fmt(rates.max()!, 0))]",
                              "\(mid.failures)", fmt(mid.meanRMSE, 1)])
        }
        twin.rows.append(["target", "", "", "≥ 500", "", ""])
        out.append(twin.render())
        log(twin.render() + "\n")

        // 2: prepare on a simulated cohort.
        let dir = FileManager.default.temporaryDirectory.appendingPathComponent("cgmbench-data-\(getpid())")
        try? FileManager.default.removeItem(at: dir)
        defer { try? FileManager.default.removeItem(at: dir) }
        let cohortDir = dir.appendingPathComponent("cohort").path
        log("simulating \(subjects) subjects × \(days) days into \(cohortDir) …")
        let summary = try CohortSimulator.run(CohortConfig(subjects: subjects, days: days, seed: 2026),
                                              to: cohortDir, truth: false)
        var cohort = Table(header: ["cohort", "subjects", "days", "CGM readings", "missing", "cgm.csv rows",
                                    "simulated in s"])
        cohort.rows.append(["cgmtrain simulate (seed 2026)", "\(summary.subjects)", "\(days)", "\(summary.readings)",
                            fmt(100 * summary.missingFraction, 1) + " %", "\(summary.cgmRows)", fmt(summary.seconds, 1)])
        out.append(cohort.render())
        log(cohort.render() + "\n")

        // Each (config, ranks) runs `repeats` times, interleaved; the fastest run is reported (other
        // processes on a shared machine only ever slow a run down), with the range of in-prepare times.
        var runs: [String: [PrepareRun]] = [:]
        for round in 0..<repeats {
            for config in configs {
                for np in ranks {
                    let outDir = dir.appendingPathComponent("out-\(np)-\((config as NSString).lastPathComponent)").path
                    log("prepare \(config) with mpirun -np \(np) (round \(round + 1) of \(repeats)) …")
                    runs["\(config)#\(np)", default: []].append(
                        try timePrepare(cgmtrain: cgmtrain, cohort: cohortDir, config: config, out: outDir, np: np))
                    try? FileManager.default.removeItem(atPath: outDir)
                }
            }
        }
        let readings = summary.readings - summary.missingReadings
        var table = Table(header: ["prepare, best of \(repeats) (\(readings) readings, \(summary.cgmRows) rows)", "ranks",
                                   "wall s", "in prepare s [range]", "plan s", "readings/s", "rows/s", "windows",
                                   "windows/s", "yield", "CPU s/rank", "peak RSS/rank MiB", "time -v max RSS MiB",
                                   "load avg"])
        for config in configs {
            for np in ranks {
                let all = runs["\(config)#\(np)"]!
                let r = all.min { $0.prepareSeconds < $1.prepareSeconds }!
                let times = all.map(\.prepareSeconds)
                table.rows.append([(r.config as NSString).lastPathComponent, "\(r.ranks)", fmt(r.wallSeconds, 1),
                                   "\(fmt(r.prepareSeconds, 1)) [\(fmt(times.min()!, 1))–\(fmt(times.max()!, 1))]",
                                   fmt(r.planSeconds, 1), fmt(Double(readings) / r.prepareSeconds, 0),
                                   fmt(Double(r.rows) / r.prepareSeconds, 0), "\(r.windows)",
                                   fmt(Double(r.windows) / r.prepareSeconds, 0), fmt(100 * r.yield, 1) + " %",
                                   r.rankCPUSeconds.map { fmt($0, 1) }.joined(separator: " / "),
                                   r.rankRSSMiB.map { fmt($0, 0) }.joined(separator: " / "),
                                   r.timeMaxRSSMiB.map { fmt($0, 0) } ?? "n/a", fmt(r.loadBefore, 1)])
            }
        }
        out.append(table.render())
        log(table.render())
        return out.joined(separator: "\n\n")
    }

    /// Runs `[/usr/bin/time -v] mpirun -np N cgmtrain prepare …` and reads its report and manifest.
    static func timePrepare(cgmtrain: String, cohort: String, config: String, out: String, np: Int) throws -> PrepareRun {
        let timeTool = "/usr/bin/time"
        let useTime = FileManager.default.isExecutableFile(atPath: timeTool)
        let mpirun = try which("mpirun")
        var args = ["--allow-run-as-root", "--oversubscribe", "-np", "\(np)", cgmtrain, "prepare",
                    "--cgm", cohort + "/cgm.csv", "--subjects", cohort + "/subjects.csv", "--config", config, "--out", out]
        let proc = Process()
        if useTime {
            proc.executableURL = URL(fileURLWithPath: timeTool)
            args = ["-v", mpirun] + args
        } else {
            proc.executableURL = URL(fileURLWithPath: mpirun)
        }
        proc.arguments = args
        var env = ProcessInfo.processInfo.environment
        env["OMPI_ALLOW_RUN_AS_ROOT"] = "1"
        env["OMPI_ALLOW_RUN_AS_ROOT_CONFIRM"] = "1"
        env["OPENBLAS_NUM_THREADS"] = "1"
        proc.environment = env
        let stdoutPath = out + ".stdout", stderrPath = out + ".stderr"
        _ = FileManager.default.createFile(atPath: stdoutPath, contents: nil)
        _ = FileManager.default.createFile(atPath: stderrPath, contents: nil)
        defer {
            try? FileManager.default.removeItem(atPath: stdoutPath)
            try? FileManager.default.removeItem(atPath: stderrPath)
        }
        let so = try FileHandle(forWritingTo: URL(fileURLWithPath: stdoutPath))
        let se = try FileHandle(forWritingTo: URL(fileURLWithPath: stderrPath))
        proc.standardOutput = so
        proc.standardError = se
        let load = loadAverage()
        let start = now()
        try proc.run()
        proc.waitUntilExit()
        let wall = now() - start
        try so.close()
        try se.close()
        let stdout = (try? String(contentsOfFile: stdoutPath, encoding: .utf8)) ?? ""
        let stderr = (try? String(contentsOfFile: stderrPath, encoding: .utf8)) ?? ""
        guard proc.terminationStatus == 0 else {
            throw BenchError("prepare -np \(np) with \(config) exited \(proc.terminationStatus):\n\(stdout)\n\(stderr)")
        }
        // "wrote DIR: W windows in S shards (J jobs on N ranks) in T s (…)" and "peak RSS per rank: a, b MiB".
        func line(_ prefix: String) -> String? { stdout.split(separator: "\n").map(String.init).first { $0.hasPrefix(prefix) } }
        guard let wrote = line("wrote "), let inRange = wrote.range(of: ") in "),
              let seconds = Double(wrote[inRange.upperBound...].prefix { $0 != " " }) else {
            throw BenchError("no timing line in prepare's output:\n\(stdout)")
        }
        var plan = 0.0
        if let r = wrote.range(of: "; plan ") { plan = Double(wrote[r.upperBound...].prefix { $0 != " " }) ?? 0 }
        let rss = line("peak RSS per rank: ").map {
            $0.dropFirst("peak RSS per rank: ".count).replacingOccurrences(of: " MiB", with: "")
                .split(separator: ",").compactMap { Double($0.trimmingCharacters(in: .whitespaces)) }
        } ?? []
        let cpu = line("CPU time per rank: ").map {
            $0.dropFirst("CPU time per rank: ".count).replacingOccurrences(of: " s", with: "")
                .split(separator: ",").compactMap { Double($0.trimmingCharacters(in: .whitespaces)) }
        } ?? []
        var timeRSS: Double?
        if useTime, let l = stderr.split(separator: "\n").first(where: { $0.contains("Maximum resident set size") }),
           let kb = Double(l.split(separator: ":").last!.trimmingCharacters(in: .whitespaces)) {
            timeRSS = kb / 1024
        }
        let manifestData = try Data(contentsOf: URL(fileURLWithPath: out + "/manifest.json"))
        guard let manifest = try JSONSerialization.jsonObject(with: manifestData) as? [String: Any],
              let qc = manifest["qc"] as? [String: Any], let counts = qc["counts"] as? [String: Any],
              let totals = manifest["totals"] as? [String: Any] else {
            throw BenchError("unreadable manifest in \(out)")
        }
        return PrepareRun(config: config, ranks: np, wallSeconds: wall, prepareSeconds: seconds, planSeconds: plan,
                          rows: (counts["ingest_rows"] as? Int) ?? 0, windows: (totals["windows"] as? Int) ?? 0,
                          yield: (qc["yield"] as? Double) ?? 0, rankRSSMiB: rss, rankCPUSeconds: cpu,
                          timeMaxRSSMiB: timeRSS, loadBefore: load)
    }

    static func which(_ tool: String) throws -> String {
        let dirs = (ProcessInfo.processInfo.environment["PATH"] ?? "/usr/bin:/usr/local/bin").split(separator: ":")
        guard let found = dirs.map({ "\($0)/\(tool)" }).first(where: { FileManager.default.isExecutableFile(atPath: $0) })
        else { throw BenchError("\(tool) not found on PATH") }
        return found
    }
}

/// A benchmark that could not run.
struct BenchError: Error, CustomStringConvertible {
    let description: String
    init(_ message: String) { description = message }
}
