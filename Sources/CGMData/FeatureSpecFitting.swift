// Fitting a FeatureSpec on training data and encoding static rows (the spec itself is in CGMSchema).

import CGMSchema
import Foundation

extension FeatureSpec {
    /// Fits standardizations, vocabularies and subject glucose statistics.
    ///
    /// - Parameters:
    ///   - features: every subject's unscaled features.
    ///   - scope: per subject, the last Unix second of its data that is training data (`Int64.max`:
    ///     all of it; nil: none — a validation/test subject of a subject split). Cohort statistics
    ///     and vocabularies use in-scope data only. A subject's own glucose centre/scale uses its
    ///     in-scope data, or all of its data when it has none in scope (a summary of the subject,
    ///     like its HbA1c; documented leakage-free for temporal splits).
    ///   - table: subjects.csv, for static columns.
    public mutating func fit(features: [SubjectFeatures], scope: [Int64?], table: SubjectTable?) {
        precondition(features.count == scope.count, "FeatureSpec.fit: \(features.count) subjects but \(scope.count) scopes")
        scalings = timeVaryingFeatures.map { name in
            guard FeatureCatalog.isStandardized(name) else { return FeatureScaling(name: name, standardization: nil) }
            var stats = RunningStats()
            for (s, f) in features.enumerated() {
                guard let cutoff = scope[s], let column = f.columns[name] else { continue }
                forEachInScope(f, cutoff: cutoff) { stats.add(column[$0]) }
            }
            return FeatureScaling(name: name, standardization: stats.standardization)
        }
        subjectGlucose = features.enumerated().map { s, f in
            var stats = RunningStats()
            let cutoff = scope[s] ?? .max
            forEachInScope(f, cutoff: cutoff) { stats.add(f.cgm[$0]) }
            if stats.count == 0 { forEachInScope(f, cutoff: .max) { stats.add(f.cgm[$0]) } }
            return SubjectGlucose(id: f.id, centre: stats.count > 0 ? stats.mean : .nan, scale: stats.std)
        }.sorted { $0.id < $1.id }
        let trainIDs = features.indices.filter { scope[$0] != nil }.map { features[$0].id }
        statics = staticFeatures.map { fitStatic($0, trainIDs: trainIDs, table: table) }
    }

    /// The encoded static row of `subject` (categorical indices and standardized reals).
    public func staticRow(subject: String, table: SubjectTable?) -> [Float] {
        statics.map { enc in
            switch enc.kind {
            case .categorical:
                let value = enc.name == "subject_id" ? subject : table?.value(enc.name, for: subject)
                guard let value, let k = enc.vocabulary.firstIndex(of: value) else { return 0 }
                return Float(k + 1)
            case .real:
                let z = enc.standardization ?? .identity
                return z.apply(Float(rawStatic(enc.name, subject: subject, table: table) ?? .nan))
            }
        }
    }

    fileprivate func rawStatic(_ name: String, subject: String, table: SubjectTable?) -> Double? {
        switch name {
        case "glucose_centre": return glucose(of: subject)?.centre
        case "glucose_scale": return glucose(of: subject)?.scale
        default: return table?.real(name, for: subject)
        }
    }

    fileprivate func fitStatic(_ name: String, trainIDs: [String], table: SubjectTable?) -> StaticEncoding {
        let kind: StaticKind
        switch name {
        case "subject_id": kind = .categorical
        case "glucose_centre", "glucose_scale": kind = .real
        default: kind = table?.kinds[name] ?? .real
        }
        if kind == .categorical {
            let values = trainIDs.compactMap { name == "subject_id" ? $0 : table?.value(name, for: $0) }
            return StaticEncoding(name: name, kind: .categorical, vocabulary: Array(Set(values)).sorted(), standardization: nil)
        }
        var stats = RunningStats()
        for id in trainIDs { if let v = rawStatic(name, subject: id, table: table) { stats.add(Float(v)) } }
        return StaticEncoding(name: name, kind: .real, vocabulary: [], standardization: stats.standardization)
    }

    fileprivate func forEachInScope(_ f: SubjectFeatures, cutoff: Int64, _ body: (Int) -> Void) {
        for seg in f.segments {
            for i in seg {
                if f.time(at: i) > cutoff { return }
                body(i)
            }
        }
    }
}

/// Welford's running mean and variance (population), skipping NaN.
struct RunningStats {
    private(set) var count = 0
    private(set) var mean = 0.0
    private var m2 = 0.0

    mutating func add(_ x: Float) {
        guard !x.isNaN else { return }
        count += 1
        let d = Double(x) - mean
        mean += d / Double(count)
        m2 += d * (Double(x) - mean)
    }

    var std: Double { count > 0 ? (m2 / Double(count)).squareRoot() : 0 }

    /// The standardization; std 1 when there is no spread (or no data, then mean 0).
    var standardization: Standardization {
        Standardization(mean: count > 0 ? mean : 0, std: std > 1e-12 ? std : 1)
    }
}
