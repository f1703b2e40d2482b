// Counterfactual forecasts over a split (`cgmtrain counterfactual`, SSM-CGM §2 eq. 3 and Figure 3A):
// for every window whose horizon lies in the chosen hours of the day, the model forecasts twice — with
// the observed known-future covariates and with the intervened ones (CounterfactualShift.swift) — in one
// pass each (eq. 27: the model conditions on the planned sequence directly), and Δ = counterfactual −
// factual forecast, in mg/dL per horizon step. Quantile models contribute their point (median) forecast.
//
// Distribution: the windows are cut into batches at fixed global boundaries (multiples of the batch size)
// and whole batches are divided across ranks in contiguous blocks, so every window is forecast in the
// same batch whatever the number of ranks: the records, gathered to every rank and ordered by window,
// are bit-identical for any rank count.
//
// Time of day (for --hours): the local minute of each horizon step, read from the decoder's
// `minute_of_day` (unstandardized) or `tod_sin`/`tod_cos`, else from the encoder's last `minute_of_day`
// or `tod_sin`/`tod_cos` plus 5 min per step, else UTC from the decision time (`HorizonClock.source`).

import CGMData
import CGMSchema
import CGMTensor
import Distributed
import Foundation
import Models

/// A range of hours of the day, [start, end) in local time; start > end wraps past midnight (21-6).
public struct HourWindow: Equatable, Sendable {
    public var start: Double, end: Double

    public init(start: Double, end: Double) {
        self.start = start
        self.end = end
    }

    /// Parses "8-20" or "21-6" (hours 0…24, decimals allowed).
    public static func parse(_ text: String) throws -> HourWindow {
        let parts = text.split(separator: "-", omittingEmptySubsequences: false).map { Double($0.trimmingCharacters(in: .whitespaces)) }
        guard parts.count == 2, let a = parts[0], let b = parts[1], (0...24).contains(a), (0...24).contains(b), a != b else {
            throw CounterfactualError("--hours '\(text)': expected START-END in hours 0–24 with START ≠ END, e.g. 8-20 or 21-6")
        }
        return HourWindow(start: a, end: b)
    }

    /// Whether local minute-of-day `m` (0 ..< 1440) is inside.
    public func contains(minute m: Int) -> Bool {
        let x = Double(m), lo = start * 60, hi = end * 60
        return lo < hi ? (x >= lo && x < hi) : (x >= lo || x < hi)
    }
}

/// The local minute of the day of each horizon step of a window (see the file header for the sources).
public struct HorizonClock {
    /// Where the time of day is read.
    public let source: String
    private let read: (Batch, Int) -> [Int]

    public init(pastFeatures: [String], futureFeatures: [String], spec: FeatureSpec?) {
        func minute(_ z: Float, _ name: String) -> Int {
            let raw = CounterfactualTransform.raw(Double(z), spec?.standardization(of: name))
            return ((Int(raw.rounded()) % 1440) + 1440) % 1440
        }
        func angle(_ s: Float, _ c: Float) -> Int {
            let m = Int((Foundation.atan2(Double(s), Double(c)) / (2 * Double.pi) * 1440).rounded())
            return ((m % 1440) + 1440) % 1440
        }
        if let col = futureFeatures.firstIndex(of: "minute_of_day") {
            source = "decoder minute_of_day"
            read = { b, w in (0..<b.horizon).map { minute(b.future[(w * b.horizon + $0) * b.futureFeatureCount + col], "minute_of_day") } }
        } else if let s = futureFeatures.firstIndex(of: "tod_sin"), let c = futureFeatures.firstIndex(of: "tod_cos") {
            source = "decoder tod_sin/tod_cos"
            read = { b, w in (0..<b.horizon).map { k in
                let row = (w * b.horizon + k) * b.futureFeatureCount
                return angle(b.future[row + s], b.future[row + c])
            } }
        } else if let col = pastFeatures.firstIndex(of: "minute_of_day") {
            source = "encoder minute_of_day + 5 min per step"
            read = { b, w in
                let last = minute(b.past[(w * b.history + b.history - 1) * b.pastFeatureCount + col], "minute_of_day")
                return (0..<b.horizon).map { (last + 5 * ($0 + 1)) % 1440 }
            }
        } else if let s = pastFeatures.firstIndex(of: "tod_sin"), let c = pastFeatures.firstIndex(of: "tod_cos") {
            source = "encoder tod_sin/tod_cos + 5 min per step"
            read = { b, w in
                let row = (w * b.history + b.history - 1) * b.pastFeatureCount
                let last = angle(b.past[row + s], b.past[row + c])
                return (0..<b.horizon).map { (last + 5 * ($0 + 1)) % 1440 }
            }
        } else {
            source = "UTC (the data has no time-of-day feature)"
            read = { b, w in
                let t = b.decisionTime[w]
                return (0..<b.horizon).map { Int(((t + Int64(300 * ($0 + 1))) % 86_400 + 86_400) % 86_400 / 60) }
            }
        }
    }

