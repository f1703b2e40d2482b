// `cgmtrain probe`: how well GluFormer embeddings predict a subject label, against CGM summary baselines
// (gluformer-readme §5: ROC AUC for diabetes, beating GMI and composite CGM scores).
//
//   cgmtrain probe --embeddings embeddings.csv --subjects data/cohort/subjects.csv --label diabetes_status \
//                  [--positive t1d,t2d_oral,t2d_insulin] [--folds 5] [--lambda 1] [--bootstrap 1000] [--seed 0] \
//                  [--out probe.csv]
//
// Labels: a real column (hba1c, age, …) → ridge regression scored by R²; a categorical column (diabetes_status) →
// L2 logistic regression, one-vs-rest over its classes scored by macro ROC AUC plus every class's AUC, or, with
// `--positive a,b`, binarized (those values 1, every other 0; e.g. t1d,t2d_oral,t2d_insulin for "has diabetes")
// scored by one ROC AUC.
// Predictors, each through the same K-fold cross-validation (ProbeEvaluation.swift): gluformer (the e0 … e{d−1}
// columns), mean_glucose, gmi, cv, and mean_glucose+cv, all from `cgmtrain embed`'s output, so the baselines come
// from the same CGM grid. GMI is an affine function of mean glucose, so a one-feature probe ranks subjects
// identically (same AUC; same R² up to the penalty): it is listed because the paper reports it.
// Intervals: 95 % subject bootstrap of the out-of-fold predictions; "Δ vs mean" is the paired difference.

import ArgumentParser
import CGMData
import Foundation
import Inference
import Training

