// SingleProcessCommunicator: size 1, every collective is the identity (all-reduce and broadcast leave the
// buffer untouched, all-gather copies). Lets the training loop run unchanged without mpirun.

import Foundation

/// Communicator of a job with exactly one rank. Arguments are validated like in the MPI implementation
/// (root must be 0, counts non-negative) so mistakes surface without mpirun too.
public final class SingleProcessCommunicator: Communicator {
    /// Creates the one-rank communicator.
    public init() {}

    /// Always 0.
    public var rank: Int { 0 }
    /// Always 1.
    public var size: Int { 1 }
    /// Always 0.
    public var localRank: Int { 0 }
    /// Always 1.
    public var localSize: Int { 1 }

    private func checkCount(_ count: Int, _ call: String) throws {
        if count < 0 { throw MPIError(call: call, rank: 0, code: nil, message: "negative count \(count)") }
    }

    private func checkRoot(_ root: Int, _ call: String) throws {
        if root != 0 {
            throw MPIError(call: call, rank: 0, code: nil, message: "root \(root) out of range for size 1")
        }
    }

    /// Identity: the only rank already holds the reduction.
    public func allReduce<T: CommunicatorScalar>(_ buffer: UnsafeMutablePointer<T>, count: Int,
                                                  op: ReduceOp) throws {
        try checkCount(count, "allReduce")
    }

    /// Identity; returns an already-complete request.
    public func startAllReduce<T: CommunicatorScalar>(_ buffer: UnsafeMutablePointer<T>, count: Int,
                                                       op: ReduceOp) throws -> Request {
        try checkCount(count, "startAllReduce")
        return .completed
    }

    /// Identity (root must be 0).
    public func broadcast<T: CommunicatorScalar>(_ buffer: UnsafeMutablePointer<T>, count: Int,
                                                  root: Int) throws {
        try checkCount(count, "broadcast")
        try checkRoot(root, "broadcast")
    }

    /// Identity (root must be 0).
    public func broadcast(bytes: UnsafeMutableRawPointer, count: Int, root: Int) throws {
        try checkCount(count, "broadcast(bytes:)")
        try checkRoot(root, "broadcast(bytes:)")
    }

    /// Copies `send` into `recv`.
    public func allGather<T: CommunicatorScalar>(_ send: UnsafePointer<T>, count: Int,
                                                  into recv: UnsafeMutablePointer<T>) throws {
        try checkCount(count, "allGather")
        if count > 0 && UnsafeRawPointer(send) != UnsafeRawPointer(recv) { recv.update(from: send, count: count) }
    }

    /// No-op.
    public func barrier() throws {}

    /// Prints a note and exits with `code`.
    public func abort(code: Int32) -> Never {
        FileHandle.standardError.write("abort(code: \(code)) on single-process communicator\n".data(using: .utf8)!)
        exit(code)
    }

    /// Returns a new single-process communicator (color must be >= 0).
    public func split(color: Int, key: Int) throws -> any Communicator {
        if color < 0 { throw MPIError(call: "split", rank: 0, code: nil, message: "negative color \(color)") }
        return SingleProcessCommunicator()
    }

    /// No-op.
    public func shutdown() throws {}
}
