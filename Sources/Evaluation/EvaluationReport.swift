// EvaluationReport: everything `cgmtrain evaluate` reports about one model on one split — metrics per
// horizon step for the model and the naive baseline, subject-bootstrap CIs, the diabetes_status subgroup
// breakdown and the worst-K segments — and the files it writes: metrics.json and per_horizon.csv.

import Charts
import Foundation

/// The evaluation of one model on one split.
public struct EvaluationReport: Codable, Equatable, Sendable {
    /// Version of the metrics.json layout.
    public static let currentSchemaVersion = 1
    /// File name of the JSON report.
    public static let metricsFileName = "metrics.json"
    /// File name of the per-horizon CSV.
    public static let perHorizonFileName = "per_horizon.csv"

    /// What to compute.
    public struct Options: Equatable, Sendable {
        /// Minutes between forecast steps.
        public var stepMinutes: Int
        /// Bootstrap replicates B (0 skips the bootstrap).
        public var bootstrapReplicates: Int
        /// Confidence level of the intervals.
        public var confidence: Double
        /// Bootstrap RNG seed.
        public var seed: UInt64
        /// K of the worst-K segments (0 skips them).
        public var worstK: Int
        /// Minutes shown in the printed table; nil picks them from the horizon.
        public var selectedMinutes: [Int]?

        /// Creates options (defaults: 5-minute steps, B = 1000, 95%, seed 0, K = 100).
        public init(stepMinutes: Int = 5, bootstrapReplicates: Int = 1000, confidence: Double = 0.95,
                    seed: UInt64 = 0, worstK: Int = 100, selectedMinutes: [Int]? = nil) {
            self.stepMinutes = stepMinutes
            self.bootstrapReplicates = bootstrapReplicates
            self.confidence = confidence
            self.seed = seed
            self.worstK = worstK
            self.selectedMinutes = selectedMinutes
        }
    }

    /// Layout version.
    public var schemaVersion: Int
    /// Model name.
    public var model: String
    /// Free-form provenance (checkpoint, data directory, split, ranks, …).
    public var info: [String: String]
    /// Segments left out because a target, forecast or the naive value was not finite.
    public var excludedSegments: Int
    /// Metrics per horizon step and overall, model and naive.
    public var metrics: HorizonMetrics
    /// Subject-bootstrap intervals (nil when skipped).
    public var bootstrap: BootstrapResult?
    /// Metrics per subgroup label (diabetes_status).
    public var subgroups: [String: HorizonMetrics]
    /// The model's worst-K segments, with the naive baseline on the same segments (nil when skipped).
    public var worst: WorstSegments?
    /// Clarke/Parkes zones, MARD, time lag and event detection per step (nil in reports written before them).
    public var clinical: ClinicalAccuracy?

    /// Creates a report from its parts.
    public init(model: String, info: [String: String] = [:], excludedSegments: Int = 0, metrics: HorizonMetrics,
                bootstrap: BootstrapResult? = nil, subgroups: [String: HorizonMetrics] = [:],
                worst: WorstSegments? = nil, clinical: ClinicalAccuracy? = nil) {
        self.schemaVersion = Self.currentSchemaVersion
        self.model = model
        self.info = info
        self.excludedSegments = excludedSegments
        self.metrics = metrics
        self.bootstrap = bootstrap
        self.subgroups = subgroups
        self.worst = worst
        self.clinical = clinical
    }

    /// Evaluates `records` (already gathered from every rank). Segments with non-finite values are left out
    /// and counted in `excludedSegments`.
    public static func build(model: String, records: ForecastRecords, options: Options = Options(),
                             info: [String: String] = [:]) -> EvaluationReport {
        let evaluable = records.restricted(to: records.evaluableSegments)
        let metrics = HorizonMetrics.compute(evaluable, stepMinutes: options.stepMinutes,
                                             selectedMinutes: options.selectedMinutes
                                                 ?? HorizonMetrics.ladderMinutes(horizon: records.horizon,
                                                                                 stepMinutes: options.stepMinutes))
        let bootstrap = options.bootstrapReplicates > 0
            ? SubjectBootstrap.compute(evaluable, replicates: options.bootstrapReplicates,
                                       confidence: options.confidence, seed: options.seed,
                                       stepMinutes: options.stepMinutes)
            : nil
        return EvaluationReport(
            model: model, info: info, excludedSegments: records.count - evaluable.count, metrics: metrics,
            bootstrap: bootstrap,
            subgroups: HorizonMetrics.bySubgroup(evaluable, stepMinutes: options.stepMinutes,
                                                 selectedMinutes: metrics.selectedMinutes),
            worst: options.worstK > 0 ? WorstSegments.select(evaluable, k: options.worstK) : nil,
            clinical: ClinicalAccuracy.compute(evaluable, stepMinutes: options.stepMinutes))
    }

    /// metrics.json: pretty-printed, keys sorted, non-finite numbers as null, trailing newline.
    public func jsonData() throws -> Data { try EvaluationJSON.encode(self) }

    /// Reads a metrics.json written by `jsonData()`.
    public static func load(_ path: String) throws -> EvaluationReport {
        do {
            return try JSONDecoder().decode(EvaluationReport.self, from: Data(contentsOf: URL(fileURLWithPath: path)))
        } catch {
            throw EvaluationError("cannot read evaluation report '\(path)': \(error)")
        }
    }

    /// Writes `DIR/metrics.json` and `DIR/per_horizon.csv` atomically (creating DIR if needed).
    public func write(toDirectory dir: String) throws {
        try EvaluationFiles.ensureDirectory(dir)
        try EvaluationFiles.writeAtomically(jsonData(), to: (dir as NSString).appendingPathComponent(Self.metricsFileName))
        try EvaluationFiles.writeAtomically(perHorizonCSV(),
                                            to: (dir as NSString).appendingPathComponent(Self.perHorizonFileName))
    }

    /// Error against horizon for the model and the naive baseline (`metric`: MAE, RMSE or ME).
    public func errorPlot(_ metric: ErrorMetric = .rmse) -> SVGLineChart {
        let steps = metrics.steps
        var chart = SVGLineChart.errorVersusHorizon(
            metric: metric.label, minutes: steps.map(\.minutes),
            series: [(model, steps.map { metric.value($0.model) }), ("naive", steps.map { metric.value($0.naive) })],
            title: "\(metric.label) by forecast horizon: \(model)")
        chart.series[1].dashed = true
        chart.series[1].color = "#7f7f7f"
        return chart
    }
}

/// The point-error metrics that tables and plots show.
public enum ErrorMetric: String, CaseIterable, Sendable {
    case rmse, mae, me

    /// Upper-case label ("RMSE").
    public var label: String { rawValue.uppercased() }

    /// The metric's value in `summary`.
    public func value(_ summary: ErrorSummary) -> Double {
        switch self {
        case .rmse: return summary.rmse
        case .mae: return summary.mae
        case .me: return summary.me
        }
    }
}

/// JSON encoding shared by the evaluation files.
public enum EvaluationJSON {
    /// Pretty-printed JSON with sorted keys (a stable order) and a trailing newline. Values of
    /// `NullIfNonFinite` fields encode non-finite numbers as null; any other non-finite Double is an error.
    public static func encode<T: Encodable>(_ value: T) throws -> Data {
        let encoder = JSONEncoder()
        encoder.outputFormatting = [.prettyPrinted, .sortedKeys, .withoutEscapingSlashes]
        var data = try encoder.encode(value)
        data.append(0x0A)
        return data
    }
}
