// The frame the MPI-aware `cgmtrain` commands share (evaluate, compare, compare-contexts, counterfactual, and
// the one-thread rule of the single-rank ones): ranks are the parallelism, so OpenBLAS runs one thread per
// rank unless OPENBLAS_NUM_THREADS says otherwise; an error is printed with the command and the rank, and
// every rank is stopped (MPI_Abort) so none waits forever in a collective, then the process exits 1.

import ArgumentParser
import CGMTensor
import Distributed
import Foundation

enum CommandRanks {
    /// One OpenBLAS thread per process unless OPENBLAS_NUM_THREADS is set.
    static func useOneBLASThreadUnlessSet() {
        if ProcessInfo.processInfo.environment["OPENBLAS_NUM_THREADS"] == nil { BLAS.setThreads(1) }
    }

    /// Runs `body`; on an error prints "cgmtrain COMMAND: error on rank R: …", aborts every rank (np > 1) and
    /// exits 1.
    static func stopAllOnError<T>(_ command: String, _ comm: Communicator, _ body: () throws -> T) throws -> T {
        do {
            return try body()
        } catch {
            FileHandle.standardError.write(Data("cgmtrain \(command): error\(comm.size > 1 ? " on rank \(comm.rank)" : ""): \(error)\n".utf8))
            if comm.size > 1 { comm.abort(code: 1) }
            throw ExitCode(1)
        }
    }
}