    /// Local minutes of day of the H horizon steps of window `w` of `batch`.
    public func minutes(_ batch: Batch, _ w: Int) -> [Int] { read(batch, w) }
}

/// One window's factual and counterfactual forecasts.
public struct CounterfactualRecord: Equatable, Sendable {
    /// Global window index within the split.
    public var index: Int
    /// Subject index into the manifest's subjects.
    public var subject: Int
    /// Decision time t, Unix seconds.
    public var decisionTime: Int64
    /// The encoded diabetes_status static of the window (vocabulary index + 1; 0 unknown; −1 not a feature).
    public var statusCode: Int
    /// Per intervention: where SD_subj came from, SD_subj in raw units, and the mean change of the scaled input.
    public var sources: [CovariateSDSource]
    public var subjectSD: [Double]
    public var scaledChange: [Double]
    /// Point forecasts with the observed and with the intervened covariates (H each, mg/dL).
    public var factual: [Float]
    public var counterfactual: [Float]

    /// Δ per horizon step, counterfactual − factual (mg/dL).
    public var delta: [Double] { zip(counterfactual, factual).map { Double($0) - Double($1) } }
}

/// Runs counterfactual forecasts over a split (see the file header).
public struct CounterfactualRunner {
    /// The interventions (all applied together).
    public var shifts: [CovariateShiftRequest]
    /// Only windows whose every horizon step is inside these hours (nil: all windows).
    public var hours: HourWindow?
    public var batchSize: Int

    public init(shifts: [CovariateShiftRequest], hours: HourWindow? = nil, batchSize: Int = 256) {
        self.shifts = shifts
        self.hours = hours
        self.batchSize = batchSize
    }

    /// What a run produced: the records of every eligible window (on every rank, ordered by window), the
    /// resolved feature names, how many windows the split had and where the time of day came from.
    public struct Result {
        public var records: [CounterfactualRecord]
        public var features: [String]
        public var windows: Int
        public var clockSource: String
    }

    /// Resolves the requests against the dataset's decoder features (errors list them).
    public func resolvedFeatures(_ manifest: Manifest) throws -> [String] {
        let names = try shifts.map { try $0.resolve(futureFeatures: manifest.futureFeatures, pastFeatures: manifest.pastFeatures) }
        if let dup = names.first(where: { n in names.filter { $0 == n }.count > 1 }) {
            throw CounterfactualError("--shift names the covariate \(dup) twice")
        }
        return names
    }

    /// Collective: every rank of `comm` calls it with the same arguments.
    public func run(model: any ForecastModel, dataset: ShardDataset, split: ShardSplit, comm: any Communicator) throws -> Result {
        precondition(batchSize > 0, "CounterfactualRunner: batch size must be positive")
        guard !shifts.isEmpty else { throw CounterfactualError("no --shift given") }
        let m = dataset.manifest
        let spec = try? FeatureSpec(jsonString: m.featureSpecJSON)
        let features = try resolvedFeatures(m)
        let n = dataset.count(split)
        guard n > 0 else { throw CounterfactualError("the \(split) split of \(dataset.directory) has no windows") }
        let clock = HorizonClock(pastFeatures: m.pastFeatures, futureFeatures: m.futureFeatures, spec: spec)
        let zs = features.map { spec?.standardization(of: $0) }
        let pastColumns = features.map { m.pastFeatures.firstIndex(of: $0) }
        let futureColumns = features.map { m.futureFeatures.firstIndex(of: $0)! }
        let statusColumn = m.staticFeatures.firstIndex(of: "diabetes_status")
        // The training-split moments of the evaluated subjects that have training windows.
        let index = Dictionary(uniqueKeysWithValues: m.subjects.enumerated().map { ($1, $0) })
        let trainIDs = Set(m.split(.train).subjects)
        let wanted = Set(m.split(split).subjects.filter(trainIDs.contains).compactMap { index[$0] })
        let trained = try TrainingCovariateMoments.read(dataset, features: features, subjects: wanted,
                                                        batchSize: batchSize, rank: comm.rank)
        let reader = ShardReader(dataset: dataset, split: split, rank: comm.rank)
        defer { reader.close() }
        let batches = (n + batchSize - 1) / batchSize
        let first = batches * comm.rank / comm.size, last = batches * (comm.rank + 1) / comm.size
        var records: [CounterfactualRecord] = []
        for k in first..<last {
            let batch = try reader.read(indices: Array((k * batchSize)..<min((k + 1) * batchSize, n)))
            let eligible = (0..<batch.count).filter { w in hours.map { h in clock.minutes(batch, w).allSatisfy { h.contains(minute: $0) } } ?? true }
            guard !eligible.isEmpty else { continue }
            var shifted = batch
            var perWindow: [[(CovariateSDSource, CovariateMoments, Double)]] = []
            for w in 0..<batch.count {
                var applied: [(CovariateSDSource, CovariateMoments, Double)] = []
                for (c, request) in shifts.enumerated() {
                    let (source, moments) = self.moments(c, window: w, batch: batch, trained: trained, feature: features[c],
                                                         pastColumn: pastColumns[c], z: zs[c])
                    let before = (0..<batch.horizon).map { Double(shifted.future[(w * batch.horizon + $0) * batch.futureFeatureCount + futureColumns[c]]) }
                    CounterfactualTransform.apply(request, subject: moments, zs[c], to: &shifted.future,
                                                  offset: w * batch.horizon * batch.futureFeatureCount + futureColumns[c],
                                                  stride: batch.futureFeatureCount, steps: batch.horizon)
                    let after = (0..<batch.horizon).map { Double(shifted.future[(w * batch.horizon + $0) * batch.futureFeatureCount + futureColumns[c]]) }
                    let change = zip(after, before).map { $0 - $1 }.reduce(0, +) / Double(batch.horizon)
                    applied.append((source, moments, change))
                }
                perWindow.append(applied)
            }
            let base = model.forecast(batch, Graph(training: false, recording: false)).point
            let cf = model.forecast(shifted, Graph(training: false, recording: false)).point
            let h = batch.horizon
            for w in eligible {
                records.append(CounterfactualRecord(
                    index: batch.indices[w], subject: Int(batch.subject[w]), decisionTime: batch.decisionTime[w],
                    statusCode: statusColumn.map { Int(batch.statics[w * batch.staticFeatureCount + $0]) } ?? -1,
                    sources: perWindow[w].map(\.0), subjectSD: perWindow[w].map(\.1.sd), scaledChange: perWindow[w].map(\.2),
                    factual: Array(base.scalars[(w * h)..<((w + 1) * h)]), counterfactual: Array(cf.scalars[(w * h)..<((w + 1) * h)])))
            }
        }
        let all = try Self.gather(records, shifts: shifts.count, horizon: m.horizon, comm: comm)
        return Result(records: all, features: features, windows: n, clockSource: clock.source)
    }

