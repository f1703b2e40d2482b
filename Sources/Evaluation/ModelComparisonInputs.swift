// What `cgmtrain compare` is given: `--checkpoint [LABEL=]PATH` arguments, and the rule that folds a
// checkpoint of the `naive` model into the built-in naive baseline row instead of listing it twice.

import Foundation

/// One `--checkpoint [LABEL=]PATH` argument of `cgmtrain compare`.
public struct ComparedCheckpoint: Equatable, Sendable {
    /// Row label in the tables; nil: the model's registry name.
    public var label: String?
    /// Checkpoint file.
    public var path: String

    /// Parses `LABEL=PATH` or `PATH`. The text before the first "=" is a label only when it contains no "/"
    /// (so a path with "=" in a directory name still works); an empty label or path is an error.
    public init(argument: String) throws {
        if let eq = argument.firstIndex(of: "="), !argument[..<eq].contains("/") {
            let label = String(argument[..<eq]).trimmingCharacters(in: .whitespaces)
            path = String(argument[argument.index(after: eq)...])
            guard !label.isEmpty else { throw EvaluationError("--checkpoint \(argument): empty label before '='") }
            self.label = label
        } else {
            label = nil
            path = argument
        }
        guard !path.isEmpty else { throw EvaluationError("--checkpoint \(argument): no checkpoint path") }
    }

    /// Labels the baseline row owns, refused for checkpoints.
    static let reservedLabels = [WorstSegments.naiveName, ModelComparison.naiveLabel]

    /// Checks the final labels (explicit or model names): none reserved, none repeated.
    public static func checkLabels(_ labels: [(label: String, path: String)]) throws {
        var seen = [String: String]()
        for (label, path) in labels {
            guard !reservedLabels.contains(label) else {
                throw EvaluationError("--checkpoint \(path): label '\(label)' is reserved for the built-in naive baseline row; "
                                      + "give another label (LABEL=PATH)")
            }
            if let other = seen[label] {
                throw EvaluationError("--checkpoint \(other) and \(path) both have label '\(label)'; give each a label: "
                                      + "--checkpoint LABEL=PATH")
            }
            seen[label] = path
        }
    }
}

extension ModelComparison {
    /// A checkpoint of the `naive` model forecasts what the built-in baseline row already shows (both carry the
    /// last observed glucose forward). `compare` checks that this holds bit for bit on every window where both
    /// are finite, then reports it in the "Naive Baseline" row rather than as a second, identical row.
    /// - Returns: the number of windows checked.
    /// - Throws: `EvaluationError` naming the first window where the checkpoint's forecast differs.
    public static func checkNaiveCheckpoint(_ records: ForecastRecords, path: String) throws -> Int {
        var checked = 0
        for r in records.records where r.isFinite {
            if let j = r.prediction.firstIndex(where: { $0.bitPattern != r.naive.bitPattern }) {
                throw EvaluationError("checkpoint \(path) (model naive) forecasts \(r.prediction[j]) mg/dL at step \(j + 1) of "
                    + "segment \(r.segment) (subject \(r.subject)), but the last observed glucose is \(r.naive): it is not the "
                    + "naive baseline of this dataset")
            }
            checked += 1
        }
        return checked
    }
}
