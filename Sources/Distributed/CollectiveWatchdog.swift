// The collective watchdog: no collective waits forever (PyTorch's process-group timeout, 30 min by default).
//
// A rank that stops without dying (SIGSTOP, a hung filesystem, a wedged node) would leave every other rank
// spinning in its next collective forever. So MPICommunicator runs every collective as its non-blocking
// form (MPI_Iallreduce, MPI_Ibcast, MPI_Iallgather, MPI_Ibarrier) and polls it with MPI_Test against a
// deadline, `CollectiveWatchdog.timeoutSeconds` after the rank entered it (train.collective_timeout_s).
//
// Who did not arrive: every communicator has a private duplicate on which a waiting rank answers "where are
// you?" queries with the sequence number of the collective it waits in (its heartbeat: collectives are
// numbered alike on every rank). When a deadline passes, the rank asks every other rank and listens for
// `graceSeconds`, still answering others' queries: ranks that answer with the same number arrived; ranks
// that answer with another number wait in a different collective (the ranks' call sequences diverged); a
// rank that does not answer is stopped, hung in something else, or dead. The lowest rank that arrived prints
// one message naming the collective, what the program was doing (`activity`) and the missing ranks, and
// ends the job with MPI_Abort (Open MPI then kills every rank, a stopped one included, and mpirun exits
// non-zero); the other ranks that arrived wait a little longer for that abort and abort themselves if it
// does not come. A collective that completes during the grace period simply returns.

import CMPI
import Foundation

/// Settings and the abort message of the collective watchdog (see the file comment).
public enum CollectiveWatchdog {
    private static let lock = NSLock()
    nonisolated(unsafe) private static var timeout: Double = {
        ProcessInfo.processInfo.environment["CGMTRAIN_COLLECTIVE_TIMEOUT_S"].flatMap(Double.init).flatMap { $0 > 0 ? $0 : nil } ?? 1800
    }()
    nonisolated(unsafe) private static var currentActivity = ""
    nonisolated(unsafe) private static var unboundedDepth = 0

    /// Seconds a collective may wait for every rank (default 1800, or $CGMTRAIN_COLLECTIVE_TIMEOUT_S); the
    /// trainer sets train.collective_timeout_s. Process-wide; set it to the same value on every rank.
    public static var timeoutSeconds: Double {
        get { lock.lock(); defer { lock.unlock() }; return timeout }
        set { lock.lock(); timeout = max(0.001, newValue); lock.unlock() }
    }

    /// What the program is doing, named when a collective times out ("training step 12 of epoch 2").
    public static var activity: String {
        get { lock.lock(); defer { lock.unlock() }; return currentActivity }
        set { lock.lock(); currentActivity = newValue; lock.unlock() }
    }

    /// Runs `body` with collectives that wait without a deadline: for a rank that legitimately waits for others'
    /// long work (sweep groups finishing their trials at different times). Use sparingly: a stopped rank is
    /// then waited for forever.
    public static func withoutDeadline<R>(_ body: () throws -> R) rethrows -> R {
        lock.lock(); unboundedDepth += 1; lock.unlock()
        defer { lock.lock(); unboundedDepth -= 1; lock.unlock() }
        return try body()
    }

    /// The deadline of a collective starting now (infinite inside `withoutDeadline`).
    static var currentTimeout: Double {
        lock.lock(); defer { lock.unlock() }
        return unboundedDepth > 0 ? .infinity : timeout
    }

    /// How long a rank whose deadline passed listens for the other ranks' answers.
    static var graceSeconds: Double { min(10, max(1, timeoutSeconds / 2)) }

    /// The message printed before the job is ended.
    static func message(call: String, sequence: Int64, rank: Int, size: Int, answers: [Int: Int64]) -> String {
        let arrived = [rank] + answers.filter { $0.value == sequence }.map(\.key)
        let elsewhere = answers.filter { $0.value != sequence }.sorted { $0.key < $1.key }
        let silent = (0..<size).filter { $0 != rank && answers[$0] == nil }
        func list(_ ranks: [Int]) -> String { ranks.sorted().map(String.init).joined(separator: ", ") }
        var text = "collective \(call) #\(sequence)"
        let doing = activity
        if !doing.isEmpty { text += " (\(doing))" }
        text += " did not complete within \(YAMLlessFormat.seconds(timeoutSeconds)) s (train.collective_timeout_s)"
        var missing: [String] = []
        if !silent.isEmpty {
            missing.append("rank(s) \(list(silent)) did not arrive and did not answer within "
                           + "\(YAMLlessFormat.seconds(graceSeconds)) s (stopped, hung or dead)")
        }
        if !elsewhere.isEmpty {
            missing.append(elsewhere.map { "rank \($0.key) waits in collective #\($0.value) instead" }.joined(separator: ", ")
                           + " (the ranks' collective sequences diverged)")
        }
        if missing.isEmpty { missing.append("every rank answered from it, so MPI itself stalled") }
        return text + ": " + missing.joined(separator: "; ") + "; rank(s) \(list(arrived)) arrived. Ending the job."
    }
}

/// Number formatting without the Config target (Distributed depends on MPI only).
enum YAMLlessFormat {
    /// "5", "0.5", "1800".
    static func seconds(_ v: Double) -> String {
        v == v.rounded() && abs(v) < 1e15 ? String(Int64(v)) : String(format: "%g", v)
    }
}