    /// SD_subj (and mean) of covariate `c` for window `w`: training data, else the window's history, else the cohort.
    private func moments(_ c: Int, window w: Int, batch: Batch, trained: TrainingCovariateMoments, feature: String,
                         pastColumn: Int?, z: Standardization?) -> (CovariateSDSource, CovariateMoments) {
        if let mo = trained.moments(feature, subject: Int(batch.subject[w])) { return (.train, mo) }
        if let pc = pastColumn {
            let values = (0..<batch.history).map {
                CounterfactualTransform.raw(Double(batch.past[(w * batch.history + $0) * batch.pastFeatureCount + pc]), z)
            }
            return (.history, CovariateMoments(values))
        }
        return (.cohort, CovariateMoments(mean: z?.mean ?? 0, sd: z?.std ?? 1, count: 0))
    }

    // MARK: Gathering (fixed-width Double rows; Float forecasts and Int64 times are exact in Double)

    static func gather(_ records: [CounterfactualRecord], shifts s: Int, horizon h: Int,
                       comm: any Communicator) throws -> [CounterfactualRecord] {
        if comm.size == 1 { return records }
        let width = 4 + 3 * s + 2 * h
        var mine: [Double] = []
        for r in records {
            mine += [Double(r.index), Double(r.subject), Double(r.decisionTime), Double(r.statusCode)]
            mine += r.sources.map { Double(CovariateSDSource.allCases.firstIndex(of: $0)!) } + r.subjectSD + r.scaledChange
            mine += r.factual.map(Double.init) + r.counterfactual.map(Double.init)
        }
        var count = Int64(records.count)
        var counts = [Int64](repeating: 0, count: comm.size)
        try counts.withUnsafeMutableBufferPointer { try comm.allGather(&count, count: 1, into: $0.baseAddress!) }
        let most = Int(counts.max() ?? 0)
        guard most > 0 else { return [] }
        mine += [Double](repeating: 0, count: (most - records.count) * width)
        var all = [Double](repeating: 0, count: most * width * comm.size)
        try mine.withUnsafeBufferPointer { send in
            try all.withUnsafeMutableBufferPointer { recv in
                try comm.allGather(send.baseAddress!, count: most * width, into: recv.baseAddress!)
            }
        }
        var out: [CounterfactualRecord] = []
        for rank in 0..<comm.size {
            for i in 0..<Int(counts[rank]) {
                let row = Array(all[((rank * most + i) * width)..<((rank * most + i + 1) * width)])
                out.append(CounterfactualRecord(
                    index: Int(row[0]), subject: Int(row[1]), decisionTime: Int64(row[2]), statusCode: Int(row[3]),
                    sources: row[4..<(4 + s)].map { CovariateSDSource.allCases[Int($0)] },
                    subjectSD: Array(row[(4 + s)..<(4 + 2 * s)]), scaledChange: Array(row[(4 + 2 * s)..<(4 + 3 * s)]),
                    factual: row[(4 + 3 * s)..<(4 + 3 * s + h)].map { Float($0) },
                    counterfactual: row[(4 + 3 * s + h)...].map { Float($0) }))
            }
        }
        return out.sorted { $0.index < $1.index }
    }
}
