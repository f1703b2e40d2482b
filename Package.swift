// swift-tools-version:5.9
import Foundation
import PackageDescription

// MARK: - System libraries (Debian: libopenmpi-dev, libopenblas-dev, libhdf5-dev; see launch/install-deps.sh)

let systemLibraries: [Target] = [
    .systemLibrary(name: "CMPI", pkgConfig: "ompi-c", providers: [.apt(["libopenmpi-dev"])]),
    .systemLibrary(name: "COpenBLAS", pkgConfig: "openblas", providers: [.apt(["libopenblas-dev"])]),
    .systemLibrary(name: "CHDF5", pkgConfig: "hdf5", providers: [.apt(["libhdf5-dev"])]),
]

// MARK: - Config: the one strict YAML reader (the only target that imports Yams)

let config: [Target] = [
    .target(name: "Config", dependencies: ["DelimitedText", .product(name: "Yams", package: "Yams")]),
]

// MARK: - Engine and layers

/// Release builds are tuned for the CPU that builds them (`-target-cpu native`, like `-march=native`). For one
/// binary shared across heterogeneous nodes set CGMTRAIN_TARGET_CPU (e.g. "haswell" for any AVX2 machine,
/// "x86-64" for any). Debug builds take `-target-cpu` only when CGMTRAIN_TARGET_CPU is set, so
/// `CGMTRAIN_TARGET_CPU=haswell swift test --scratch-path .build-avx2` runs the suite as an AVX2 build.
let requestedCPU = ProcessInfo.processInfo.environment["CGMTRAIN_TARGET_CPU"]
let targetCPUName = requestedCPU ?? "native"
let targetCPU: [String] = {
    #if arch(x86_64)
    return ["-target-cpu", targetCPUName]
    #else
    return []
    #endif
}()

/// The vector ISA of the target CPU, which picks the hand-written kernels' tile shapes (CGMTensor's
/// KernelISA.swift): "avx512" (32 × 512-bit registers) or "avx2" (16 × 256-bit; also the choice for older or
/// unknown targets). "native" reads the building machine's /proc/cpuinfo flags.
let targetISA: String = {
    #if arch(x86_64)
    let avx512CPUs: Set<String> = [
        "skylake-avx512", "cascadelake", "cooperlake", "cannonlake", "icelake-client", "icelake-server", "tigerlake",
        "rocketlake", "sapphirerapids", "emeraldrapids", "graniterapids", "graniterapids-d", "znver4", "znver5",
        "x86-64-v4", "knl", "knm",
    ]
    if targetCPUName != "native" { return avx512CPUs.contains(targetCPUName) ? "avx512" : "avx2" }
    let info = (try? String(contentsOfFile: "/proc/cpuinfo", encoding: .utf8)) ?? ""
    let flags = info.split(separator: "\n").first { $0.hasPrefix("flags") }.map { $0.split(separator: " ") } ?? []
    return flags.contains("avx512f") ? "avx512" : "avx2"
    #else
    return "avx2"
    #endif
}()

/// CGMTRAIN_FMA_KERNELS: the target CPU has hardware FMA, so kernels built on `addProduct` (the LSTM's blocked
/// recurrent product) are used; without it (debug builds without CGMTRAIN_TARGET_CPU have no `-target-cpu`,
/// or a pre-Haswell CGMTRAIN_TARGET_CPU) each lane would call fmaf, and those kernels fall back to OpenBLAS.
let fmaTarget: Bool = {
    #if arch(x86_64)
    return !["x86-64", "x86-64-v2", "generic", "core2", "nehalem", "westmere", "sandybridge", "ivybridge"].contains(targetCPUName)
    #else
    return true
    #endif
}()
/// The build-time ISA choice for every configuration; `-target-cpu` and FMA kernels for release builds, and
/// for debug builds when CGMTRAIN_TARGET_CPU names the target.
/// Debug builds without CGMTRAIN_TARGET_CPU compile for baseline x86-64 on every machine, so their kernels keep one
/// fixed layout (the 16-lane one) rather than the building machine's: their results are then the same bits on
/// every machine (the compatibility fixtures of TrainingTests record those bits).
let isaDefines: [SwiftSetting] =
    (targetISA == "avx512" ? [.define("CGMTRAIN_AVX512", .when(configuration: .release))] : [])
    + (targetISA == "avx512" || requestedCPU == nil ? [.define("CGMTRAIN_AVX512", .when(configuration: .debug))] : [])
