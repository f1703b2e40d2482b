// Cross-validated linear probes and their scores (the downstream evaluation of gluformer-readme §5: ROC AUC for
// diabetes status, R² for continuous labels, against CGM summary baselines).
//   folds      K folds of subjects; binary labels are stratified (each class shuffled with the seed and dealt
//              round-robin), real labels shuffled and dealt round-robin. Every subject is predicted once, by the
//              model fitted on the other K − 1 folds (out-of-fold predictions).
//   AUC        Mann–Whitney: AUC = (R₊ − n₊(n₊+1)/2) / (n₊ n₋), R₊ the sum of the positives' ranks among all
//              predictions (ties get their average rank) = P(s₊ > s₋) + ½ P(s₊ = s₋).
//   classes    a label of C > 2 classes is probed one-vs-rest (one logistic probe per class, folds stratified by
//              class); macro AUC = mean over classes of each class's AUC (sklearn roc_auc_score multi_class="ovr",
//              average="macro", but with independent binary fits instead of one multinomial); in a bootstrap
//              resample a class that vanished is left out of the mean.
//   R²         1 − Σ(y − ŷ)² / Σ(y − ȳ)² over the out-of-fold predictions (sklearn's r2_score; can be < 0).
//   intervals  subject bootstrap of the out-of-fold predictions: B resamples of the n subjects with replacement
//              (Philox, seed), percentile 2.5 / 97.5; the same resamples give the paired difference of every
//              predictor against the reference one. Resamples with a single class (AUC undefined) are skipped.
//              The models are not refitted per resample, so the interval covers evaluation noise, not fitting noise.

import CGMTensor
import Evaluation
import Foundation

/// The kind of label a probe predicts.
public enum ProbeKind: String, Sendable {
    /// A binary label (0/1): logistic regression, scored by ROC AUC.
    case binary
    /// A real label: ridge regression, scored by R².
    case regression

    /// The score's name.
    public var metric: String { self == .binary ? "auc" : "r2" }
}

/// Scores of probes.
public enum ProbeMetrics {
    /// ROC AUC by the Mann–Whitney rank formula (ties: average ranks); NaN without both classes.
    public static func auc(scores: [Double], labels: [Double]) -> Double {
        precondition(scores.count == labels.count, "auc: \(scores.count) scores, \(labels.count) labels")
        let order = scores.indices.sorted { scores[$0] < scores[$1] }
        var ranks = [Double](repeating: 0, count: scores.count)
        var i = 0
        while i < order.count {
            var j = i
            while j + 1 < order.count && scores[order[j + 1]] == scores[order[i]] { j += 1 }
            let average = Double(i + j) / 2 + 1
            for k in i ... j { ranks[order[k]] = average }
            i = j + 1
        }
        let positives = labels.filter { $0 == 1 }.count, negatives = labels.count - positives
        guard positives > 0 && negatives > 0 else { return .nan }
        var rankSum = 0.0
        for (k, y) in labels.enumerated() where y == 1 { rankSum += ranks[k] }
        let np = Double(positives)
        return (rankSum - np * (np + 1) / 2) / (np * Double(negatives))
    }

    /// Coefficient of determination 1 − SS_res / SS_tot; NaN when the labels are constant.
    public static func r2(predictions: [Double], labels: [Double]) -> Double {
        precondition(predictions.count == labels.count, "r2: \(predictions.count) predictions, \(labels.count) labels")
        let mean = labels.reduce(0, +) / Double(max(labels.count, 1))
        var res = 0.0, tot = 0.0
        for (p, y) in zip(predictions, labels) { res += (y - p) * (y - p); tot += (y - mean) * (y - mean) }
        return tot > 0 ? 1 - res / tot : .nan
    }

    /// The score of `kind`.
    public static func score(_ kind: ProbeKind, predictions: [Double], labels: [Double]) -> Double {
        kind == .binary ? auc(scores: predictions, labels: labels) : r2(predictions: predictions, labels: labels)
    }
}

/// An error in a probe's data.
public struct ProbeError: Error, CustomStringConvertible {
    public var description: String
    public init(_ description: String) { self.description = description }
}

/// K-fold cross-validation of ridge / logistic probes.
public struct ProbeCrossValidation: Sendable {
    public var kind: ProbeKind
    public var folds: Int
    /// L2 penalty on the standardized weights.
    public var lambda: Double
    public var seed: UInt64

    public init(kind: ProbeKind, folds: Int = 5, lambda: Double = 1, seed: UInt64 = 0) {
        self.kind = kind
        self.folds = folds
        self.lambda = lambda
        self.seed = seed
    }

    /// The fold (0 ..< K) of every subject (see the file header). `strata` (e.g. the class of a multi-class label)
    /// overrides the grouping of the stratification.
    public func assignFolds(labels: [Double], strata: [Int]? = nil) -> [Int] {
        let k = min(folds, labels.count)
        var rng = PhiloxGenerator(seed: seed, stream: 11)
        var out = [Int](repeating: 0, count: labels.count)
        let keys: [Int] = strata ?? (kind == .binary ? labels.map { Int($0) } : [Int](repeating: 0, count: labels.count))
        var next = 0
        for key in Set(keys).sorted() {
            var group = labels.indices.filter { keys[$0] == key }
            rng.shuffle(&group)
            for i in group { out[i] = next % k; next += 1 }
        }
        return out
    }

