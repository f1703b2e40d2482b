import ArgumentParser
import CGMTensor
import Foundation

/// `cgmbench`: the engine's speed, printed as tables. Build with `swift build -c release`.
struct CGMBench: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "cgmbench",
        abstract: "Benchmarks: the models' training speed side by side with PyTorch, kernels against OpenBLAS, peak RSS; "
            + "CPU, ISA and the measured FMA peak every GFLOP/s is a fraction of.")

    @Option(help: "OpenBLAS threads (the PyTorch anchor is one thread).")
    var threads = 1
    @Option(help: "Timed trials per measurement.")
    var trials = 5
    @Option(help: "Target seconds per trial.")
    var trialSeconds = 3.0
    @Option(help: "Python with PyTorch (and pytorch-forecasting): runs the reference script side by side, alternating.")
    var torchPython: String?
    @Option(help: "Alternating rounds of engine trials and one PyTorch reference run, per model row.")
    var rounds = 3
    @Option(help: "Path of the PyTorch reference script.")
    var torchScript = "../shared/bench-reference/pytorch_models.py"
    @Option(parsing: .upToNextOption,
            help: ArgumentHelp("Sections to run: gemm kernels fastmath lstm seq2seq memory mamba stream tft ddp data gluformer "
                + "import ssmcgm (default: all but ssmcgm)."))
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
        if profileSteps > 0 && only == ["mamba"] {   // `--only mamba --profile-steps N`: Mamba-2 steps for perf
            MambaBench.profile(steps: profileSteps, length: mambaLengths.first ?? 288)
            return
        }
        if profileSteps > 0 {   // a fixed amount of work for callgrind / perf
            var bench = Seq2SeqBench()
            for _ in 0..<profileSteps { bench.step() }
            return
        }
        let harness = Harness(trials: trials, trialSeconds: trialSeconds)
        var machine = MachineInfo.current()
        machine.peakGFLOPS = PeakProbe.measure()
        let torch = torchPython.map {
            TorchReference(python: $0, threads: threads, trials: trials, trialSeconds: trialSeconds, machine: machine)
        }
        print(machine.render(torch: torch.map { $0.capability() ?? "\($0.python) (version not readable)" }))
        print("cgmbench: \(threads) OpenBLAS thread(s), \(trials) trials of ~\(trialSeconds) s, \(rounds) alternating "
              + "rounds with PyTorch; median [min–max] of the trials\n")
        let all = ["gemm", "kernels", "fastmath", "lstm", "seq2seq", "memory", "mamba", "stream", "tft", "ddp", "data",
                   "gluformer", "import"]
        let sections = Set(only.isEmpty ? all : only)
        if let unknown = sections.subtracting(all + ["ssmcgm"]).first {
            throw ValidationError("unknown section '\(unknown)'")
        }
        if sections.contains("gemm") {
            print(GEMMBench(harness: harness, machine: machine).run().render(), "\n")
        }
        if sections.contains("kernels") { print(KernelBench(harness: harness, machine: machine).run(), "\n") }
        if sections.contains("seq2seq") {
            print(Seq2SeqBench.run(harness: harness, rounds: rounds, threads: threads, machine: machine, torch: torch,
                                   script: torchScript), "\n")
        }
        if sections.contains("fastmath") { print(FastMathBench.run(harness: harness), "\n") }
        if sections.contains("lstm") { print(LSTMBench.run(harness: harness), "\n") }
        if sections.contains("memory") { memorySection() }
        if sections.contains("mamba") {
            print(MambaBench.run(harness: harness, rounds: rounds, lengths: mambaLengths, machine: machine, torch: torch,
                                 script: torchScript), "\n")
        }
        if sections.contains("stream") { print(StreamBench.run(harness: harness, lengths: mambaLengths), "\n") }
        if sections.contains("tft") {
            print(TFTBench.run(harness: harness, rounds: rounds, threads: threads, machine: machine, torch: torch,
                               script: torchScript), "\n")
        }
        if sections.contains("ssmcgm") {   // opt-in (slow): --only ssmcgm
            print(SSMCGMBench.run(harness: harness, rounds: rounds, lengths: ssmcgmLengths, torch: torch, script: torchScript), "\n")
        }
        if sections.contains("ddp") { print(DDPBench.run(), "\n") }
        if sections.contains("gluformer") {
            print(GluFormerBench.run(harness: harness, threads: threads, torch: torch, torchScript: gluformerTorchScript), "\n")
        }
        if sections.contains("import") { print(try ImportBench.run(harness: harness), "\n") }
        if sections.contains("data") {
            guard let cgmtrain = DDPBench.locateCGMTrain() else { throw ValidationError("cgmtrain not built next to cgmbench") }
            print(try DataBench.run(cgmtrain: cgmtrain, configs: dataConfigs, log: { _ in }), "\n")
        }
        let load = (try? String(contentsOfFile: "/proc/loadavg", encoding: .utf8))?.split(separator: " ").prefix(3)
        print("load average at end: \(load?.joined(separator: " ") ?? "?")")
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
}

struct Bench_RSS {
    var after100 = (0.0, 0.0), after1000 = (0.0, 0.0)
}

MachineInfo.restrictOpenBLASForProxy()
CGMBench.main()
