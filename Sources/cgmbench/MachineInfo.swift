import CGMTensor
import COpenBLAS
import Foundation

/// What a benchmark ran on: the CPU's model and vector ISA, the ISA this build's kernels are tiled for
/// (`KernelISA`), OpenBLAS's kernel and the measured FMA peak every GFLOP/s figure is a fraction of.
struct MachineInfo {
    /// "model name" of /proc/cpuinfo.
    let cpuModel: String
    /// The CPU's flags (avx512f, avx2, fma, …).
    let cpuFlags: Set<String>
    /// OpenBLAS's kernel for this run (e.g. COOPERLAKE, HASWELL, ZEN).
    let openBLASCore: String
    /// One core's fp32 FMA peak in GFLOP/s (`PeakProbe`); 0 until measured.
    var peakGFLOPS = 0.0

    static func current() -> MachineInfo {
        let info = (try? String(contentsOfFile: "/proc/cpuinfo", encoding: .utf8)) ?? ""
        func field(_ name: String) -> String? {
            info.split(separator: "\n").first { $0.hasPrefix(name) }
                .flatMap { $0.split(separator: ":", maxSplits: 1).last }
                .map { $0.trimmingCharacters(in: .whitespaces) }
        }
        let flags = Set((field("flags") ?? "").split(separator: " ").map(String.init))
        let core = openblas_get_corename().map { String(cString: $0) } ?? "?"
        return MachineInfo(cpuModel: field("model name") ?? "unknown CPU", cpuFlags: flags, openBLASCore: core)
    }

    /// The CPU's widest vector ISA.
    var cpuISA: String {
        if cpuFlags.contains("avx512f") { return "AVX-512" }
        if cpuFlags.contains("avx2") && cpuFlags.contains("fma") { return "AVX2 + FMA" }
        return "SSE"
    }

    /// An AVX2 build run on an AVX-512 CPU: a stand-in for an AVX2 machine. OpenBLAS and PyTorch are then held
    /// to AVX2 too (`main.swift` restarts the process with OPENBLAS_CORETYPE=Haswell; `TorchReference`).
    var isAVX2Proxy: Bool { KernelISA.name == "AVX2" && cpuFlags.contains("avx512f") }

    /// "model, ISA, n cores" for one-line notes.
    var summary: String { "\(cpuModel), \(cpuISA), \(ProcessInfo.processInfo.activeProcessorCount) cores" }

    /// `value` GFLOP/s as a fraction of the measured peak.
    func ofPeak(_ gflops: Double) -> String { peakGFLOPS > 0 ? fmt(gflops / peakGFLOPS, 3) : "–" }

    /// The header every cgmbench run prints.
    func render(torch: String?) -> String {
        var lines = ["CPU: \(cpuModel), \(ProcessInfo.processInfo.activeProcessorCount) core(s); CPU ISA \(cpuISA)",
                     "build: kernels tiled for \(KernelISA.name) (\(KernelISA.registers) × \(KernelISA.lanes * 32)-bit registers, "
                         + "\(KernelISA.lanes) floats; LSTM recurrent tile \(RecurrentGEMM.Tile.build.rows) × "
                         + "\(RecurrentGEMM.Tile.build.columns)); OpenBLAS kernel \(openBLASCore)",
                     "measured FMA peak: \(fmt(peakGFLOPS, 1)) GFLOP/s per core (fp32, \(KernelISA.lanes)-lane FMA, "
                         + "12 independent chains); every \"of peak\" below is a fraction of this"]
        if isAVX2Proxy {
            lines.append("AVX2 proxy: an AVX2 build on an AVX-512 CPU; OpenBLAS (OPENBLAS_CORETYPE=Haswell) and PyTorch "
                         + "(ATEN_CPU_CAPABILITY=avx2, ONEDNN_MAX_CPU_ISA=AVX2) are held to AVX2 as well")
        }
        if let torch { lines.append("PyTorch: \(torch)") }
        let load = (try? String(contentsOfFile: "/proc/loadavg", encoding: .utf8))?.split(separator: " ").prefix(3)
        if let load { lines.append("load average at start: \(load.joined(separator: " "))") }
        return lines.joined(separator: "\n")
    }

    /// On an AVX2 proxy, restarts this process with OPENBLAS_CORETYPE=Haswell (OpenBLAS picks its kernel when
    /// it is loaded, before `main`), unless the variable is already set.
    static func restrictOpenBLASForProxy() {
        let info = MachineInfo.current()
        guard info.isAVX2Proxy, ProcessInfo.processInfo.environment["OPENBLAS_CORETYPE"] == nil else { return }
        setenv("OPENBLAS_CORETYPE", "Haswell", 1)
        execv("/proc/self/exe", CommandLine.unsafeArgv)
        print("warning: could not restart with OPENBLAS_CORETYPE=Haswell; OpenBLAS keeps \(info.openBLASCore)")
    }
}
