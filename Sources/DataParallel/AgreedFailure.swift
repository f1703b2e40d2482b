// Agreement between ranks. A failure that only one rank sees (a missing file, a read error) must not
// leave the other ranks waiting in a collective: at every point where something can fail, each rank
// contributes its local error (or nothing) to an all-gather, and if any rank failed every rank throws the
// same `AgreedFailure`, naming the failing rank(s). The command then prints it once (rank 0), finalizes
// MPI on every rank and exits non-zero. Unexpected errors outside these points abort the MPI job.

import Distributed
import Foundation

/// An error thrown by every rank together (from all-gathered values); printed once, by rank 0.
public struct AgreedFailure: Error, CustomStringConvertible {
    public let description: String
    public init(_ message: String) { description = message }

    /// Collective: all-gathers every rank's `local` error text ("" = none) and, if any is non-empty, returns
    /// the failure naming each failing rank. Callers throw the result when `any` is true.
    public static func gather(_ comm: any Communicator, local: String, context: String) throws -> AgreedFailure {
        let all = try comm.allGatherText(local)
        let failed = all.enumerated().filter { !$0.element.isEmpty }
        if failed.count == comm.size && comm.size > 1 && Set(failed.map(\.element)).count == 1 {
            return AgreedFailure("\(context): \(failed[0].element)")        // same error everywhere: say it once
        }
        let parts = failed.map { comm.size > 1 ? "rank \($0.offset): \($0.element)" : $0.element }
        return AgreedFailure("\(context): " + parts.joined(separator: "; "))
    }

    /// Collective: throws on every rank if any rank's `body` threw; returns `body`'s result otherwise.
    public static func agree<R>(_ comm: any Communicator, context: String, _ body: () throws -> R) throws -> R {
        var result: R?
        var local = ""
        do { result = try body() } catch { local = "\(error)" }
        let failed = try comm.allReduce(Int32(local.isEmpty ? 0 : 1), op: .max)
        if failed != 0 { throw try gather(comm, local: local, context: context) }
        return result!
    }
}

extension Communicator {
    /// All-gathers one string per rank (any lengths), in rank order.
    public func allGatherText(_ string: String) throws -> [String] {
        let bytes = Array(string.utf8)
        let lengths = try allGather([Int64(bytes.count)])
        let longest = Int(lengths.max() ?? 0)
        if longest == 0 { return [String](repeating: "", count: size) }
        let all = try allGather(bytes + [UInt8](repeating: 0, count: longest - bytes.count))
        return (0..<size).map { r in String(decoding: all[r * longest ..< r * longest + Int(lengths[r])], as: UTF8.self) }
    }
}
