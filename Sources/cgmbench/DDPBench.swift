import Foundation

/// Data-parallel scaling of PhysioSeq2Seq training (hidden 64, encoder 12→64 over L=37, decoder 11→64
/// over H=48, B=64 per rank, Adam, one OpenBLAS thread per rank): launches
/// `mpirun -np N cgmtrain ddp-check --bench` (the release binary next to cgmbench) for np=1, np=2 and
/// np=2 with the all-reduce overlapped with backward, in alternating rounds so machine noise hits all
/// alike, and reports samples/s, the speed-up, the all-reduce time alone, the communication the
/// training thread waited for, and how much of it overlap hid.
struct DDPBench {
    struct Row {
        var samplesPerSecond: [Double] = []
        var fields: [[String: Double]] = []
        func median(_ key: String) -> Double {
            let xs = fields.compactMap { $0[key] }.sorted()
            return xs.isEmpty ? .nan : xs[xs.count / 2]
        }
    }

    /// Runs `rounds` rounds of `steps` timed steps per configuration and returns the rendered table
    /// (or an explanation of what failed).
    static func run(rounds: Int = 3, steps: Int = 100, warmupSteps: Int = 10, cgmtrain: String? = nil) -> String {
        guard let binary = cgmtrain ?? locateCGMTrain() else {
            return "ddp bench: cgmtrain not found next to cgmbench; build it with `swift build -c release`"
        }
        guard let mpirun = locateMPIRun() else { return "ddp bench: mpirun not found on PATH" }
        let configs: [(name: String, np: Int, extra: [String])] = [
            ("np=1", 1, []),
            ("np=2", 2, []),
            ("np=2, overlap, 64 KiB buckets", 2, ["--overlap", "--bucket-cap-bytes", "65536",
                                                  "--first-bucket-cap-bytes", "65536"]),
        ]
        var rows = [Row](repeating: Row(), count: configs.count)
        let loadBefore = loadAverage()
        for _ in 0..<rounds {
            for (i, c) in configs.enumerated() {
                let args = ["ddp-check", "--bench", "--steps", "\(steps)", "--warmup-steps", "\(warmupSteps)"] + c.extra
                switch launch(mpirun: mpirun, np: c.np, binary: binary, args: args) {
                case .success(let fields):
                    rows[i].fields.append(fields)
                    rows[i].samplesPerSecond.append(fields["samples_per_s"] ?? .nan)
                case .failure(let message):
                    return "ddp bench: \(c.name) failed: \(message)"
                }
            }
        }
        let loadAfter = loadAverage()
        let base = median(rows[0].samplesPerSecond)
        let plainExposed = rows[1].median("exposed_ms")
        var table = Table(header: ["PhysioSeq2Seq data parallel (B=64/rank)", "samples/s", "× np=1", "step ms",
                                   "backward ms", "CPU ms", "all-reduce ms", "waited ms", "hidden ms", "buckets"])
        for (i, c) in configs.enumerated() {
            let r = rows[i], s = median(r.samplesPerSecond)
            let overlapped = c.extra.contains("--overlap")
            let hidden = overlapped ? max(0, plainExposed - r.median("exposed_ms")) : 0
            table.rows.append([
                c.name, "\(fmt(s, 0)) [\(fmt(r.samplesPerSecond.min()!, 0))–\(fmt(r.samplesPerSecond.max()!, 0))]",
                fmt(s / base, 2) + "×", fmt(r.median("step_ms"), 2), fmt(r.median("backward_ms"), 2),
                fmt(r.median("compute_cpu_ms"), 2),
                c.np > 1 ? fmt(r.median("allreduce_ms"), 3) : "–", c.np > 1 ? fmt(r.median("exposed_ms"), 3) : "–",
                c.np > 1 ? fmt(hidden, 3) : "–", fmt(r.median("buckets"), 0),
            ])
        }
        // What the step costs with a core per rank: CPU time of the compute plus the all-reduce alone.
        let cpu1 = rows[0].median("compute_cpu_ms"), cpu2 = rows[1].median("compute_cpu_ms")
        let ceiling1 = 64_000 / cpu1, ceiling2 = 128_000 / (cpu2 + rows[1].median("allreduce_ms"))
        let notes = """
            load average before/after: \(loadBefore) / \(loadAfter) (2 cores; other work inflates np=2's wall clock most).
            CPU ms: thread CPU time of forward + backward + Adam per step on the slowest rank (MPI spin-waits excluded).
            CPU-bound ceiling with a core per rank: np=1 \(fmt(ceiling1, 0)), np=2 \(fmt(ceiling2, 0)) samples/s = \(fmt(ceiling2 / ceiling1, 2))× (64·np / (CPU ms + all-reduce ms)).
            all-reduce ms: the step's bucketed gradient all-reduces (\(Int(rows[1].median("bytes")) / 1024) KiB) alone, back to back.
            waited ms: communication the training thread waited for after backward (includes waiting for the slower rank).
            hidden ms: waited (np=2) − waited (overlap). Medians of \(rounds) rounds × \(steps) steps; [min–max] over rounds.
            """
        return table.render() + "\n" + notes
    }