let explicitDebugTarget: [SwiftSetting] = requestedCPU == nil ? [] :
    [.unsafeFlags(targetCPU, .when(configuration: .debug))]
    + (fmaTarget ? [.define("CGMTRAIN_FMA_KERNELS", .when(configuration: .debug))] : [])
let release: [SwiftSetting] = [.unsafeFlags(["-Ounchecked", "-wmo"] + targetCPU, .when(configuration: .release))]
    + (fmaTarget ? [.define("CGMTRAIN_FMA_KERNELS", .when(configuration: .release))] : []) + isaDefines
/// Numeric kernels are optimized in debug builds too (as PyTorch's are): unoptimized Swift loops are
/// ~50× slower, which would make the test suite and single-rank debugging crawl. Preconditions stay on.
let kernels: [SwiftSetting] = release + [.unsafeFlags(["-O"], .when(configuration: .debug))] + explicitDebugTarget

let engine: [Target] = [
    .target(name: "CGMTensor", dependencies: ["COpenBLAS"], swiftSettings: kernels),
    .target(name: "Layers", dependencies: ["CGMTensor"], swiftSettings: kernels),
    .target(name: "Optim", dependencies: ["CGMTensor", "Layers"], swiftSettings: kernels),
    .target(name: "Models", dependencies: [
        "CGMTensor", "Layers", "Optim", "CGMSchema", "Config",
    ], swiftSettings: kernels),
]

// MARK: - Data: physiology simulator, the window schema models read (no MPI, no HDF5), ingest, features, shards

let data: [Target] = [
    .target(name: "Physiology", swiftSettings: kernels),
    .target(name: "CGMSchema", swiftSettings: kernels),
    /// The CSV reader, number and timestamp parsing and `DataError`: no MPI, no HDF5.
    .target(name: "DelimitedText", swiftSettings: kernels),
    .target(name: "CGMData", dependencies: ["Physiology", "CGMSchema", "Config", "DelimitedText", "HDF5IO", "Distributed"],
            swiftSettings: kernels),
]

// MARK: - Import: device exports and research cohorts → the canonical CSV (a leaf: Foundation only)

let importers: [Target] = [
    .target(name: "CGMImport", dependencies: ["DelimitedText"], swiftSettings: kernels),
]

// MARK: - Systems: MPI and HDF5

let systems: [Target] = [
    .target(name: "Distributed", dependencies: ["CMPI"]),
    .target(name: "HDF5IO", dependencies: ["CHDF5"]),
]

// MARK: - Training: data parallelism, the trainer, evaluation, inference tools, sweeps

let training: [Target] = [
    .target(name: "Charts"),
    .target(name: "DataParallel", dependencies: [
        "CGMTensor", "Layers", "Optim", "CGMSchema", "Models", "CGMData", "Distributed",
    ], swiftSettings: kernels),
    .target(name: "Training", dependencies: [
        "CGMTensor", "Layers", "Optim", "Config", "CGMSchema", "Models", "CGMData", "Distributed", "HDF5IO", "DataParallel",
        "Charts", "DelimitedText",
    ], swiftSettings: kernels),
    .target(name: "Evaluation", dependencies: [
        "CGMTensor", "CGMSchema", "Models", "CGMData", "Distributed", "Charts",
    ], swiftSettings: kernels),
    .target(name: "Inference", dependencies: [
        "CGMTensor", "Layers", "CGMSchema", "Models", "CGMData", "Distributed", "HDF5IO", "Training", "Evaluation", "Charts",
    ], swiftSettings: kernels),
    .target(name: "Sweep", dependencies: [
        "CGMTensor", "Config", "CGMSchema", "Models", "CGMData", "Distributed", "DataParallel", "Training", "Evaluation",
    ], swiftSettings: kernels),
]

// MARK: - Executables

