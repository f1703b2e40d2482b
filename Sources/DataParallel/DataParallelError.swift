// Errors of data-parallel training. Every rank raises the same error (the information is all-gathered
// first), so every rank exits with the same status and none is left waiting in a collective.

/// Why data-parallel training refused to continue.
public enum DataParallelError: Error, CustomStringConvertible, Equatable {
    /// Ranks registered different parameters. `index` is the first differing entry (registration
    /// order); `entries[r]` describes rank r's entry there ("'name' [shape]", or nil when rank r has
    /// fewer entries); `differingRanks` are the ranks whose layout differs from rank 0's.
    case layoutMismatch(index: Int, entries: [String?], differingRanks: [Int])
    /// Parameters differ between replicas. `differingRanks` hold parameters different from rank 0's;
    /// `parameter` names the first differing parameter (registration order); `step` is the
    /// optimizer step of the check, when given.
    case replicasDiverged(differingRanks: [Int], parameter: String, step: Int?)
    /// A micro-batch declared a non-positive number of samples, or a step synchronized no samples.
    case invalidSampleCount(Int, rank: Int)

    public var description: String {
        switch self {
        case let .layoutMismatch(index, entries, differing):
            let root = entries.first.flatMap { $0 } ?? "no parameter"
            let others = differing.map { "rank \($0) has \(entries[$0] ?? "no parameter")" }
            let culprit = differing.first.flatMap { entries[$0] } ?? entries.first.flatMap { $0 } ?? "?"
            return "parameter layout differs between ranks at parameter #\(index) \(culprit): "
                + "rank 0 has \(root), " + others.joined(separator: ", ")
                + " (every rank must build the same model with the same configuration)"
        case let .replicasDiverged(differing, parameter, step):
            let at = step.map { " at step \($0)" } ?? ""
            let ranks = differing.map(String.init).joined(separator: ", ")
            return "replica check failed\(at): parameters of rank(s) \(ranks) differ from rank 0's "
                + "(first differing parameter '\(parameter)')"
        case let .invalidSampleCount(n, rank):
            return "data parallel: rank \(rank) declared \(n) samples for a backward pass (must be positive)"
        }
    }
}
