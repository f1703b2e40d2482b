// GradientSync: how the trainer keeps model replicas identical across ranks. The trainer only uses this
// protocol; `makeGradientSync` returns the bucketed `DataParallel` (DataParallel*.swift):
//   broadcastParameters   rank 0's parameters to every rank
//   verifyLayout          parameter names/shapes identical on every rank, else an error naming the first
//                         differing parameter and the ranks
//   allReduceGradients    averaged gradients, one all-reduce per bucket in the same order on every rank
//   checkReplicas         parameter bits identical on every rank, else an error naming the ranks
// All four are collectives: every rank calls them in the same order, and errors are computed from
// all-gathered values, so they are thrown on every rank alike and no rank is left waiting.

import CGMData
import Distributed
import Foundation
import Layers

/// Keeps data-parallel replicas in sync: initial broadcast, gradient averaging, consistency checks.
/// Every method is a collective. `verifyLayout` and `checkReplicas` must throw on every rank alike (the
/// trainer then stops every rank with that error); an `MPIError` is taken as a communication failure and
/// aborts the job.
public protocol GradientSync {
    /// Copies rank 0's parameter values to every rank.
    func broadcastParameters() throws
    /// Throws on every rank unless all ranks registered the same parameters (names, shapes, order).
    func verifyLayout() throws
    /// Replaces each rank's gradients by the sum over ranks divided by `divisor`.
    func allReduceGradients(divisor: Float) throws
    /// Throws on every rank unless all ranks hold bit-identical parameter values.
    func checkReplicas() throws
}

/// The implementation the trainer uses. `bucketCapBytes` is the all-reduce bucket size of DataParallel.
public func makeGradientSync(comm: any Communicator, store: ParameterStore, bucketCapBytes: Int) throws -> any GradientSync {
    DataParallel(comm: comm, store: store, bucketCapBytes: bucketCapBytes)
}

extension DataParallel: GradientSync {
    public func broadcastParameters() throws { try broadcastParameters(root: 0) }
    public func checkReplicas() throws { try checkReplicas(step: nil) }
}

/// Hashes of a store's layout and values (FNV-1a 64).
public enum ParameterFingerprint {
    /// Hash of every entry's name, shape and offset, in order.
    public static func hash(_ store: ParameterStore) -> UInt64 {
        var h = FNV1a64()
        for e in store.entries { h.add("\(e.name):\(e.shape.map(String.init).joined(separator: "x"))@\(e.offset);") }
        return h.value
    }

    /// The layout as text: "name (shape)" per entry.
    public static func describe(_ store: ParameterStore) -> [String] {
        store.entries.map { "\($0.name) \($0.shape)" }
    }

    /// Hash of `count` floats' bit patterns.
    public static func valuesHash(_ p: UnsafePointer<Float>, count: Int) -> UInt64 {
        var h = FNV1a64()
        h.add(UnsafeRawBufferPointer(start: p, count: count * MemoryLayout<Float>.size))
        return h.value
    }
}

