// The forecast table `cgmtrain forecast` writes: one CSV row per subject and horizon step,
//
//   subject_id, decision_time, step, minutes_ahead, timestamp, forecast_mg_dl[, q10_mg_dl, q50_mg_dl, …],
//   last_glucose_mg_dl, actual_mg_dl
//
// decision_time and timestamp are ISO 8601 UTC; step is 1 … H and minutes_ahead = 5·step; forecast_mg_dl is
// the point forecast (the median for quantile models); the q<level>_mg_dl columns appear only for models
// with quantile heads, named by level (0.1 → q10, 0.025 → q2.5); last_glucose_mg_dl is the glucose at the
// decision time (the last history point, the naive forecast); actual_mg_dl is the glucose the input file
// holds at that time, empty beyond its end (for retrospective checks). Numbers have 4 decimals.

import CGMData
import Foundation

/// Forecasts of a set of inference windows, as a table.
public struct ForecastTable {
    /// The windows forecast.
    public var windows: InferenceWindows
    /// Point forecasts (B, H), mg/dL.
    public var point: [Float]
    /// Quantile forecasts (B, H, Q), mg/dL, for quantile models.
    public var quantiles: [Float]?
    /// Levels of the quantile columns (empty without quantiles).
    public var quantileLevels: [Float]

    public init(windows: InferenceWindows, point: [Float], quantiles: [Float]?, quantileLevels: [Float]) {
        self.windows = windows
        self.point = point
        self.quantiles = quantiles
        self.quantileLevels = quantileLevels
    }

    /// "q10_mg_dl" for level 0.1, "q2.5_mg_dl" for 0.025.
    public static func quantileColumn(_ level: Float) -> String {
        "q" + String(format: "%g", (Double(level) * 100 * 1e6).rounded() / 1e6) + "_mg_dl"
    }

    /// The header fields.
    public var header: [String] {
        ["subject_id", "decision_time", "step", "minutes_ahead", "timestamp", "forecast_mg_dl"]
            + quantileLevels.map(Self.quantileColumn) + ["last_glucose_mg_dl", "actual_mg_dl"]
    }

    /// The table as CSV text (header, then windows in order, steps 1 … H), ending with a newline.
    public func csv() -> String {
        let b = windows.batch
        let H = b.horizon, Q = quantileLevels.count
        let step = ResampledSubject.gridSeconds
        func number(_ x: Float) -> String { x.isNaN ? "" : String(format: "%.4f", Double(x)) }
        var lines = [header.joined(separator: ",")]
        for w in 0 ..< b.count {
            let subject = Self.field(windows.subjects[Int(b.subject[w])])
            let t = b.decisionTime[w]
            let decision = GridTime.iso8601(t)
            let last = number(windows.lastGlucose[w])
            for h in 0 ..< H {
                var fields = [subject, decision, "\(h + 1)", "\(Int64(h + 1) * step / 60)",
                              GridTime.iso8601(t + Int64(h + 1) * step), number(point[w * H + h])]
                if let q = quantiles {
                    for k in 0 ..< Q { fields.append(number(q[(w * H + h) * Q + k])) }
                }
                fields += [last, number(windows.actual[w * H + h])]
                lines.append(fields.joined(separator: ","))
            }
        }
        return lines.joined(separator: "\n") + "\n"
    }

    /// Writes `csv()` to `path` atomically (temporary sibling, then rename).
    public func write(to path: String) throws {
        do {
            try Data(csv().utf8).write(to: URL(fileURLWithPath: path), options: .atomic)
        } catch {
            throw DataError(file: path, "cannot write the forecast: \(error.localizedDescription)")
        }
    }

    /// A CSV field, quoted when it holds a comma, quote or newline.
    static func field(_ s: String) -> String {
        guard s.contains(where: { $0 == "," || $0 == "\"" || $0 == "\n" || $0 == "\r" }) else { return s }
        return "\"" + s.replacingOccurrences(of: "\"", with: "\"\"") + "\""
    }
}
