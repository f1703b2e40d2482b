// ForecastRecords: what evaluation keeps per test segment (window) — ids, targets, the model's point and
// quantile forecasts and the naive last-value baseline — in one container that ranks fill independently
// and merge. Records are kept sorted by global segment id with no duplicates, so every metric computed
// from a merged set is the same whatever the number of ranks and the order of merging.

/// An evaluation error, naming the segment, file or model at fault.
public struct EvaluationError: Error, CustomStringConvertible, Equatable, Sendable {
    /// What went wrong.
    public var message: String

    /// Creates an error.
    public init(_ message: String) { self.message = message }

    public var description: String { message }
}

/// One forecast segment: a window of the test split and what the model and the naive baseline forecast for it.
///
/// Errors are signed `prediction − target` (mg/dL): a negative mean error (ME) is under-prediction, as in
/// PhysioSeq2Seq Table 2.
public struct ForecastRecord: Equatable, Sendable {
    /// Global window index within the split (`Batch.indices`); unique per segment.
    public var segment: Int
    /// Subject identifier (the bootstrap resamples these).
    public var subject: String
    /// Subgroup label (`diabetes_status`), or "unknown".
    public var group: String
    /// Unix seconds of the decision time.
    public var decisionTime: Int64
    /// Observed glucose over the horizon (H), mg/dL.
    public var target: [Float]
    /// The model's point forecast (H), mg/dL.
    public var prediction: [Float]
    /// The naive baseline: the last observed glucose value before the decision time, mg/dL (PhysioSeq2Seq
    /// §4.2, ĝ(t+h) = g(t) for every h).
    public var naive: Float
    /// Quantile forecasts, H × Q row-major (step-major) at `ForecastRecords.quantileLevels`; empty when the
    /// model has no quantile head.
    public var quantiles: [Float]

    /// Creates a record.
    public init(segment: Int, subject: String, group: String = "unknown", decisionTime: Int64 = 0,
                target: [Float], prediction: [Float], naive: Float, quantiles: [Float] = []) {
        self.segment = segment
        self.subject = subject
        self.group = group
        self.decisionTime = decisionTime
        self.target = target
        self.prediction = prediction
        self.naive = naive
        self.quantiles = quantiles
    }

    /// True when every target, forecast, quantile and the naive value is finite (the segment is evaluable).
    public var isFinite: Bool {
        naive.isFinite && target.allSatisfy(\.isFinite) && prediction.allSatisfy(\.isFinite)
            && quantiles.allSatisfy(\.isFinite)
    }
}

/// The forecast records of one model on one split, sorted by segment id, without duplicates.
///
/// Ranks append their own batches, then merge (`merge`, `merged`, or `gathered(over:)`); the result does
/// not depend on how segments were distributed. A segment that arrives twice (the distributed sampler pads
/// the last step by repeating segments) is kept once; both copies must agree on subject, target and naive
/// value, and of differing forecasts the one with the smaller bit pattern is kept (an order-free choice).
public struct ForecastRecords: Equatable, Sendable {
    /// Horizon H (forecast steps per segment).
    public let horizon: Int
    /// Quantile levels of `ForecastRecord.quantiles` (empty when the model has no quantile head).
    public let quantileLevels: [Float]
    /// The records, ascending by `segment`.
    public private(set) var records: [ForecastRecord] = []

    /// Creates an empty set for horizon `horizon` and the given quantile levels.
    public init(horizon: Int, quantileLevels: [Float] = []) {
        precondition(horizon >= 1, "ForecastRecords: horizon must be at least 1, got \(horizon)")
        self.horizon = horizon
        self.quantileLevels = quantileLevels
    }

    /// Creates a set from records in any order (validated, sorted, duplicates resolved).
    public init(horizon: Int, quantileLevels: [Float] = [], records: [ForecastRecord]) throws {
        self.init(horizon: horizon, quantileLevels: quantileLevels)
        try append(contentsOf: records)
    }

    /// Number of segments.
    public var count: Int { records.count }
    /// True when there is no record.
    public var isEmpty: Bool { records.isEmpty }
    /// Number of quantile levels Q.
    public var quantileCount: Int { quantileLevels.count }
    /// Segment ids, ascending.
    public var segmentIDs: [Int] { records.map(\.segment) }
    /// Distinct subjects, sorted.
    public var subjects: [String] { Array(Set(records.map(\.subject))).sorted() }
    /// Distinct subgroup labels, sorted.
    public var groups: [String] { Array(Set(records.map(\.group))).sorted() }
    /// Segments whose values are all finite.
    public var evaluableSegments: Set<Int> { Set(records.lazy.filter(\.isFinite).map(\.segment)) }

    /// The record of `segment`, if present (binary search).
    public func record(segment: Int) -> ForecastRecord? {
        let i = insertionIndex(of: segment)
        return i < records.count && records[i].segment == segment ? records[i] : nil
    }

    // MARK: Adding records

