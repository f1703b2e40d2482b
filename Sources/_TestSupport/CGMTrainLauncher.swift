import Foundation
import XCTest

/// How a launched command ended, with its captured output.
public struct LaunchOutcome {
    public let status: Int32
    public let stdout: String
    public let stderr: String
    public let timedOut: Bool
    public var log: String { "exit \(status)\(timedOut ? " (timed out)" : "")\nstdout:\n\(stdout)\nstderr:\n\(stderr)" }
}

/// Runs the built `cgmtrain` alone or under real `mpirun`, for integration tests: every launch has a hard
/// timeout (SIGTERM, then SIGKILL) so a hang fails the test instead of blocking CI, and output goes to
/// files so a full pipe can never stall the job.
public enum CGMTrainLauncher {
    /// The built `cgmtrain`: $CGMTRAIN_BINARY, next to the test bundle, or <package>/.build/debug.
    public static func binary(file: StaticString = #filePath, line: UInt = #line) throws -> URL {
        var candidates: [URL] = []
        if let override = ProcessInfo.processInfo.environment["CGMTRAIN_BINARY"] {
            candidates.append(URL(fileURLWithPath: override))
        }
        let bundle = Bundle.main.bundleURL
        candidates.append(bundle.appendingPathComponent("cgmtrain"))
        candidates.append(bundle.deletingLastPathComponent().appendingPathComponent("cgmtrain"))
        for b in Bundle.allBundles where b.bundleURL.pathExtension == "xctest" {
            candidates.append(b.bundleURL.deletingLastPathComponent().appendingPathComponent("cgmtrain"))
        }
        let packageRoot = URL(fileURLWithPath: #filePath)   // Sources/_TestSupport/ → the package
            .deletingLastPathComponent().deletingLastPathComponent().deletingLastPathComponent()
        candidates.append(packageRoot.appendingPathComponent(".build/debug/cgmtrain"))
        if let found = candidates.first(where: { FileManager.default.isExecutableFile(atPath: $0.path) }) {
            return found
        }
        XCTFail("cgmtrain binary not found (looked at \(candidates.map(\.path))); run `swift build` first",
                file: file, line: line)
        throw XCTSkip("cgmtrain binary missing")
    }

    /// `mpirun` on PATH.
    public static func mpirun(file: StaticString = #filePath, line: UInt = #line) throws -> String {
        let path = (ProcessInfo.processInfo.environment["PATH"] ?? "/usr/bin:/usr/local/bin")
            .split(separator: ":").map { "\($0)/mpirun" }
        guard let found = path.first(where: { FileManager.default.isExecutableFile(atPath: $0) }) else {
            XCTFail("mpirun not found on PATH; install Open MPI (libopenmpi-dev / openmpi-bin)", file: file, line: line)
            throw XCTSkip("mpirun missing")
        }
        return found
    }

    /// The launch environment: Open MPI may run as root and oversubscribe; one BLAS thread per rank.
    public static var environment: [String: String] {
        var env = ProcessInfo.processInfo.environment
        env["OMPI_ALLOW_RUN_AS_ROOT"] = "1"
        env["OMPI_ALLOW_RUN_AS_ROOT_CONFIRM"] = "1"
        env["OMPI_MCA_rmaps_base_oversubscribe"] = "1"
        env["OPENBLAS_NUM_THREADS"] = "1"
        return env
    }

    /// `cgmtrain ARGS` alone (`np` nil) or under `mpirun -np N --oversubscribe`, killed after `timeout`.
    public static func run(_ args: [String], np: Int? = nil, timeout: TimeInterval,
                           file: StaticString = #filePath, line: UInt = #line) throws -> LaunchOutcome {
        let binary = try binary(file: file, line: line)
        let proc = Process()
        if let np {
            proc.executableURL = URL(fileURLWithPath: try mpirun(file: file, line: line))
            proc.arguments = ["--allow-run-as-root", "--oversubscribe", "-np", "\(np)", binary.path] + args
        } else {
            proc.executableURL = binary
            proc.arguments = args
        }
        proc.environment = environment
        let tmp = FileManager.default.temporaryDirectory
            .appendingPathComponent("cgmtrain-launch-\(getpid())-\(UUID().uuidString.prefix(8))")
        try FileManager.default.createDirectory(at: tmp, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(at: tmp) }
        let outURL = tmp.appendingPathComponent("out"), errURL = tmp.appendingPathComponent("err")
        _ = FileManager.default.createFile(atPath: outURL.path, contents: nil)
        _ = FileManager.default.createFile(atPath: errURL.path, contents: nil)
        let out = try FileHandle(forWritingTo: outURL), err = try FileHandle(forWritingTo: errURL)
        proc.standardOutput = out
        proc.standardError = err
        proc.standardInput = FileHandle.nullDevice
        let done = DispatchSemaphore(value: 0)
        proc.terminationHandler = { _ in done.signal() }
        try proc.run()
        var timedOut = false
        if done.wait(timeout: .now() + timeout) == .timedOut {
            timedOut = true
            proc.terminate()                                   // SIGTERM: mpirun tears its ranks down
            if done.wait(timeout: .now() + 5) == .timedOut {
                kill(proc.processIdentifier, SIGKILL)
                _ = done.wait(timeout: .now() + 5)
            }
        }
        try out.close()
        try err.close()
        return LaunchOutcome(status: proc.isRunning ? -1 : proc.terminationStatus,
                             stdout: (try? String(contentsOf: outURL, encoding: .utf8)) ?? "",
                             stderr: (try? String(contentsOf: errURL, encoding: .utf8)) ?? "",
                             timedOut: timedOut)
    }
}
