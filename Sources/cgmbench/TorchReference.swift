import Foundation

/// The PyTorch side of a side-by-side measurement: runs a reference script (one configuration per process, so
/// its peak RSS is that configuration's) with `threads` threads and the harness's trial plan, and reads the
/// JSON record it prints last. On an AVX2 proxy run (an AVX2 build on an AVX-512 CPU, see `MachineInfo`)
/// PyTorch is held to AVX2 as well: ATen's kernels (ATEN_CPU_CAPABILITY=avx2), oneDNN's (ONEDNN_MAX_CPU_ISA=AVX2)
/// and OpenBLAS's (OPENBLAS_CORETYPE=Haswell, inherited).
struct TorchReference {
    /// A Python with torch (and pytorch-forecasting for the TFT).
    var python: String
    var threads: Int
    var trials: Int
    var trialSeconds: Double
    var machine: MachineInfo

    /// Median samples/s, the per-trial rates and the process's peak RSS (MiB) of one run.
    struct Run {
        var rate: Double, trials: [Double], rss: Double
    }

    /// The environment of a reference process.
    var environment: [String: String] {
        var env = ProcessInfo.processInfo.environment
        env["OMP_NUM_THREADS"] = "\(threads)"; env["MKL_NUM_THREADS"] = "\(threads)"
        if machine.isAVX2Proxy {
            env["ATEN_CPU_CAPABILITY"] = "avx2"
            env["ONEDNN_MAX_CPU_ISA"] = "AVX2"
        }
        return env
    }

    /// Runs a script that reports samples/s (`bench-reference/pytorch_models.py`) with `arguments`.
    func run(script: String, _ arguments: [String]) -> Run? {
        guard let json = record(script: script, arguments),
              let rate = json["samples_per_s_median"] as? Double else { return nil }
        let trials = (json["samples_per_s_trials"] as? [Double]) ?? [rate]
        return Run(rate: rate, trials: trials, rss: (json["peak_rss_mib"] as? Double) ?? 0)
    }

    /// Runs `script` with `arguments` (plus threads and the trial plan) and returns the JSON object on the last
    /// line of its output; nil (with a warning) if it fails.
    func record(script: String, _ arguments: [String]) -> [String: Any]? {
        let p = Process()
        p.executableURL = URL(fileURLWithPath: python)
        p.arguments = [script] + arguments + ["--threads", "\(threads)", "--trials", "\(trials)",
                                              "--trial-seconds", "\(trialSeconds)"]
        p.environment = environment
        let out = Pipe()
        p.standardOutput = out
        p.standardError = FileHandle.nullDevice
        guard (try? p.run()) != nil else {
            print("warning: could not start \(python) \(script)")
            return nil
        }
        let data = out.fileHandleForReading.readDataToEndOfFile()
        p.waitUntilExit()
        guard p.terminationStatus == 0,
              let line = String(decoding: data, as: UTF8.self).split(separator: "\n").last,
              let json = try? JSONSerialization.jsonObject(with: Data(line.utf8)) as? [String: Any] else {
            print("warning: PyTorch reference \(script) \(arguments.joined(separator: " ")) failed (exit \(p.terminationStatus))")
            return nil
        }
        return json
    }

    /// torch's CPU capability as this environment sets it (e.g. "AVX512", "AVX2"), for the header.
    func capability() -> String? {
        let p = Process()
        p.executableURL = URL(fileURLWithPath: python)
        p.arguments = ["-c", "import torch; print(torch.__version__, torch.backends.cpu.get_cpu_capability())"]
        p.environment = environment
        let out = Pipe()
        p.standardOutput = out
        p.standardError = FileHandle.nullDevice
        guard (try? p.run()) != nil else { return nil }
        let data = out.fileHandleForReading.readDataToEndOfFile()
        p.waitUntilExit()
        guard p.terminationStatus == 0 else { return nil }
        return String(decoding: data, as: UTF8.self).trimmingCharacters(in: .whitespacesAndNewlines)
    }
}
