import ArgumentParser
import CGMTensor
import Foundation

/// `cgmbench`: the engine's speed, printed as tables. Build with `swift build -c release`.
struct CGMBench: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "cgmbench",
        abstract: "Benchmarks: GEMM path vs raw sgemm, PhysioSeq2Seq training samples/s, peak RSS.")

    @Option(help: "OpenBLAS threads (the PyTorch anchor is one thread).")
    var threads = 1
    @Option(help: "Timed trials per measurement.")
    var trials = 5
    @Option(help: "Target seconds per trial.")
    var trialSeconds = 3.0
    @Option(help: "Python with PyTorch: runs ../shared/bench-reference/pytorch_models.py side by side.")
    var torchPython: String?
    @Option(help: "Path of the PyTorch reference script.")
    var torchScript = "../shared/bench-reference/pytorch_models.py"
    @Option(parsing: .upToNextOption,
            help: "Sections to run: gemm fastmath lstm seq2seq memory mamba stream tft ddp data gluformer import ssmcgm (default: all but ssmcgm).")
    var only: [String] = []
    @Option(help: "Mamba context lengths.")
    var mambaLengths: [Int] = [144, 288, 576]
    @Option(help: "Path of the PyTorch GluFormer reference script.")
    var gluformerTorchScript = "launch/bench/gluformer_torch.py"
    @Option(help: "Context lengths of the ssmcgm section (SSM-CGM and TFT at Table 4 sizes).")
    var ssmcgmLengths: [Int] = [288]
    @Option(help: "Data configs for the prepare benchmark.")
    var dataConfigs: [String] = ["configs/data-physio-seq2seq.yaml"]

    @Option(help: .hidden)
    var profileSteps = 0
    @Flag(help: "Release-build leak check for `make test`: RSS must not grow over 300 training steps.")
    var leakCheck = false

    func run() throws {
        BLAS.setThreads(threads)
        if leakCheck { return try checkForLeaks() }
        if profileSteps > 0 && only == ["tft"] {   // `--only tft --profile-steps N`: TFT steps for perf
            var bench = TFTBench()
            for _ in 0..<profileSteps { bench.step() }
            return
        }
        if profileSteps > 0 && only == ["ssmcgm"] {   // `--only ssmcgm --profile-steps N`: SSM-CGM steps for perf
            SSMCGMBench.profile(steps: profileSteps, length: ssmcgmLengths.first ?? 288)
            return
        }
        if profileSteps > 0 {   // a fixed amount of work for callgrind / perf
            var bench = Seq2SeqBench()
            for _ in 0..<profileSteps { bench.step() }
            return
        }
        let harness = Harness(trials: trials, trialSeconds: trialSeconds)
        print("cgmbench: \(threads) OpenBLAS thread(s), \(trials) trials of ~\(trialSeconds) s; median [min–max]; \(CPUInfo.summary)\n")
        let all = ["gemm", "fastmath", "lstm", "seq2seq", "memory", "mamba", "stream", "tft", "ddp", "data", "gluformer", "import"]
        let sections = Set(only.isEmpty ? all : only)
        if let unknown = sections.subtracting(all + ["ssmcgm"]).first {
            throw ValidationError("unknown section '\(unknown)'")
        }
        if sections.contains("gemm") {
            print(GEMMBench(harness: harness).run().render(), "\n")
        }
        if sections.contains("fastmath") { print(FastMathBench.run(harness: harness), "\n") }
        if sections.contains("lstm") { print(LSTMBench.run(harness: harness), "\n") }
        if sections.contains("seq2seq") { try seq2seqSection(harness) }
        if sections.contains("memory") { memorySection() }
        if sections.contains("mamba") {
            print(MambaBench.run(harness: harness, lengths: mambaLengths, threads: threads,
                                 torchPython: torchPython, torchScript: torchScript), "\n")
        }
        if sections.contains("stream") { print(StreamBench.run(harness: harness, lengths: mambaLengths), "\n") }
        if sections.contains("tft") { print(TFTBench.run(harness: harness, threads: threads), "\n") }
        if sections.contains("ssmcgm") {   // opt-in (slow): --only ssmcgm
            print(SSMCGMBench.run(harness: harness, lengths: ssmcgmLengths), "\n")
        }
        if sections.contains("ddp") { print(DDPBench.run(), "\n") }
        if sections.contains("gluformer") {
            print(GluFormerBench.run(harness: harness, threads: threads, torchPython: torchPython,
                                     torchScript: gluformerTorchScript), "\n")
        }
        if sections.contains("import") { print(try ImportBench.run(harness: harness), "\n") }
        if sections.contains("data") {
            guard let cgmtrain = DDPBench.locateCGMTrain() else { throw ValidationError("cgmtrain not built next to cgmbench") }
            print(try DataBench.run(cgmtrain: cgmtrain, configs: dataConfigs, log: { _ in }), "\n")
        }
    }

    func seq2seqSection(_ harness: Harness) throws {

        var bench = Seq2SeqBench()
        var table = Table(header: ["PhysioSeq2Seq training (B=64)", "samples/s", "GFLOP/s", "of 150 GFLOP/s peak"])
        var ours: [Double] = [], torch: [Double] = []
        for round in 0..<3 {   // alternate engine and PyTorch rounds so machine noise hits both alike
            ours += harness.measure { bench.step() }.ratesPerTrial.map { $0 * Double(Seq2SeqBench.batch) }
            if let python = torchPython, let t = try runTorch(python: python) { torch.append(t) }
            _ = round
        }
        let s = median(ours)
        table.rows.append(["CGMTrain engine, \(threads) thread(s)", "\(fmt(s, 0)) [\(fmt(ours.min()!, 0))–\(fmt(ours.max()!, 0))]",
                           fmt(s / 64 * Seq2SeqBench.gflopPerStep, 1), fmt(s / 64 * Seq2SeqBench.gflopPerStep / 150, 3)])
        let reference = torch.isEmpty ? 2715.0 : median(torch)
        let source = torch.isEmpty ? "PyTorch 2.13 anchor (../shared/anchors.md)" : "PyTorch, same run (\(torch.count) rounds)"
        table.rows.append([source, torch.isEmpty ? "2715" : "\(fmt(reference, 0)) [\(fmt(torch.min()!, 0))–\(fmt(torch.max()!, 0))]",
                           fmt(reference / 64 * Seq2SeqBench.gflopPerStep, 1), fmt(reference / 64 * Seq2SeqBench.gflopPerStep / 150, 3)])
        table.rows.append(["engine / PyTorch", fmt(s / reference, 2) + "×", "", ""])
        print(table.render(), "\n")
    }

    /// Peak RSS must not grow with the number of steps.
    func memorySection() {
        var memory = Bench_RSS()
        var fresh = Seq2SeqBench()
        for i in 1...1000 {
            fresh.step()
            if i == 100 { memory.after100 = (peakRSSMiB(), currentRSSMiB()) }
        }
        memory.after1000 = (peakRSSMiB(), currentRSSMiB())
        var rss = Table(header: ["memory", "peak RSS MiB", "current RSS MiB"])
        rss.rows.append(["after 100 steps", fmt(memory.after100.0, 1), fmt(memory.after100.1, 1)])
        rss.rows.append(["after 1,000 steps", fmt(memory.after1000.0, 1), fmt(memory.after1000.1, 1)])
        print(rss.render())
    }

    /// Optimized builds can leak where debug builds do not (a tuple passed to `withExtendedLifetime`
    /// leaked the LSTM's backward buffers under -wmo): so this runs on the release binary.
    func checkForLeaks() throws {
        var bench = Seq2SeqBench()
        for _ in 0..<20 { bench.step() }
        let before = currentRSSMiB()
        for _ in 0..<300 { bench.step() }
        let growth = currentRSSMiB() - before
        let verdict = growth < 16 ? "ok" : "FAILED"
        print("leak check (release, PhysioSeq2Seq B=64): RSS \(fmt(before, 1)) → \(fmt(before + growth, 1)) MiB over 300 steps: \(verdict)")
        if growth >= 16 { throw ExitCode.failure }
    }

    /// Runs the PyTorch reference once (one configuration per process) and returns its median samples/s.
    func runTorch(python: String) throws -> Double? {
        let p = Process()
        p.executableURL = URL(fileURLWithPath: python)
        p.arguments = [torchScript, "--model", "seq2seq", "--threads", "\(threads)", "--trials", "\(trials)",
                       "--trial-seconds", "\(trialSeconds)"]
        var env = ProcessInfo.processInfo.environment
        env["OMP_NUM_THREADS"] = "\(threads)"; env["MKL_NUM_THREADS"] = "\(threads)"
        p.environment = env
        let out = Pipe()
        p.standardOutput = out
        try p.run()
        let data = out.fileHandleForReading.readDataToEndOfFile()
        p.waitUntilExit()
        guard p.terminationStatus == 0,
              let json = try JSONSerialization.jsonObject(with: data) as? [String: Any],
              let rate = json["samples_per_s_median"] as? Double else {
            print("warning: PyTorch reference failed (exit \(p.terminationStatus))")
            return nil
        }
        return rate
    }
}

struct Bench_RSS {
    var after100 = (0.0, 0.0), after1000 = (0.0, 0.0)
}

CGMBench.main()
