// Communicator: the collective operations data-parallel training needs (all-reduce of gradients,
// broadcast of initial parameters and configuration, all-gather of metrics), behind one protocol with
// an MPI implementation (MPICommunicator) and a trivial single-process one (SingleProcessCommunicator).
//
// Buffers are raw pointers so gradient tensors can be reduced in place without copies; the array
// conveniences at the bottom of this file are for small metadata.

import Foundation

/// Element types the communicators can move and reduce.
public enum CommunicatorScalarKind: Sendable, Equatable {
    case float32, float64, int32, int64, uint8
}

/// A scalar type usable in collectives: Float, Double, Int32, Int64 and UInt8.
public protocol CommunicatorScalar {
    /// The wire type of `Self`.
    static var communicatorKind: CommunicatorScalarKind { get }
}

extension Float: CommunicatorScalar { public static var communicatorKind: CommunicatorScalarKind { .float32 } }
extension Double: CommunicatorScalar { public static var communicatorKind: CommunicatorScalarKind { .float64 } }
extension Int32: CommunicatorScalar { public static var communicatorKind: CommunicatorScalarKind { .int32 } }
extension Int64: CommunicatorScalar { public static var communicatorKind: CommunicatorScalarKind { .int64 } }
extension UInt8: CommunicatorScalar { public static var communicatorKind: CommunicatorScalarKind { .uint8 } }

/// Reduction operator of an all-reduce.
public enum ReduceOp: Sendable, Equatable {
    case sum, max, min
}

/// Error raised by a failed collective. `call` names the MPI function (or the wrapper method when the
/// arguments were rejected before reaching MPI), `rank` the world rank that observed the failure.
public struct MPIError: Error, CustomStringConvertible, Equatable {
    /// MPI function or wrapper method that failed, e.g. "MPI_Allreduce".
    public let call: String
    /// Rank (in the communicator used) that raised the error.
    public let rank: Int
    /// MPI error code, or nil when the arguments were rejected before calling MPI.
    public let code: Int32?
    /// Text from MPI_Error_string, or the wrapper's own explanation.
    public let message: String

    /// Creates an error value.
    public init(call: String, rank: Int, code: Int32?, message: String) {
        self.call = call
        self.rank = rank
        self.code = code
        self.message = message
    }

    /// Human-readable message naming the failing call/object.
    public var description: String {
        if let code { return "\(call) failed on rank \(rank): \(message) (MPI error code \(code))" }
        return "\(call) failed on rank \(rank): \(message)"
    }
}

/// Handle of a non-blocking collective started with `startAllReduce`. The buffer passed to the start call
/// must stay valid and must not be read or written until `wait()` returns.
public final class Request {
    enum State {
        case complete
        case pending(wait: () throws -> Void)
    }
    private var state: State

    init(state: State) { self.state = state }

    /// A request that is already complete (used by the single-process communicator).
    static var completed: Request { Request(state: .complete) }

    /// True once `wait()` has returned.
    public var isComplete: Bool {
        if case .complete = state { return true }
        return false
    }

    /// Blocks until the operation finished; afterwards the buffer holds the result. Calling it again is a no-op.
    public func wait() throws {
        guard case .pending(let waitFn) = state else { return }
        state = .complete
        try waitFn()
    }

    deinit {
        // A request dropped without wait() must still complete before its buffer can be freed.
        if case .pending(let waitFn) = state { try? waitFn() }
    }
}

/// A group of cooperating processes (ranks). All collective methods must be called by every rank of the
/// communicator in the same order with matching counts. With MPI (thread level FUNNELED) every call must
/// come from the thread that created the communicator.
public protocol Communicator: AnyObject {
    /// Rank of this process, 0..<size.
    var rank: Int { get }
    /// Number of processes.
    var size: Int { get }
    /// Rank among the processes of this communicator on the same node (shared memory domain).
    var localRank: Int { get }
    /// Number of processes of this communicator on the same node.
    var localSize: Int { get }

    /// In-place all-reduce: afterwards every rank's `buffer[0..<count]` holds the element-wise reduction.
    func allReduce<T: CommunicatorScalar>(_ buffer: UnsafeMutablePointer<T>, count: Int, op: ReduceOp) throws

    /// Starts an in-place non-blocking all-reduce (MPI_Iallreduce); complete it with `Request.wait()`.
    func startAllReduce<T: CommunicatorScalar>(_ buffer: UnsafeMutablePointer<T>, count: Int,
                                                op: ReduceOp) throws -> Request