struct ProbeCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "probe",
        abstract: "Cross-validated linear probe of embeddings for a subject label vs mean glucose, GMI and CV.")

    @Option(help: "Embeddings CSV written by `cgmtrain embed`.")
    var embeddings: String
    @Option(help: "Subjects CSV (subject_id plus label columns, e.g. data/cohort/subjects.csv).")
    var subjects: String
    @Option(help: "Label column: a real one (hba1c) → ridge / R²; a categorical one (diabetes_status) → logistic / AUC.")
    var label: String
    @Option(help: "Binarize a categorical label: these values (comma-separated) are positive (default: one-vs-rest over every class).")
    var positive: String?
    @Option(help: "Cross-validation folds.")
    var folds: Int = 5
    @Option(help: "L2 penalty on the standardized weights.")
    var lambda: Double = 1
    @Option(help: "Bootstrap resamples of subjects.")
    var bootstrap: Int = 1000
    @Option(help: "Seed of the folds and the bootstrap.")
    var seed: UInt64 = 0
    @Option(help: "Also write the table as CSV here.")
    var out: String?

    func validate() throws {
        guard folds >= 2 else { throw ValidationError("--folds must be at least 2 (got \(folds))") }
        guard lambda > 0 else { throw ValidationError("--lambda must be positive (got \(lambda))") }
        guard bootstrap >= 1 else { throw ValidationError("--bootstrap must be at least 1 (got \(bootstrap))") }
    }

    func run() throws {
        do {
            let table = try EmbeddingTable.read(path: embeddings)
            let info = try SubjectTable.read(path: subjects)
            guard info.columns.contains(label) else {
                throw ValidationError("\(subjects): no column '\(label)' (columns: \(info.columns.joined(separator: ", ")))")
            }
            let kind: ProbeKind = info.kinds[label] == .real ? .regression : .binary
            let positives: Set<String>? = positive.map {
                Set($0.split(separator: ",").map { String($0).trimmingCharacters(in: .whitespaces) })
            }
            var rows: [Int] = [], y: [Double] = [], classNames: [String] = []
            for (r, id) in table.subjects.enumerated() {
                guard info.contains(id) else {
                    FileHandle.standardError.write(Data("cgmtrain probe: note: \(id) is not in \(subjects); skipped\n".utf8))
                    continue
                }
                if kind == .regression {
                    guard let v = info.real(label, for: id), v.isFinite else { continue }
                    y.append(v)
                } else {
                    guard let v = info.value(label, for: id), !v.isEmpty else { continue }
                    y.append(positives.map { $0.contains(v) ? 1 : 0 } ?? 0)
                    classNames.append(v)
                }
                rows.append(r)
            }
            let classes = Set(classNames).sorted()
            if kind == .binary {
                guard classes.count >= 2 else {
                    throw ValidationError("--label \(label): the \(rows.count) labelled subjects hold a single class")
                }
                if let positives, !(y.contains(0) && y.contains(1)) {
                    throw ValidationError("--label \(label) --positive \(positives.sorted().joined(separator: ",")): "
                        + "the \(y.count) labelled subjects are all " + (y.contains(1) ? "positive" : "negative"))
                }
            }
            let features: [(String, [[Double]])] = [
                ("gluformer", rows.map { table.embedding[$0] }),
                ("mean_glucose", rows.map { [table.meanGlucose[$0]] }),
                ("gmi", rows.map { [table.gmi[$0]] }),
                ("cv", rows.map { [table.cv[$0]] }),
                ("mean_glucose+cv", rows.map { [table.meanGlucose[$0], table.cv[$0]] }),
            ]
            let cv = ProbeCrossValidation(kind: kind, folds: folds, lambda: lambda, seed: seed)
            let scores: [ProbeScore]
            let what: String
            if kind == .binary && positives == nil {
                // One-vs-rest over every class with at least 2 subjects; folds stratified by class.
                let strata = classNames.map { classes.firstIndex(of: $0)! }
                let probed = classes.filter { c in classNames.filter { $0 == c }.count >= 2 }
                for c in classes where !probed.contains(c) {
                    FileHandle.standardError.write(Data("cgmtrain probe: note: class '\(c)' has 1 subject; left out of the macro AUC\n".utf8))
                }
                let indicators = probed.map { c in classNames.map { $0 == c ? 1.0 : 0.0 } }
                var predictors: [(name: String, score: ([Int]) -> Double)] = []
                var perClass: [(name: String, score: ([Int]) -> Double)] = []
                for (name, x) in features {
                    let oof = try indicators.map { try cv.outOfFold(rows: x, labels: $0, strata: strata) }
                    predictors.append((name, { index in
                        let aucs = indicators.indices.map { k in
                            ProbeMetrics.auc(scores: index.map { oof[k][$0] }, labels: index.map { indicators[k][$0] })
                        }.filter(\.isFinite)
                        return aucs.isEmpty ? .nan : aucs.reduce(0, +) / Double(aucs.count)
                    }))
                    for (k, c) in probed.enumerated() {
                        perClass.append(("\(name) [\(c)]", { index in
                            ProbeMetrics.auc(scores: index.map { oof[k][$0] }, labels: index.map { indicators[k][$0] })
                        }))
                    }
                }
                scores = ProbeBootstrap.scores(subjects: y.count, metric: "macro_auc", predictors: predictors,
                                               reference: "mean_glucose", replicates: bootstrap, seed: seed)
                    + probed.flatMap { c in
                        ProbeBootstrap.scores(subjects: y.count, metric: "auc_\(c)_vs_rest",
                                              predictors: perClass.filter { $0.name.hasSuffix("[\(c)]") },
                                              reference: "mean_glucose [\(c)]", replicates: bootstrap, seed: seed)
                    }
                what = "\(label), one-vs-rest over \(probed.count) classes (\(probed.map { c in "\(c) \(classNames.filter { $0 == c }.count)" }.joined(separator: ", "))), "
                    + "L2 logistic regression, macro ROC AUC and per-class AUC"
            } else {
                let predictions = try features.map { (name: $0.0, values: try cv.outOfFold(rows: $0.1, labels: y)) }
                scores = ProbeBootstrap.scores(kind: kind, labels: y, predictions: predictions, reference: "mean_glucose",
                                               replicates: bootstrap, seed: seed)
                what = kind == .binary
                    ? "\(label) ∈ {\(positives!.sorted().joined(separator: ", "))} (\(Int(y.reduce(0, +))) of \(y.count) subjects), "
                        + "L2 logistic regression, ROC AUC"
                    : "\(label) (\(y.count) subjects), ridge regression, R²"
            }
            print("Probe of \(what); \(min(folds, y.count))-fold CV, λ = \(lambda), 95 % subject bootstrap (\(bootstrap))")
            print("predictor                    metric                     value   95 % CI            Δ vs mean_glucose (95 % CI)")
            var csv = "label,predictor,metric,value,ci_low,ci_high,diff_vs_mean_glucose,diff_ci_low,diff_ci_high,subjects\n"
            for s in scores {
                let f = { (v: Double) in String(format: "%.3f", v) }
                let isReference = s.predictor.hasPrefix("mean_glucose") && !s.predictor.hasPrefix("mean_glucose+")
                print(s.predictor.padding(toLength: 28, withPad: " ", startingAt: 0) + " "
                      + s.metric.padding(toLength: 26, withPad: " ", startingAt: 0) + " " + f(s.value)
                      + "   [" + f(s.interval.lower) + ", " + f(s.interval.upper) + "]   "
                      + (isReference ? "—" : String(format: "%+.3f", s.difference)
                         + " [" + f(s.differenceInterval.lower) + ", " + f(s.differenceInterval.upper) + "]"))
                csv += [label, s.predictor, s.metric, f(s.value), f(s.interval.lower), f(s.interval.upper), f(s.difference),
                        f(s.differenceInterval.lower), f(s.differenceInterval.upper), "\(s.subjects)"].joined(separator: ",") + "\n"
            }
            if let out { try GluFormerInputs.writeAtomically(csv, to: out) }
        } catch {
            FileHandle.standardError.write(Data("cgmtrain probe: error: \(error)\n".utf8))
            throw ExitCode(1)
        }
    }
}

