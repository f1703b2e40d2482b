// MPICommunicator: Communicator over Open MPI. MPI is initialized once per process (MPI_Init_thread with
// MPI_THREAD_FUNNELED: only the initializing thread calls MPI), errors are returned instead of aborting
// (MPI_ERRORS_RETURN on every communicator) and each return code is turned into a Swift MPIError naming
// the call, the rank and MPI_Error_string. Every collective runs as its non-blocking form polled against
// the collective watchdog's deadline (CollectiveWatchdog.swift), so none waits forever for a stopped rank.

import CMPI
import Foundation

/// Process-wide MPI lifecycle: MPI_Init_thread and MPI_Finalize may each run at most once per process.
enum MPIRuntime {
    static let lock = NSLock()
    nonisolated(unsafe) static var world: MPICommunicator?

    /// MPI_Initialized && !MPI_Finalized (both callable at any time).
    static var isActive: Bool {
        var initialized: Int32 = 0
        var finalized: Int32 = 0
        MPI_Initialized(&initialized)
        MPI_Finalized(&finalized)
        return initialized != 0 && finalized == 0
    }

    /// Rank announced by the launcher, for errors raised before MPI_Comm_rank is available.
    static var launcherRank: Int {
        let env = ProcessInfo.processInfo.environment
        return Int(env["OMPI_COMM_WORLD_RANK"] ?? env["PMIX_RANK"] ?? env["PMI_RANK"] ?? "") ?? -1
    }

    /// MPI_Error_string of `code`.
    static func errorString(_ code: Int32) -> String {
        var buf = [CChar](repeating: 0, count: Int(cgm_mpi_max_error_string()) + 1)
        var len: Int32 = 0
        if MPI_Error_string(code, &buf, &len) != cgm_mpi_success() { return "unknown MPI error" }
        return String(decoding: buf.prefix(Int(len)).map { UInt8(bitPattern: $0) }, as: UTF8.self)
    }
}

/// A communicator backed by an MPI communicator handle (the world or a sub-communicator from `split`).
public final class MPICommunicator: Communicator {
    private var comm: MPI_Comm?
    private let isWorld: Bool
    private var isShutDown = false
    /// Deadlines and the who-is-missing side channel of this communicator's collectives.
    private var probe: CollectiveProbe!

    /// World/sub-communicator rank of this process (MPI_Comm_rank).
    public let rank: Int
    /// Number of ranks (MPI_Comm_size).
    public let size: Int
    /// Rank within this node (MPI_Comm_split_type SHARED).
    public let localRank: Int
    /// Ranks of this communicator on this node.
    public let localSize: Int

    /// The world communicator. The first call initializes MPI (MPI_Init_thread, FUNNELED) and installs
    /// MPI_ERRORS_RETURN; later calls return the same object. Throws if MPI was already finalized.
    public static func world() throws -> MPICommunicator {
        MPIRuntime.lock.lock()
        defer { MPIRuntime.lock.unlock() }
        if let w = MPIRuntime.world {
            if w.isShutDown {
                throw MPIError(call: "MPICommunicator.world", rank: w.rank, code: nil,
                               message: "MPI was already finalized by shutdown(); it cannot be restarted")
            }
            return w
        }
        var initialized: Int32 = 0
        MPI_Initialized(&initialized)
        var finalized: Int32 = 0
        MPI_Finalized(&finalized)
        if finalized != 0 {
            throw MPIError(call: "MPI_Init_thread", rank: MPIRuntime.launcherRank, code: nil,
                           message: "MPI was already finalized in this process")
        }
        if initialized == 0 {
            var provided: Int32 = 0
            let rc = MPI_Init_thread(nil, nil, cgm_mpi_thread_funneled(), &provided)
            if rc != cgm_mpi_success() {
                throw MPIError(call: "MPI_Init_thread", rank: MPIRuntime.launcherRank, code: rc,
                               message: MPIRuntime.errorString(rc))
            }
            if provided < cgm_mpi_thread_funneled() {
                throw MPIError(call: "MPI_Init_thread", rank: MPIRuntime.launcherRank, code: nil,
                               message: "MPI provides thread level \(provided), need MPI_THREAD_FUNNELED")
            }
        }
        let w = try MPICommunicator(comm: cgm_mpi_comm_world(), isWorld: true)
        MPIRuntime.world = w
        return w
    }

    /// First line of MPI_Get_library_version, e.g. "Open MPI v4.1.4, package: ..." (callable before MPI_Init).
    public static var libraryVersion: String {
        var buf = [CChar](repeating: 0, count: Int(cgm_mpi_max_library_version_string()) + 1)
        var len: Int32 = 0
        guard MPI_Get_library_version(&buf, &len) == cgm_mpi_success() else { return "unknown" }
        let s = String(decoding: buf.prefix { $0 != 0 }.prefix(Int(len)).map { UInt8(bitPattern: $0) }, as: UTF8.self)
        let first = s.split(separator: "\n").first.map(String.init) ?? s
        return first.trimmingCharacters(in: .whitespacesAndNewlines)
    }

