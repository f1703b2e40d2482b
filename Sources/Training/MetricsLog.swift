// RUN/metrics.jsonl (rank 0): one JSON object per line, appended as the run goes.
//
//   {"kind":"val","epoch":2,"epoch_progress":1.4,"step":56,"train_loss":…,"val_loss":…,"best_val_loss":…,
//    "improved":true,"early_stopping_wait":0,"lr":…,"samples_per_s":…,"elapsed_s":…}
//   {"kind":"epoch","epoch":2,"step":80,"train_loss":…,"val_loss":…,"best_val_loss":…,"lr":…,
//    "samples_per_s":…,"elapsed_s":…}
//
// train_loss is the mean training loss (over all ranks' windows) since the previous validation check
// ("val") or over the epoch ("epoch"); val_loss the exact mean over the validation split; samples_per_s
// global training windows per second over the same span. Non-finite numbers are written as null.
// On resume, records after the resume point (step > the checkpoint's global step) are dropped, so the
// file describes one consistent history.

import Charts
import Foundation

/// One line of metrics.jsonl.
public struct MetricsRecord {
    public enum Kind: String { case val, epoch }
    public var kind: Kind
    /// 1-based epoch in progress (val) or completed (epoch).
    public var epoch: Int
    /// Fractional epochs completed at a validation check.
    public var epochProgress: Double?
    public var step: Int
    public var trainLoss: Double
    public var valLoss: Double
    public var bestValLoss: Double
    public var improved: Bool?
    public var earlyStoppingWait: Int?
    public var learningRate: Double
    public var samplesPerSecond: Double
    public var elapsedSeconds: Double

    /// The JSON line (without newline), keys in a fixed order.
    public var json: String {
        func num(_ v: Double) -> String { v.isFinite ? "\(v)" : "null" }
        var parts = ["\"kind\":\"\(kind.rawValue)\"", "\"epoch\":\(epoch)"]
        if let p = epochProgress { parts.append("\"epoch_progress\":\(num((p * 1e6).rounded() / 1e6))") }
        parts += ["\"step\":\(step)", "\"train_loss\":\(num(trainLoss))", "\"val_loss\":\(num(valLoss))",
                  "\"best_val_loss\":\(num(bestValLoss))"]
        if let i = improved { parts.append("\"improved\":\(i)") }
        if let w = earlyStoppingWait { parts.append("\"early_stopping_wait\":\(w)") }
        parts += ["\"lr\":\(num(learningRate))", "\"samples_per_s\":\(num((samplesPerSecond * 10).rounded() / 10))",
                  "\"elapsed_s\":\(num((elapsedSeconds * 1000).rounded() / 1000))"]
        return "{" + parts.joined(separator: ",") + "}"
    }
}

/// Appends records to RUN/metrics.jsonl and redraws the learning curve.
public final class MetricsLog {
    public let run: RunDirectory

    public init(run: RunDirectory) { self.run = run }

    /// Appends one record (one write of one whole line).
    public func append(_ r: MetricsRecord) throws {
        let path = run.metricsFile
        if !FileManager.default.fileExists(atPath: path) { _ = FileManager.default.createFile(atPath: path, contents: nil) }
        guard let h = FileHandle(forWritingAtPath: path) else { throw RunDirectoryError("cannot open \(path) for appending") }
        defer { try? h.close() }
        try h.seekToEnd()
        try h.write(contentsOf: Data((r.json + "\n").utf8))
    }

    /// Keeps only records with step ≤ `step` (and drops a torn last line); atomic rewrite.
    public func truncate(afterStep step: Int) throws {
        guard let text = try? String(contentsOfFile: run.metricsFile, encoding: .utf8) else { return }
        var kept: [Substring] = []
        for line in text.split(separator: "\n") {
            guard let obj = try? JSONSerialization.jsonObject(with: Data(line.utf8)) as? [String: Any],
                  let s = obj["step"] as? Int else { continue }
            if s <= step { kept.append(line) }
        }
        try run.writeAtomically("metrics.jsonl", kept.map { $0 + "\n" }.joined())
    }

    /// Redraws RUN/learning_curve.svg from metrics.jsonl (after every epoch and at the end of a run).
    /// Train loss is the mean since the previous validation check; validation loss is per check.
    public func writeLearningCurve() {
        guard let text = try? String(contentsOfFile: run.metricsFile, encoding: .utf8) else { return }
        var train: [(x: Double, loss: Double)] = [], validation: [(x: Double, loss: Double)] = []
        for line in text.split(separator: "\n") {
            guard let obj = try? JSONSerialization.jsonObject(with: Data(line.utf8)) as? [String: Any],
                  obj["kind"] as? String == MetricsRecord.Kind.val.rawValue, let step = obj["step"] as? Int else { continue }
            if let t = obj["train_loss"] as? Double, t.isFinite { train.append((Double(step), t)) }
            if let v = obj["val_loss"] as? Double, v.isFinite { validation.append((Double(step), v)) }
        }
        guard !train.isEmpty || !validation.isEmpty else { return }
        try? SVGLineChart.learningCurve(train: train, validation: validation, xLabel: "optimizer step", logY: true)
            .write(to: run.learningCurveFile)
    }
}
