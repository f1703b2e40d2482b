// `cgmtrain check-system`: smoke test of the system libraries on every rank of an mpirun job (or alone).
//   every rank : all-reduce of rank+1 (expects size(size+1)/2), Double/Int64 all-reduces, broadcast
//                (Float, raw bytes, String), all-gather (Float, Int64), non-blocking all-reduce,
//                split into even/odd sub-communicators, barrier; one cblas_sgemm vs a loop
//   rank 0     : HDF5 write (chunked + gzip, attributes) to a temp dir, re-read, compare
// Prints "rank r/size: ok ..." per rank; on failure prints "rank r/size: FAILED: ..." and exits non-zero.

import ArgumentParser
import CGMTensor
import Distributed
import Foundation
import HDF5IO

/// Verifies MPI, OpenBLAS and HDF5 on every rank.
struct CheckSystemCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "check-system",
        abstract: "Verify MPI, OpenBLAS and HDF5: rank/size, an all-reduce, a GEMM, an HDF5 round trip")

    /// Test hook: this rank reports a failure (to check that failures propagate to the exit code).
    @Option(name: .customLong("inject-failure-rank"), help: .hidden)
    var injectFailureRank: Int?

    /// Failure raised by one of the checks.
    struct CheckFailure: Error, CustomStringConvertible {
        let description: String
    }

    func run() throws {
        let comm: any Communicator
        do {
            comm = try Communicators.detect()
        } catch {
            FileHandle.standardError.write(Data("check-system: cannot start the communicator: \(error)\n".utf8))
            throw ExitCode(2)
        }
        let tag = "rank \(comm.rank)/\(comm.size)"
        var notes: [String] = []
        var failures: [String] = []

        // Collective checks: an MPI error here may leave other ranks waiting, so abort the whole job.
        do {
            notes.append(try Self.checkCollectives(comm))
        } catch {
            Self.report("\(tag): FAILED: \(error)", toError: true)
            comm.abort(code: 3)
        }

        // Local checks: record failures, keep going so every rank reaches the final agreement.
        do { notes.append(try Self.checkGEMM()) } catch { failures.append("gemm: \(error)") }
        if comm.rank == 0 {
            do { notes.append(try Self.checkHDF5()) } catch { failures.append("hdf5: \(error)") }
            if comm.size > 1 {
                let mpi = MPICommunicator.libraryVersion.split(separator: ",").first.map(String.init) ?? "?"
                notes.append("mpi=\"\(mpi)\"")
            }
        }
        if injectFailureRank == comm.rank { failures.append("injected failure (--inject-failure-rank)") }

        // Every rank learns how many ranks failed, so all exit with the same status.
        let failedRanks: Int64
        do {
            failedRanks = try comm.allReduce(Int64(failures.isEmpty ? 0 : 1), op: .sum)
        } catch {
            Self.report("\(tag): FAILED: agreeing on the result: \(error)", toError: true)
            comm.abort(code: 3)
        }
        if failures.isEmpty {
            Self.report("\(tag): ok " + notes.joined(separator: " "), toError: false)
        } else {
            Self.report("\(tag): FAILED: " + failures.joined(separator: "; "), toError: true)
        }
        try? comm.shutdown()
        if failedRanks > 0 {
            if comm.rank == 0 {
                Self.report("check-system: \(failedRanks) of \(comm.size) rank(s) failed", toError: true)
            }
            throw ExitCode(1)
        }
    }

    /// Writes one whole line at once so lines of different ranks do not interleave.
    static func report(_ line: String, toError: Bool) {
        let data = Data((line + "\n").utf8)
        (toError ? FileHandle.standardError : FileHandle.standardOutput).write(data)
    }

    static func expect(_ condition: Bool, _ message: @autoclosure () -> String) throws {
        if !condition { throw CheckFailure(description: message()) }
    }

    // MARK: MPI

    static func checkCollectives(_ comm: any Communicator) throws -> String {
        let r = comm.rank, n = comm.size

        // Float all-reduce of rank+1 (exact in Float for any realistic size).
        var x: [Float] = [Float(r + 1), Float(2 * (r + 1))]
        try comm.allReduce(&x)
        let expected = Float(n * (n + 1) / 2)
        try expect(x == [expected, 2 * expected], "all-reduce(rank+1) gave \(x), expected \(expected)")

        // Double and Int64 sums, Float max/min.
        let d = try comm.allReduce(Double(r) + 0.5)
        try expect(d == Double(n * (n - 1)) / 2 + 0.5 * Double(n), "Double all-reduce gave \(d)")
        let big = try comm.allReduce(Int64(1) << 40 + Int64(r))
        try expect(big == (Int64(1) << 40) * Int64(n) + Int64(n * (n - 1) / 2), "Int64 all-reduce gave \(big)")
        let mx = try comm.allReduce(Float(r), op: .max), mn = try comm.allReduce(Float(r), op: .min)
        try expect(mx == Float(n - 1) && mn == 0, "max/min all-reduce gave \(mx)/\(mn)")

        // Broadcast from the last rank: Float buffer, raw bytes, String.
        let root = n - 1
        var b: [Float] = r == root ? [1.5, -2, 42] : [0, 0, 0]
        try comm.broadcast(&b, root: root)
        try expect(b == [1.5, -2, 42], "Float broadcast gave \(b)")
        var raw: (Int32, Double) = r == root ? (7, 3.25) : (0, 0)
        try withUnsafeMutableBytes(of: &raw) { try comm.broadcast(bytes: $0.baseAddress!, count: $0.count, root: root) }
        try expect(raw.0 == 7 && raw.1 == 3.25, "byte broadcast gave \(raw)")
        let s = try comm.broadcast(r == root ? "config ✓ from \(root)" : "", root: root)
        try expect(s == "config ✓ from \(root)", "String broadcast gave '\(s)'")

        // All-gather: rank-major.
        let gf = try comm.allGather([Float(r), Float(10 * r)])
        try expect(gf == (0..<n).flatMap { [Float($0), Float(10 * $0)] }, "Float all-gather gave \(gf)")
        let gi = try comm.allGather([Int64(r) - 5])
        try expect(gi == (0..<n).map { Int64($0) - 5 }, "Int64 all-gather gave \(gi)")

        // Non-blocking all-reduce overlapped with local work.
        var nb = [Float](repeating: 0, count: 1000)
        for i in nb.indices { nb[i] = Float(r) + Float(i) }
        var localWork: Float = 0
        try nb.withUnsafeMutableBufferPointer { buf in
            let request = try comm.startAllReduceSum(buf.baseAddress!, count: buf.count)
            for i in 0..<1000 { localWork += Float(i % 7) }
            try request.wait()
            try expect(request.isComplete, "request not complete after wait()")
        }
        let rankSum = Float(n * (n - 1) / 2)
        for i in nb.indices where nb[i] != rankSum + Float(n * i) {
            throw CheckFailure(description: "non-blocking all-reduce: element \(i) = \(nb[i]), "
                               + "expected \(rankSum + Float(n * i))")
        }

        // Split into even/odd ranks; sum of world ranks inside each group.
        let sub = try comm.split(color: r % 2, key: r)
        let members = (0..<n).filter { $0 % 2 == r % 2 }
        try expect(sub.size == members.count && sub.rank == r / 2,
                   "split gave rank \(sub.rank)/\(sub.size), expected \(r / 2)/\(members.count)")
        let subSum = try sub.allReduce(Int64(r))
        try expect(subSum == Int64(members.reduce(0, +)), "sub-communicator all-reduce gave \(subSum)")
        try sub.shutdown()

        // Errors come back as MPIError (MPI_ERRORS_RETURN) instead of killing the job.
        if let mpi = comm as? MPICommunicator {
            let e = try mpi.provokeErrorForDiagnostics()
            try expect(e.code != nil && e.rank == r && e.description.contains("MPI_Bcast failed on rank \(r): ")
                       && e.message.contains("MPI_ERR_COUNT"), "unexpected MPI error report: \(e)")
        }
        try comm.barrier()
        try expect(comm.localRank >= 0 && comm.localRank < comm.localSize && comm.localSize <= n,
                   "local rank \(comm.localRank)/\(comm.localSize) inconsistent with size \(n)")
        _ = localWork
        return "allreduce=\(Int(x[0])) collectives=ok local=\(comm.localRank)/\(comm.localSize)"
    }

    // MARK: BLAS

    static func checkGEMM() throws -> String {
        let m = 5, n = 4, k = 3
        var g = PhiloxGenerator(seed: 7, stream: 0)
        let a = (0..<(m * k)).map { _ in g.nextUniform() - 0.5 }
        let b = (0..<(k * n)).map { _ in g.nextUniform() - 0.5 }
        var c = [Float](repeating: 0, count: m * n)
        a.withUnsafeBufferPointer { pa in
            b.withUnsafeBufferPointer { pb in
                c.withUnsafeMutableBufferPointer { pc in
                    BLAS.gemm(transA: false, transB: false, m: m, n: n, k: k, a: pa.baseAddress!, lda: k,
                              b: pb.baseAddress!, ldb: n, c: pc.baseAddress!, ldc: n)
                }
            }
        }
        var maxErr: Float = 0
        for i in 0..<m {
            for j in 0..<n {
                var s: Float = 0
                for p in 0..<k { s += a[i * k + p] * b[p * n + j] }
                maxErr = max(maxErr, abs(s - c[i * n + j]))
            }
        }
        try expect(maxErr <= 1e-5, "cblas_sgemm differs from the reference loop by \(maxErr)")
        return "gemm=ok"
    }

    // MARK: HDF5

    static func checkHDF5() throws -> String {
        let dir = FileManager.default.temporaryDirectory
            .appendingPathComponent("cgmtrain-check-\(getpid())-\(UUID().uuidString.prefix(8))")
        try FileManager.default.createDirectory(at: dir, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(at: dir) }
        let path = dir.appendingPathComponent("check.h5").path

        let values = (0..<24).map { Float($0) * 0.25 - 1 }
        try H5File.create(path: path) { f in
            let g = try f.createGroup("check/nested")
            let ds = try g.createDataset("x", values: values, shape: [2, 3, 4], gzipLevel: 4)
            try ds.setAttribute("units", .string("mg/dL"))
            try f.setAttribute("ranks", .int64(1))
            _ = try f.createDataset("ids", values: [Int64](arrayLiteral: 1, 2, 3))
        }
        let f = try H5File.open(path: path)
        defer { f.discard() }
        let back = try f.readDataset("check/nested/x", as: Float.self)
        try expect(back.shape == [2, 3, 4] && back.values == values, "dataset round trip gave \(back.shape)")
        let units = try f.openDataset("/check/nested/x").stringAttribute("units")
        try expect(units == "mg/dL", "attribute round trip gave '\(units)'")
        try expect(try f.openDataset("check/nested/x").storageInfo().gzipLevel == 4, "gzip filter missing")
        try expect(try f.readDataset("ids", as: Int64.self).values == [1, 2, 3], "Int64 dataset round trip")
        return "hdf5=ok(\(H5Library.version))"
    }
}