    /// Adds one record. Throws when its sizes do not match H and Q, or when it conflicts with a record of the
    /// same segment already present.
    public mutating func append(_ record: ForecastRecord) throws {
        try validate(record)
        if let last = records.last, record.segment <= last.segment {
            let i = insertionIndex(of: record.segment)
            if i < records.count && records[i].segment == record.segment {
                records[i] = try Self.resolveDuplicate(records[i], record)
            } else {
                records.insert(record, at: i)
            }
        } else {
            records.append(record)
        }
    }

    /// Adds many records (any order).
    public mutating func append<S: Sequence>(contentsOf newRecords: S) throws where S.Element == ForecastRecord {
        let added = Array(newRecords)
        for r in added { try validate(r) }
        try normalize(records + added)
    }

    /// Merges another rank's records into this set (same H and quantile levels).
    public mutating func merge(_ other: ForecastRecords) throws {
        guard other.horizon == horizon else {
            throw EvaluationError("cannot merge forecast records: horizon \(other.horizon) vs \(horizon)")
        }
        guard other.quantileLevels == quantileLevels else {
            throw EvaluationError("cannot merge forecast records: quantile levels \(other.quantileLevels) vs \(quantileLevels)")
        }
        try normalize(records + other.records)
    }

    /// Merges parts (e.g. one per rank, in any order) into one set. Throws when `parts` is empty.
    public static func merged(_ parts: [ForecastRecords]) throws -> ForecastRecords {
        guard var result = parts.first else { throw EvaluationError("no forecast records to merge") }
        for part in parts.dropFirst() { try result.merge(part) }
        return result
    }

    // MARK: Subsets

    /// The records for which `isIncluded` is true.
    public func filter(_ isIncluded: (ForecastRecord) throws -> Bool) rethrows -> ForecastRecords {
        var copy = self
        copy.records = try records.filter(isIncluded)
        return copy
    }

    /// The records of the given segments.
    public func restricted(to segments: Set<Int>) -> ForecastRecords { filter { segments.contains($0.segment) } }

    /// The records of subgroup `group`.
    public func group(_ group: String) -> ForecastRecords { filter { $0.group == group } }

    /// Segments present and evaluable (all values finite) in every set: the shared test set of
    /// PhysioSeq2Seq §4.1 ("the intersection of segments evaluable by all models").
    public static func commonSegments(_ sets: [ForecastRecords]) -> Set<Int> {
        guard let first = sets.first else { return [] }
        return sets.dropFirst().reduce(first.evaluableSegments) { $0.intersection($1.evaluableSegments) }
    }

    // MARK: Internals

    private func validate(_ r: ForecastRecord) throws {
        guard r.target.count == horizon else {
            throw EvaluationError("segment \(r.segment): \(r.target.count) targets, expected horizon \(horizon)")
        }
        guard r.prediction.count == horizon else {
            throw EvaluationError("segment \(r.segment): \(r.prediction.count) predictions, expected horizon \(horizon)")
        }
        guard r.quantiles.count == horizon * quantileCount else {
            throw EvaluationError("segment \(r.segment): \(r.quantiles.count) quantile values, expected "
                + "\(horizon) × \(quantileCount) levels = \(horizon * quantileCount)")
        }
    }

    /// First index whose segment is >= `segment`.
    private func insertionIndex(of segment: Int) -> Int {
        var lo = 0, hi = records.count
        while lo < hi {
            let mid = (lo + hi) / 2
            if records[mid].segment < segment { lo = mid + 1 } else { hi = mid }
        }
        return lo
    }

    private mutating func normalize(_ all: [ForecastRecord]) throws {
        let sorted = all.sorted { $0.segment < $1.segment }
        var out: [ForecastRecord] = []
        out.reserveCapacity(sorted.count)
        for r in sorted {
            if let last = out.last, last.segment == r.segment {
                out[out.count - 1] = try Self.resolveDuplicate(last, r)
            } else {
                out.append(r)
            }
        }
        records = out
    }

    /// Two copies of one segment: they must describe the same data; of differing forecasts keep the one with
    /// the lexicographically smaller bit patterns, so the result does not depend on arrival order.
    private static func resolveDuplicate(_ a: ForecastRecord, _ b: ForecastRecord) throws -> ForecastRecord {
        func bits(_ x: [Float]) -> [UInt32] { x.map(\.bitPattern) }
        guard a.subject == b.subject, a.group == b.group, a.decisionTime == b.decisionTime,
              bits(a.target) == bits(b.target), a.naive.bitPattern == b.naive.bitPattern else {
            throw EvaluationError("segment \(a.segment) appears twice with different data (subjects '\(a.subject)' "
                + "and '\(b.subject)', decision times \(a.decisionTime) and \(b.decisionTime)): records from "
                + "different datasets or splits cannot be merged")
        }
        let ka = bits(a.prediction) + bits(a.quantiles), kb = bits(b.prediction) + bits(b.quantiles)
        return kb.lexicographicallyPrecedes(ka) ? b : a
    }
}