    /// Copies `buffer[0..<count]` of rank `root` into the buffer of every other rank.
    func broadcast<T: CommunicatorScalar>(_ buffer: UnsafeMutablePointer<T>, count: Int, root: Int) throws

    /// Copies `count` raw bytes at `bytes` from rank `root` to every other rank.
    func broadcast(bytes: UnsafeMutableRawPointer, count: Int, root: Int) throws

    /// Gathers `count` elements from every rank into `recv` (`count * size` elements, rank-major) on all ranks.
    func allGather<T: CommunicatorScalar>(_ send: UnsafePointer<T>, count: Int,
                                           into recv: UnsafeMutablePointer<T>) throws

    /// Blocks until every rank reached the barrier.
    func barrier() throws

    /// Terminates every process of the job with `code` (MPI_Abort). Never returns.
    func abort(code: Int32) -> Never

    /// Splits into disjoint sub-communicators: ranks passing the same `color` (>= 0) end up together,
    /// ordered by `key` (ties by old rank). Collective over this communicator.
    func split(color: Int, key: Int) throws -> any Communicator

    /// World communicator: finalizes MPI (no further MPI calls possible). Sub-communicator: frees it.
    /// Single process: no-op. Idempotent.
    func shutdown() throws
}

// MARK: - Conveniences

extension Communicator {
    /// In-place sum all-reduce of `buffer[0..<count]` (Float, Double, Int64, ...).
    public func allReduceSum<T: CommunicatorScalar>(_ buffer: UnsafeMutablePointer<T>, count: Int) throws {
        try allReduce(buffer, count: count, op: .sum)
    }

    /// Starts an in-place non-blocking sum all-reduce; call `wait()` on the result before touching `buffer`.
    public func startAllReduceSum<T: CommunicatorScalar>(_ buffer: UnsafeMutablePointer<T>,
                                                          count: Int) throws -> Request {
        try startAllReduce(buffer, count: count, op: .sum)
    }

    /// True for rank 0.
    public var isRoot: Bool { rank == 0 }

    /// In-place all-reduce of an array (same count on every rank).
    public func allReduce<T: CommunicatorScalar>(_ values: inout [T], op: ReduceOp = .sum) throws {
        let n = values.count
        try values.withUnsafeMutableBufferPointer { buf in
            guard let base = buf.baseAddress else { return }
            try allReduce(base, count: n, op: op)
        }
    }

    /// Reduction of one scalar across ranks.
    public func allReduce<T: CommunicatorScalar>(_ value: T, op: ReduceOp = .sum) throws -> T {
        var v = [value]
        try allReduce(&v, op: op)
        return v[0]
    }

    /// Broadcasts an array from `root` (the array must have the same count on every rank).
    public func broadcast<T: CommunicatorScalar>(_ values: inout [T], root: Int) throws {
        let n = values.count
        try values.withUnsafeMutableBufferPointer { buf in
            guard let base = buf.baseAddress else { return }
            try broadcast(base, count: n, root: root)
        }
    }

    /// Broadcasts a string of any length from `root`; other ranks' argument is ignored.
    public func broadcast(_ string: String, root: Int) throws -> String {
        var bytes = Array(string.utf8)
        var length = [Int64(bytes.count)]
        try broadcast(&length, root: root)
        if rank != root { bytes = [UInt8](repeating: 0, count: Int(length[0])) }
        try broadcast(&bytes, root: root)
        return String(decoding: bytes, as: UTF8.self)
    }

    /// Gathers the same number of elements from every rank; result is rank-major (`values.count * size`).
    public func allGather<T: CommunicatorScalar>(_ values: [T]) throws -> [T] {
        let n = values.count
        if n == 0 { return [] }
        var out = [T](repeating: values[0], count: n * size)
        try values.withUnsafeBufferPointer { send in
            try out.withUnsafeMutableBufferPointer { recv in
                try allGather(send.baseAddress!, count: n, into: recv.baseAddress!)
            }
        }
        return out
    }
}

// MARK: - Detection

/// Chooses the communicator for the current launch.
public enum Communicators {
    /// True when the process was started by mpirun / mpiexec (Open MPI or PMIx environment present).
    public static var isLaunchedByMPI: Bool {
        let env = ProcessInfo.processInfo.environment
        return env["OMPI_COMM_WORLD_SIZE"] != nil || env["PMIX_RANK"] != nil || env["PMI_RANK"] != nil
    }

    /// The MPI world communicator when launched by mpirun, otherwise a `SingleProcessCommunicator`.
    public static func detect() throws -> any Communicator {
        if isLaunchedByMPI { return try MPICommunicator.world() }
        return SingleProcessCommunicator()
    }
}