    private init(comm: MPI_Comm?, isWorld: Bool) throws {
        self.comm = comm
        self.isWorld = isWorld
        let who = MPIRuntime.launcherRank
        func check(_ rc: Int32, _ call: String) throws {
            if rc != cgm_mpi_success() {
                throw MPIError(call: call, rank: who, code: rc, message: MPIRuntime.errorString(rc))
            }
        }
        try check(MPI_Comm_set_errhandler(comm, cgm_mpi_errors_return()), "MPI_Comm_set_errhandler")
        var r: Int32 = 0
        var s: Int32 = 0
        try check(MPI_Comm_rank(comm, &r), "MPI_Comm_rank")
        try check(MPI_Comm_size(comm, &s), "MPI_Comm_size")
        var local: MPI_Comm? = cgm_mpi_comm_null()
        try check(MPI_Comm_split_type(comm, cgm_mpi_comm_type_shared(), r, cgm_mpi_info_null(), &local),
                  "MPI_Comm_split_type")
        var lr: Int32 = 0
        var ls: Int32 = 0
        try check(MPI_Comm_rank(local, &lr), "MPI_Comm_rank(shared)")
        try check(MPI_Comm_size(local, &ls), "MPI_Comm_size(shared)")
        try check(MPI_Comm_free(&local), "MPI_Comm_free(shared)")
        rank = Int(r)
        size = Int(s)
        localRank = Int(lr)
        localSize = Int(ls)
        probe = try CollectiveProbe(comm: comm, rank: rank, size: size)
    }

    deinit {
        if !isWorld && !isShutDown && MPIRuntime.isActive {
            probe?.free()
            MPI_Comm_free(&comm)
        }
    }

    /// Completes the non-blocking collective `start` begins (it returns the MPI return code and fills the
    /// request), within the watchdog's deadline.
    private func collective(_ call: String, _ start: (inout MPI_Request?) -> Int32) throws {
        let number = probe.begin()
        var request: MPI_Request? = cgm_mpi_request_null()
        try check(start(&request), call)
        try probe.complete(&request, call: call, number: number, check: check)
    }

    // MARK: Checking

    private func check(_ rc: Int32, _ call: String) throws {
        if rc != cgm_mpi_success() {
            throw MPIError(call: call, rank: rank, code: rc, message: MPIRuntime.errorString(rc))
        }
    }

    private func usable(_ call: String) throws -> MPI_Comm? {
        if isShutDown || !MPIRuntime.isActive {
            throw MPIError(call: call, rank: rank, code: nil,
                           message: isShutDown ? "communicator was shut down" : "MPI is not active (finalized?)")
        }
        return comm
    }

    private func count32(_ count: Int, _ call: String) throws -> Int32 {
        guard count >= 0, count <= Int(Int32.max) else {
            throw MPIError(call: call, rank: rank, code: nil, message: "count \(count) outside 0...\(Int32.max)")
        }
        return Int32(count)
    }

    private func root32(_ root: Int, _ call: String) throws -> Int32 {
        guard root >= 0, root < size else {
            throw MPIError(call: call, rank: rank, code: nil, message: "root \(root) out of range for size \(size)")
        }
        return Int32(root)
    }

    private static func datatype(_ kind: CommunicatorScalarKind) -> MPI_Datatype? {
        switch kind {
        case .float32: return cgm_mpi_float()
        case .float64: return cgm_mpi_double()
        case .int32: return cgm_mpi_int32()
        case .int64: return cgm_mpi_int64()
        case .uint8: return cgm_mpi_uint8()
        }
    }

    private static func mpiOp(_ op: ReduceOp) -> MPI_Op? {
        switch op {
        case .sum: return cgm_mpi_sum()
        case .max: return cgm_mpi_max()
        case .min: return cgm_mpi_min()
        }
    }

    // MARK: Collectives

    /// In-place all-reduce (MPI_Allreduce with MPI_IN_PLACE).
    public func allReduce<T: CommunicatorScalar>(_ buffer: UnsafeMutablePointer<T>, count: Int,
                                                  op: ReduceOp) throws {
        let c = try usable("MPI_Allreduce")
        let n = try count32(count, "MPI_Allreduce")
        try collective("MPI_Allreduce") {
            MPI_Iallreduce(UnsafeRawPointer(cgm_mpi_in_place()), buffer, n, Self.datatype(T.communicatorKind), Self.mpiOp(op), c, &$0)
        }
    }

    /// Starts an in-place MPI_Iallreduce; the buffer is off limits until `wait()`.
    public func startAllReduce<T: CommunicatorScalar>(_ buffer: UnsafeMutablePointer<T>, count: Int,
                                                       op: ReduceOp) throws -> Request {
        let c = try usable("MPI_Iallreduce")
        let n = try count32(count, "MPI_Iallreduce")
        var request: MPI_Request? = cgm_mpi_request_null()
        let number = probe.begin()
        try check(MPI_Iallreduce(UnsafeRawPointer(cgm_mpi_in_place()), buffer, n,
                                 Self.datatype(T.communicatorKind), Self.mpiOp(op), c, &request),
                  "MPI_Iallreduce")
        return Request(state: .pending(wait: { [self] in
            guard MPIRuntime.isActive else {
                throw MPIError(call: "MPI_Wait", rank: rank, code: nil, message: "MPI finalized before wait()")
            }
            try probe.complete(&request, call: "MPI_Iallreduce", number: number, check: check)
        }))
    }

