// Real MPI: runs `mpirun -np N --oversubscribe cgmtrain check-system` on the built binary and checks that
// every rank reported ok (all-reduce, broadcast, all-gather, non-blocking all-reduce, split, GEMM, HDF5)
// and the job exited 0; and that a failure on one rank makes the job exit non-zero with a clear message.
// mpirun is killed after 60 s so a hang fails the test instead of blocking CI.

import Foundation
import XCTest
import _TestSupport

final class MPILaunchTests: XCTestCase {
    static let timeout: TimeInterval = 60

    typealias Outcome = LaunchOutcome

    /// `mpirun -np N cgmtrain ARGS` with a hard timeout.
    func mpirun(np: Int, _ args: [String]) throws -> Outcome {
        try CGMTrainLauncher.run(args, np: np, timeout: Self.timeout)
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
