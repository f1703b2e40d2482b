// SingleProcessCommunicator: size 1, collectives are identities, argument checks match the MPI version.

import Distributed
import XCTest

final class SingleProcessCommunicatorTests: XCTestCase {
    func testRankSizeAndLocal() {
        let c = SingleProcessCommunicator()
        XCTAssertEqual(c.rank, 0)
        XCTAssertEqual(c.size, 1)
        XCTAssertEqual(c.localRank, 0)
        XCTAssertEqual(c.localSize, 1)
        XCTAssertTrue(c.isRoot)
    }

    func testAllReduceIsIdentityForEveryTypeAndOp() throws {
        let c: any Communicator = SingleProcessCommunicator()
        var f: [Float] = [1.5, -2, 3]
        try f.withUnsafeMutableBufferPointer { try c.allReduceSum($0.baseAddress!, count: 3) }
        XCTAssertEqual(f, [1.5, -2, 3])
        var d: [Double] = [.pi, -1]
        try c.allReduce(&d, op: .max)
        XCTAssertEqual(d, [.pi, -1])
        var i: [Int64] = [.max, .min]
        try i.withUnsafeMutableBufferPointer { try c.allReduceSum($0.baseAddress!, count: 2) }
        XCTAssertEqual(i, [.max, .min])
        XCTAssertEqual(try c.allReduce(Int64(7)), 7)
        XCTAssertEqual(try c.allReduce(Float(-3), op: .min), -3)
    }

    func testNonBlockingAllReduceCompletesImmediately() throws {
        let c: any Communicator = SingleProcessCommunicator()
        var x: [Float] = [4, 5]
        try x.withUnsafeMutableBufferPointer { buf in
            let r = try c.startAllReduceSum(buf.baseAddress!, count: 2)
            XCTAssertTrue(r.isComplete)
            try r.wait()
            try r.wait()
        }
        XCTAssertEqual(x, [4, 5])
    }

    func testBroadcastFromRootZeroAndRejectsOtherRoots() throws {
        let c: any Communicator = SingleProcessCommunicator()
        var x: [Float] = [1, 2]
        try c.broadcast(&x, root: 0)
        XCTAssertEqual(x, [1, 2])
        var raw: (Int32, Double) = (3, 4.5)
        try withUnsafeMutableBytes(of: &raw) { try c.broadcast(bytes: $0.baseAddress!, count: $0.count, root: 0) }
        XCTAssertTrue(raw == (3, 4.5))
        XCTAssertEqual(try c.broadcast("hello ✓", root: 0), "hello ✓")
        XCTAssertThrowsError(try c.broadcast(&x, root: 1)) { error in
            let e = error as! MPIError
            XCTAssertEqual(e.rank, 0)
            XCTAssertNil(e.code)
            XCTAssertTrue(e.description.contains("root 1 out of range for size 1"), e.description)
        }
    }

    func testAllGatherCopies() throws {
        let c: any Communicator = SingleProcessCommunicator()
        XCTAssertEqual(try c.allGather([Float(1), 2, 3]), [1, 2, 3])
        XCTAssertEqual(try c.allGather([Int64(-9)]), [-9])
        XCTAssertEqual(try c.allGather([Float]()), [])
        let send: [Float] = [7, 8]
        var recv: [Float] = [0, 0]
        try send.withUnsafeBufferPointer { s in
            try recv.withUnsafeMutableBufferPointer { try c.allGather(s.baseAddress!, count: 2, into: $0.baseAddress!) }
        }
        XCTAssertEqual(recv, [7, 8])
    }

    func testSplitBarrierShutdownAndNegativeCount() throws {
        let c: any Communicator = SingleProcessCommunicator()
        let sub = try c.split(color: 3, key: 0)
        XCTAssertEqual(sub.size, 1)
        XCTAssertEqual(sub.rank, 0)
        XCTAssertThrowsError(try c.split(color: -1, key: 0))
        try c.barrier()
        var x: Float = 1
        XCTAssertThrowsError(try c.allReduceSum(&x, count: -1)) {
            XCTAssertTrue("\($0)".contains("negative count"), "\($0)")
        }
        try c.shutdown()
        try c.shutdown()
    }

    func testDetectWithoutMPILauncherIsSingleProcess() throws {
        if Communicators.isLaunchedByMPI { throw XCTSkip("test process itself runs under mpirun") }
        XCTAssertTrue(try Communicators.detect() is SingleProcessCommunicator)
    }

    func testMPIErrorDescriptionNamesCallRankAndMessage() {
        let e = MPIError(call: "MPI_Allreduce", rank: 3, code: 15, message: "MPI_ERR_TRUNCATE: message truncated")
        XCTAssertEqual(e.description,
                       "MPI_Allreduce failed on rank 3: MPI_ERR_TRUNCATE: message truncated (MPI error code 15)")
    }
}