    /// MPI_Bcast of `count` elements from `root`.
    public func broadcast<T: CommunicatorScalar>(_ buffer: UnsafeMutablePointer<T>, count: Int,
                                                  root: Int) throws {
        let c = try usable("MPI_Bcast")
        let n = try count32(count, "MPI_Bcast")
        let r = try root32(root, "MPI_Bcast")
        try collective("MPI_Bcast") { MPI_Ibcast(buffer, n, Self.datatype(T.communicatorKind), r, c, &$0) }
    }

    /// MPI_Bcast of `count` bytes (MPI_BYTE) from `root`.
    public func broadcast(bytes: UnsafeMutableRawPointer, count: Int, root: Int) throws {
        let c = try usable("MPI_Bcast")
        let n = try count32(count, "MPI_Bcast")
        let r = try root32(root, "MPI_Bcast")
        try collective("MPI_Bcast") { MPI_Ibcast(bytes, n, cgm_mpi_byte(), r, c, &$0) }
    }

    /// MPI_Allgather; `send` and `recv` must not alias.
    public func allGather<T: CommunicatorScalar>(_ send: UnsafePointer<T>, count: Int,
                                                  into recv: UnsafeMutablePointer<T>) throws {
        let c = try usable("MPI_Allgather")
        let n = try count32(count, "MPI_Allgather")
        _ = try count32(count * size, "MPI_Allgather")
        if count > 0 && UnsafeRawPointer(send) == UnsafeRawPointer(recv) {
            throw MPIError(call: "MPI_Allgather", rank: rank, code: nil,
                           message: "send and receive buffers must not alias")
        }
        let dt = Self.datatype(T.communicatorKind)
        try collective("MPI_Allgather") { MPI_Iallgather(send, n, dt, recv, n, dt, c, &$0) }
    }

    /// MPI_Barrier.
    public func barrier() throws {
        let c = try usable("MPI_Barrier")
        try collective("MPI_Barrier") { MPI_Ibarrier(c, &$0) }
    }

    /// MPI_Abort on this communicator (kills the whole job), then exit(code).
    public func abort(code: Int32) -> Never {
        if MPIRuntime.isActive { MPI_Abort(isShutDown ? cgm_mpi_comm_world() : comm, code) }
        exit(code)
    }

    /// MPI_Comm_split; the result is an MPICommunicator with MPI_ERRORS_RETURN installed.
    public func split(color: Int, key: Int) throws -> any Communicator {
        let c = try usable("MPI_Comm_split")
        guard color >= 0, color <= Int(Int32.max), let k = Int32(exactly: key) else {
            throw MPIError(call: "MPI_Comm_split", rank: rank, code: nil,
                           message: "color \(color) must be in 0...Int32.max and key \(key) fit in Int32")
        }
        var sub: MPI_Comm? = cgm_mpi_comm_null()
        try collective("MPI_Ibarrier before MPI_Comm_split") { MPI_Ibarrier(c, &$0) }   // all arrived: split cannot hang
        try check(MPI_Comm_split(c, Int32(color), k, &sub), "MPI_Comm_split")
        do {
            return try MPICommunicator(comm: sub, isWorld: false)
        } catch {
            MPI_Comm_free(&sub)
            throw error
        }
    }

    /// Diagnostic: makes a deliberately invalid local call (MPI_Bcast with count -1) and returns the
    /// resulting MPIError, proving that MPI_ERRORS_RETURN is installed (with the default handler the job
    /// would abort). Purely local: no other rank needs to take part. Throws if MPI accepted the call.
    public func provokeErrorForDiagnostics() throws -> MPIError {
        let c = try usable("MPI_Bcast")
        var x: Int32 = 0
        do {
            try check(MPI_Bcast(&x, -1, cgm_mpi_int32(), 0, c), "MPI_Bcast")
        } catch let e as MPIError {
            return e
        }
        throw MPIError(call: "MPI_Bcast", rank: rank, code: nil, message: "count -1 was not rejected")
    }

    /// Frees a sub-communicator, or finalizes MPI for the world communicator. Idempotent.
    public func shutdown() throws {
        guard !isShutDown else { return }
        guard MPIRuntime.isActive else { isShutDown = true; return }
        if isWorld {
            MPIRuntime.lock.lock()
            defer { MPIRuntime.lock.unlock() }
            isShutDown = true
            probe.free()
            try check(MPI_Finalize(), "MPI_Finalize")
        } else {
            isShutDown = true
            probe.free()
            try check(MPI_Comm_free(&comm), "MPI_Comm_free")
        }
    }
}