    /// Out-of-fold predictions (probabilities for binary labels) of every subject.
    public func outOfFold(rows: [[Double]], labels: [Double], strata: [Int]? = nil) throws -> [Double] {
        guard rows.count == labels.count, rows.count >= 2 else {
            throw ProbeError("a probe needs at least 2 subjects with a label (got \(rows.count))")
        }
        guard folds >= 2 else { throw ProbeError("--folds must be at least 2 (got \(folds))") }
        let fold = assignFolds(labels: labels, strata: strata)
        var out = [Double](repeating: .nan, count: rows.count)
        for f in 0 ..< min(folds, rows.count) {
            let train = rows.indices.filter { fold[$0] != f }, test = rows.indices.filter { fold[$0] == f }
            let x = train.map { rows[$0] }, y = train.map { labels[$0] }
            if kind == .binary {
                guard y.contains(0) && y.contains(1) else {
                    throw ProbeError("fold \(f + 1): its training subjects hold a single class; use fewer folds or more subjects")
                }
                let model = LogisticRegression(rows: x, y: y, lambda: lambda)
                for i in test { out[i] = model.probability(rows[i]) }
            } else {
                let model = RidgeRegression(rows: x, y: y, lambda: lambda)
                for i in test { out[i] = model.predict(rows[i]) }
            }
        }
        return out
    }
}

/// One predictor's cross-validated score with bootstrap intervals.
public struct ProbeScore: Sendable {
    public var predictor: String
    public var metric: String
    public var value: Double
    public var interval: ConfidenceInterval
    /// Score minus the reference predictor's, and its interval (0 for the reference itself).
    public var difference: Double
    public var differenceInterval: ConfidenceInterval
    public var subjects: Int
}

/// Subject-bootstrap intervals of several predictors' scores.
public enum ProbeBootstrap {
    /// Scores of `predictions` (name, out-of-fold predictions) against `labels`, with percentile intervals over
    /// `replicates` subject resamples; differences are against `reference` (a name in `predictions`).
    public static func scores(kind: ProbeKind, labels: [Double], predictions: [(name: String, values: [Double])],
                              reference: String, replicates: Int = 1000, seed: UInt64 = 0) -> [ProbeScore] {
        scores(subjects: labels.count, metric: kind.metric, predictors: predictions.map { p in
            (name: p.name, score: { (index: [Int]) in
                ProbeMetrics.score(kind, predictions: index.map { p.values[$0] }, labels: index.map { labels[$0] }) })
        }, reference: reference, replicates: replicates, seed: seed)
    }

    /// Scores of predictors given as functions of a list of subject indices (the full list 0 ..< n for the point
    /// estimate, a resample for the bootstrap); resamples where the reference is undefined (NaN) are skipped.
    public static func scores(subjects n: Int, metric: String, predictors: [(name: String, score: ([Int]) -> Double)],
                              reference: String, replicates: Int = 1000, seed: UInt64 = 0) -> [ProbeScore] {
        let ref = predictors.firstIndex { $0.name == reference } ?? 0
        var samples = [[Double]](repeating: [], count: predictors.count)
        var differences = [[Double]](repeating: [], count: predictors.count)
        var rng = PhiloxGenerator(seed: seed, stream: 13)
        var index = [Int](repeating: 0, count: n)
        for _ in 0 ..< replicates {
            for i in 0 ..< n { index[i] = min(n - 1, Int(rng.nextUniform() * Float(n))) }
            let refScore = predictors[ref].score(index)
            guard refScore.isFinite else { continue }
            for (p, pred) in predictors.enumerated() {
                let s = p == ref ? refScore : pred.score(index)
                samples[p].append(s)
                differences[p].append(s - refScore)
            }
        }
        let all = Array(0 ..< n)
        let refValue = predictors[ref].score(all)
        return predictors.enumerated().map { p, pred in
            let v = pred.score(all)
            return ProbeScore(predictor: pred.name, metric: metric, value: v, interval: percentile(samples[p]),
                              difference: v - refValue, differenceInterval: percentile(differences[p]), subjects: n)
        }
    }

    /// The 2.5 and 97.5 percentiles (linear interpolation) of the finite values; NaN when there are none.
    static func percentile(_ values: [Double]) -> ConfidenceInterval {
        let v = values.filter(\.isFinite).sorted()
        guard !v.isEmpty else { return ConfidenceInterval(lower: .nan, upper: .nan) }
        func q(_ p: Double) -> Double {
            let x = p * Double(v.count - 1), i = Int(x), f = x - Double(i)
            return i + 1 < v.count ? v[i] + f * (v[i + 1] - v[i]) : v[i]
        }
        return ConfidenceInterval(lower: q(0.025), upper: q(0.975))
    }
}