/// The query/answer side channel of one communicator (its duplicate handle) and the timed completion of a
/// started non-blocking collective.
final class CollectiveProbe {
    private static let queryTag: Int32 = 1701, answerTag: Int32 = 1702
    private var channel: MPI_Comm?
    private let rank: Int, size: Int
    /// Collectives started on the communicator so far (the heartbeat answered to queries).
    private(set) var sequence: Int64 = 0

    /// A probe for `comm` (collective: duplicates the communicator).
    init(comm: MPI_Comm?, rank: Int, size: Int) throws {
        self.rank = rank
        self.size = size
        var dup: MPI_Comm? = cgm_mpi_comm_null()
        let rc = MPI_Comm_dup(comm, &dup)
        guard rc == cgm_mpi_success() else {
            throw MPIError(call: "MPI_Comm_dup", rank: rank, code: rc, message: MPIRuntime.errorString(rc))
        }
        MPI_Comm_set_errhandler(dup, cgm_mpi_errors_return())
        channel = dup
    }

    /// Frees the duplicate (while MPI is active).
    func free() {
        if channel != nil && MPIRuntime.isActive { MPI_Comm_free(&channel) }
        channel = nil
    }

    /// Numbers the next collective.
    func begin() -> Int64 {
        sequence += 1
        return sequence
    }

    /// Polls `request` (collective `call`, number `number`) with MPI_Test until it completes; past the
    /// deadline, finds out who is missing and ends the job (never returns then).
    func complete(_ request: inout MPI_Request?, call: String, number: Int64, check: (Int32, String) throws -> Void) throws {
        var done: Int32 = 0
        try check(MPI_Test(&request, &done, cgm_mpi_status_ignore()), call)
        if done != 0 { return }
        let start = DispatchTime.now().uptimeNanoseconds
        let timeout = CollectiveWatchdog.currentTimeout
        var polls = 0
        while true {
            try check(MPI_Test(&request, &done, cgm_mpi_status_ignore()), call)
            if done != 0 { return }
            polls &+= 1
            guard polls & 31 == 0 else { continue }
            let waited = Double(DispatchTime.now().uptimeNanoseconds - start) / 1e9
            if waited > 0.001 { sched_yield() }                 // oversubscribed ranks let the others run
            if waited > 0.02 { answerQueries() }
            if waited > timeout {
                try expire(&request, call: call, number: number, check: check)
                return                                            // it completed during the grace period
            }
        }
    }

    /// Answers every pending query with the number of the collective this rank waits in.
    private func answerQueries() {
        var flag: Int32 = 0
        var status = MPI_Status()
        while MPI_Iprobe(-1, Self.queryTag, channel, &flag, &status) == cgm_mpi_success(), flag != 0 {
            var asked: Int64 = 0
            MPI_Recv(&asked, 1, cgm_mpi_int64(), status.MPI_SOURCE, Self.queryTag, channel, cgm_mpi_status_ignore())
            var answer = sequence
            MPI_Send(&answer, 1, cgm_mpi_int64(), status.MPI_SOURCE, Self.answerTag, channel)
        }
    }

    /// The deadline passed: ask, listen, report, abort (see the file comment).
    private func expire(_ request: inout MPI_Request?, call: String, number: Int64,
                        check: (Int32, String) throws -> Void) throws {
        var query = number
        for other in 0..<size where other != rank {
            var r: MPI_Request? = cgm_mpi_request_null()
            MPI_Isend(&query, 1, cgm_mpi_int64(), Int32(other), Self.queryTag, channel, &r)
            MPI_Request_free(&r)                                  // eager 8 bytes: the buffer is copied at once
        }
        var answers: [Int: Int64] = [:]
        let grace = CollectiveWatchdog.graceSeconds
        let listenStart = DispatchTime.now().uptimeNanoseconds
        var done: Int32 = 0
        var reported = false
        while true {
            try check(MPI_Test(&request, &done, cgm_mpi_status_ignore()), call)
            if done != 0 { return }
            answerQueries()
            var flag: Int32 = 0
            var status = MPI_Status()
            while MPI_Iprobe(-1, Self.answerTag, channel, &flag, &status) == cgm_mpi_success(), flag != 0 {
                var answer: Int64 = 0
                MPI_Recv(&answer, 1, cgm_mpi_int64(), status.MPI_SOURCE, Self.answerTag, channel, cgm_mpi_status_ignore())
                answers[Int(status.MPI_SOURCE)] = answer
            }
            let listened = Double(DispatchTime.now().uptimeNanoseconds - listenStart) / 1e9
            let everyone = answers.count == size - 1
            if !reported && (listened >= grace || everyone) {
                reported = true
                let arrived = [rank] + answers.filter { $0.value == number }.map(\.key)
                if arrived.min() == rank {
                    abortJob(CollectiveWatchdog.message(call: call, sequence: number, rank: rank, size: size, answers: answers))
                }
            }
            // A lower rank reports; if its abort has not come after another grace period, report here.
            if listened >= 3 * grace {
                abortJob(CollectiveWatchdog.message(call: call, sequence: number, rank: rank, size: size, answers: answers))
            }
            usleep(2_000)
        }
    }

    private func abortJob(_ message: String) -> Never {
        FileHandle.standardError.write(Data("cgmtrain: rank \(rank): \(message)\n".utf8))
        MPI_Abort(cgm_mpi_comm_world(), 1)
        exit(1)
    }
}