    enum Outcome {
        case success([String: Double])
        case failure(String)
    }

    /// Runs one mpirun job and parses its "ddp-bench key=value ..." line.
    static func launch(mpirun: String, np: Int, binary: String, args: [String]) -> Outcome {
        let p = Process()
        p.executableURL = URL(fileURLWithPath: mpirun)
        p.arguments = ["--allow-run-as-root", "-np", "\(np)", "--bind-to", "core", binary] + args
        var env = ProcessInfo.processInfo.environment
        env["OMPI_ALLOW_RUN_AS_ROOT"] = "1"
        env["OMPI_ALLOW_RUN_AS_ROOT_CONFIRM"] = "1"
        env["OPENBLAS_NUM_THREADS"] = "1"
        p.environment = env
        // stdout through a pipe (one short line); stderr to a file so a chatty job can never block.
        let errURL = FileManager.default.temporaryDirectory.appendingPathComponent("ddp-bench-\(getpid())-\(np).err")
        _ = FileManager.default.createFile(atPath: errURL.path, contents: nil)
        defer { try? FileManager.default.removeItem(at: errURL) }
        guard let err = try? FileHandle(forWritingTo: errURL) else { return .failure("cannot create \(errURL.path)") }
        let out = Pipe()
        p.standardOutput = out
        p.standardError = err
        p.standardInput = FileHandle.nullDevice
        do { try p.run() } catch { return .failure("cannot start \(mpirun): \(error)") }
        let data = out.fileHandleForReading.readDataToEndOfFile()
        p.waitUntilExit()
        try? err.close()
        let errData = (try? Data(contentsOf: errURL)) ?? Data()
        let text = String(decoding: data, as: UTF8.self)
        guard p.terminationStatus == 0,
              let line = text.split(separator: "\n").first(where: { $0.hasPrefix("ddp-bench ") }) else {
            return .failure("exit \(p.terminationStatus): \(text)\(String(decoding: errData, as: UTF8.self))")
        }
        var fields: [String: Double] = [:]
        for pair in line.split(separator: " ").dropFirst() {
            let kv = pair.split(separator: "=", maxSplits: 1)
            if kv.count == 2, let v = Double(kv[1]) { fields[String(kv[0])] = v }
        }
        return .success(fields)
    }

    /// The 1-minute load average, as text.
    static func loadAverage() -> String {
        ((try? String(contentsOfFile: "/proc/loadavg", encoding: .utf8)) ?? "?").split(separator: " ").first.map(String.init) ?? "?"
    }

    static func locateCGMTrain() -> String? {
        let me = (Bundle.main.executableURL ?? URL(fileURLWithPath: CommandLine.arguments[0])).resolvingSymlinksInPath()
        let candidate = me.deletingLastPathComponent().appendingPathComponent("cgmtrain").path
        return FileManager.default.isExecutableFile(atPath: candidate) ? candidate : nil
    }

    static func locateMPIRun() -> String? {
        (ProcessInfo.processInfo.environment["PATH"] ?? "/usr/bin:/usr/local/bin").split(separator: ":")
            .map { "\($0)/mpirun" }.first { FileManager.default.isExecutableFile(atPath: $0) }
    }
}