/// The rows of an embeddings CSV (`cgmtrain embed`).
struct EmbeddingTable {
    var subjects: [String] = []
    var embedding: [[Double]] = []
    var meanGlucose: [Double] = [], gmi: [Double] = [], cv: [Double] = []

    static func read(path: String) throws -> EmbeddingTable {
        let reader = try CSVReader(path: path)
        var row = CSVRow()
        var t = EmbeddingTable()
        let header = reader.header
        func column(_ name: String) throws -> Int {
            guard let i = header.firstIndex(of: name) else { throw ValidationError("\(path): no column '\(name)' (not written by cgmtrain embed?)") }
            return i
        }
        let id = try column("subject_id"), mean = try column("mean_glucose_mg_dl"), gmi = try column("gmi_percent"),
            cv = try column("cv_percent")
        let e = header.indices.filter { header[$0].hasPrefix("e") && Int(header[$0].dropFirst()) != nil }
        guard !e.isEmpty else { throw ValidationError("\(path): no embedding columns e0 … e{d−1}") }
        while try reader.next(into: &row) {
            let line = reader.recordLine
            func number(_ i: Int) throws -> Double {
                guard let v = Double(row.string(i)), v.isFinite else {
                    throw ValidationError("\(path):\(line): column '\(header[i])' is not a finite number ('\(row.string(i))')")
                }
                return v
            }
            guard row.count == header.count else {
                throw ValidationError("\(path):\(line): \(row.count) fields, the header has \(header.count)")
            }
            t.subjects.append(row.string(id))
            t.meanGlucose.append(try number(mean))
            t.gmi.append(try number(gmi))
            t.cv.append(try number(cv))
            t.embedding.append(try e.map(number))
        }
        guard !t.subjects.isEmpty else { throw ValidationError("\(path): no subjects") }
        return t
    }
}