let executables: [Target] = [
    .executableTarget(name: "cgmtrain", dependencies: [
        "CGMTensor", "Layers", "Optim", "Models", "Distributed", "HDF5IO", "Physiology", "CGMData", "Training",
        "DataParallel", "Evaluation", "Inference", "Sweep", "Charts", "Config", "CGMSchema", "CGMImport",
        "DelimitedText",
        .product(name: "ArgumentParser", package: "swift-argument-parser"),
    ], swiftSettings: release),
    .executableTarget(name: "cgmbench", dependencies: [
        "COpenBLAS", "CGMTensor", "Layers", "Optim", "CGMSchema", "Models", "Physiology", "CGMImport", "DelimitedText",
        .product(name: "ArgumentParser", package: "swift-argument-parser"),
    ], swiftSettings: release),
]

// MARK: - Tests

let tests: [Target] = [
    .target(name: "_TestSupport", dependencies: ["CGMTensor", "Layers"], path: "Sources/_TestSupport"),
    .testTarget(name: "CGMTensorTests", dependencies: ["CGMTensor", "_TestSupport"],
                resources: [.copy("Fixtures")]),
    .testTarget(name: "LayersTests", dependencies: ["CGMTensor", "Layers", "Optim", "_TestSupport"], exclude: ["Fixtures"]),
    .testTarget(name: "OptimTests", dependencies: ["CGMTensor", "Layers", "Optim", "_TestSupport"],
                resources: [.copy("Fixtures")]),
    .testTarget(name: "ModelsTests", dependencies: ["CGMTensor", "Layers", "Optim", "CGMSchema", "Models", "_TestSupport"]),
    .testTarget(name: "PhysiologyTests", dependencies: ["Physiology"]),
    .testTarget(name: "CGMDataTests", dependencies: [
        "Config", "CGMSchema", "CGMData", "Physiology", "HDF5IO", "Distributed", "_TestSupport",
    ]),
    .testTarget(name: "TrainingTests", dependencies: [
        "Training", "DataParallel", "Evaluation", "Inference", "Sweep", "Charts", "Config", "Models", "CGMSchema", "CGMData",
        "Distributed", "HDF5IO", "CGMTensor", "Layers", "Optim", "Physiology", "DelimitedText", "_TestSupport",
    ], exclude: ["Fixtures"]),
    .testTarget(name: "CGMImportTests", dependencies: ["CGMImport", "CGMSchema", "CGMData", "DelimitedText", "_TestSupport"],
                resources: [.copy("Fixtures")]),
    .testTarget(name: "SystemLibrariesTests", dependencies: ["Distributed", "CHDF5", "HDF5IO", "CGMTensor", "_TestSupport"]),
]

// MARK: - Fuzzing (only when CGMTRAIN_FUZZ is set: `make fuzz`, Fuzz/run.sh)

/// libFuzzer targets, built with `swift build --sanitize=fuzzer --sanitize=address` into .build-fuzz. Each
/// defines LLVMFuzzerTestOneInput (libFuzzer supplies main); seed corpora are in Fuzz/<name>/corpus.
let fuzzers: [Target] = ProcessInfo.processInfo.environment["CGMTRAIN_FUZZ"] == nil ? [] : [
    .target(name: "FuzzSupport", path: "Fuzz/Support"),
] + [
    ("fuzz-csv", "CSV", ["CGMData", "DelimitedText"]), ("fuzz-config", "Config", ["Config", "CGMData"]),
    ("fuzz-manifest", "Manifest", ["CGMData"]), ("fuzz-checkpoint", "Checkpoint", ["Training"]),
    ("fuzz-import", "Import", ["CGMImport"]),
].map { name, folder, dependencies in
    .executableTarget(name: name, dependencies: (dependencies + ["FuzzSupport"]).map { .target(name: $0) },
                      path: "Fuzz/\(folder)", exclude: ["corpus"], swiftSettings: [.unsafeFlags(["-parse-as-library"])])
}

let package = Package(
    name: "CGMTrain",
    platforms: [.macOS(.v13)],
    products: [
        .executable(name: "cgmtrain", targets: ["cgmtrain"]),
        .executable(name: "cgmbench", targets: ["cgmbench"]),
    ],
    dependencies: [
        .package(url: "https://github.com/apple/swift-argument-parser", from: "1.5.0"),
        .package(url: "https://github.com/jpsim/Yams", from: "5.0.1"),
    ],
    targets: systemLibraries + config + engine + data + importers + systems + training + executables + tests + fuzzers
)
