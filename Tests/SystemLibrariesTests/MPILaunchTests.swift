// Real MPI: runs `mpirun -np N --oversubscribe cgmtrain check-system` on the built binary and checks that
// every rank reported ok (all-reduce, broadcast, all-gather, non-blocking all-reduce, split, GEMM, HDF5)
// and the job exited 0; and that a failure on one rank makes the job exit non-zero with a clear message.
// mpirun is killed after 60 s so a hang fails the test instead of blocking CI.

import Foundation
import XCTest

final class MPILaunchTests: XCTestCase {
    static let timeout: TimeInterval = 60

    /// The built `cgmtrain` executable: $CGMTRAIN_BINARY, next to the test bundle, or <package>/.build/debug.
    func cgmtrainBinary() throws -> URL {
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
        let packageRoot = URL(fileURLWithPath: #filePath)
            .deletingLastPathComponent().deletingLastPathComponent().deletingLastPathComponent()
        candidates.append(packageRoot.appendingPathComponent(".build/debug/cgmtrain"))
        if let found = candidates.first(where: { FileManager.default.isExecutableFile(atPath: $0.path) }) {
            return found
        }
        XCTFail("cgmtrain binary not found (looked at \(candidates.map(\.path))); run `swift build` first")
        throw XCTSkip("cgmtrain binary missing")
    }

    func mpirunPath() throws -> String {
        let path = (ProcessInfo.processInfo.environment["PATH"] ?? "/usr/bin:/usr/local/bin")
            .split(separator: ":").map { "\($0)/mpirun" }
        guard let found = path.first(where: { FileManager.default.isExecutableFile(atPath: $0) }) else {
            XCTFail("mpirun not found on PATH; install Open MPI (libopenmpi-dev / openmpi-bin)")
            throw XCTSkip("mpirun missing")
        }
        return found
    }

    struct Outcome {
        let status: Int32
        let stdout: String
        let stderr: String
        let timedOut: Bool
    }

    /// Runs mpirun with a hard timeout; output goes to files so full pipes can never block the job.
    func mpirun(np: Int, _ args: [String]) throws -> Outcome {
        let binary = try cgmtrainBinary()
        let proc = Process()
        proc.executableURL = URL(fileURLWithPath: try mpirunPath())
        proc.arguments = ["--allow-run-as-root", "--oversubscribe", "-np", "\(np)", binary.path] + args
        var env = ProcessInfo.processInfo.environment
        env["OMPI_ALLOW_RUN_AS_ROOT"] = "1"
        env["OMPI_ALLOW_RUN_AS_ROOT_CONFIRM"] = "1"
        env["OMPI_MCA_rmaps_base_oversubscribe"] = "1"
        env["OPENBLAS_NUM_THREADS"] = "1"
        proc.environment = env

        let tmp = FileManager.default.temporaryDirectory
            .appendingPathComponent("mpirun-test-\(getpid())-\(UUID().uuidString.prefix(8))")
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
        if done.wait(timeout: .now() + Self.timeout) == .timedOut {
            timedOut = true
            proc.terminate()                                   // SIGTERM: mpirun tears its ranks down
            if done.wait(timeout: .now() + 5) == .timedOut {
                kill(proc.processIdentifier, SIGKILL)
                _ = done.wait(timeout: .now() + 5)
            }
        }
        try out.close()
        try err.close()
        return Outcome(status: proc.isRunning ? -1 : proc.terminationStatus,
                       stdout: (try? String(contentsOf: outURL, encoding: .utf8)) ?? "",
                       stderr: (try? String(contentsOf: errURL, encoding: .utf8)) ?? "",
                       timedOut: timedOut)
    }

    func assertAllRanksOK(np: Int, file: StaticString = #filePath, line: UInt = #line) throws {
        let r = try mpirun(np: np, ["check-system"])
        let log = "stdout:\n\(r.stdout)\nstderr:\n\(r.stderr)"
        XCTAssertFalse(r.timedOut, "mpirun -np \(np) hung for \(Self.timeout) s\n\(log)", file: file, line: line)
        XCTAssertEqual(r.status, 0, "mpirun -np \(np) exit status\n\(log)", file: file, line: line)
        let lines = r.stdout.split(separator: "\n").map(String.init)
        if !(lines + r.stderr.split(separator: "\n").map(String.init)).contains(where: { $0.hasPrefix("rank ") }) {
            XCTFail("cgmtrain did not run check-system: is CheckSystemCommand registered as a subcommand in "
                    + "Sources/cgmtrain/main.swift and the binary rebuilt (`swift build`)?\n\(log)", file: file, line: line)
            return
        }
        let expectedSum = np * (np + 1) / 2
        for rank in 0..<np {
            let prefix = "rank \(rank)/\(np): ok "
            let mine = lines.filter { $0.hasPrefix(prefix) }
            XCTAssertEqual(mine.count, 1, "rank \(rank) did not report ok exactly once\n\(log)", file: file, line: line)
            guard let l = mine.first else { continue }
            for needle in ["allreduce=\(expectedSum)", "collectives=ok", "gemm=ok"] {
                XCTAssertTrue(l.contains(needle), "rank \(rank) line lacks \(needle): \(l)", file: file, line: line)
            }
            XCTAssertEqual(l.contains("hdf5=ok"), rank == 0, "only rank 0 runs the HDF5 check: \(l)",
                           file: file, line: line)
        }
        XCTAssertFalse(r.stdout.contains("FAILED") || r.stderr.contains("FAILED"), log, file: file, line: line)
    }

    func testCheckSystemTwoRanks() throws {
        try assertAllRanksOK(np: 2)
    }

    func testCheckSystemFourRanksOversubscribed() throws {
        try assertAllRanksOK(np: 4)
    }

    func testFailureOnOneRankFailsTheJob() throws {
        let r = try mpirun(np: 2, ["check-system", "--inject-failure-rank", "1"])
        let log = "stdout:\n\(r.stdout)\nstderr:\n\(r.stderr)"
        XCTAssertFalse(r.timedOut, log)
        XCTAssertNotEqual(r.status, 0, log)
        XCTAssertTrue(r.stdout.contains("rank 0/2: ok "), log)
        XCTAssertTrue(r.stderr.contains("rank 1/2: FAILED: injected failure"), log)
        XCTAssertTrue(r.stderr.contains("check-system: 1 of 2 rank(s) failed"), log)
    }
}
