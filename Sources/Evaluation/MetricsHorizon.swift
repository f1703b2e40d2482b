// Per-horizon-step error metrics of a model and of the naive last-value baseline on the same segments
// (PhysioSeq2Seq §4.3, Table 2, Table 7, Figure 3). With e = ŷ − y over the n segments at one step:
//
//   MAE  = mean |e|          RMSE = sqrt(mean e²)          ME (bias) = mean e
//   IQR  = P75(e) − P25(e)   (NumPy-default linear percentiles of the signed errors)   min e, max e
//   quantile loss = mean over segments and levels τ of ρτ(y − q̂τ), ρτ(u) = max(τu, (τ−1)u)  (pinball)
//   coverage 10–90 = fraction of segments with q̂0.1 ≤ y ≤ q̂0.9
//
// "overall" pools every (segment, step) error. Sums run in segment-id order in Double, so the numbers do
// not depend on how segments were split across ranks.

/// Pinball loss and interval coverage of a quantile forecast.
public struct QuantileSummary: Codable, Equatable, Sendable {
    /// Mean pinball loss ρτ(y − q̂τ) over elements and quantile levels, mg/dL.
    @NullIfNonFinite public var quantileLoss: Double
    /// Fraction of targets inside [q̂0.1, q̂0.9]; NaN (null in JSON) when the levels 0.1 and 0.9 are absent.
    @NullIfNonFinite public var coverage10_90: Double

    /// Creates a summary.
    public init(quantileLoss: Double, coverage10_90: Double) {
        self.quantileLoss = quantileLoss
        self.coverage10_90 = coverage10_90
    }
}

/// Summary statistics of a set of signed errors (prediction − target), mg/dL.
public struct ErrorSummary: Codable, Equatable, Sendable {
    /// Number of errors summarized.
    public var n: Int
    /// Mean absolute error.
    @NullIfNonFinite public var mae: Double
    /// Root mean squared error.
    @NullIfNonFinite public var rmse: Double
    /// Mean error (bias); negative = under-prediction.
    @NullIfNonFinite public var me: Double
    /// 25th percentile of the errors.
    @NullIfNonFinite public var q1: Double
    /// Median error.
    @NullIfNonFinite public var median: Double
    /// 75th percentile of the errors.
    @NullIfNonFinite public var q3: Double
    /// Interquartile range q3 − q1.
    @NullIfNonFinite public var iqr: Double
    /// Smallest (most negative) error.
    @NullIfNonFinite public var min: Double
    /// Largest error.
    @NullIfNonFinite public var max: Double
    /// Quantile metrics, when the forecast has quantiles (never for the naive baseline).
    public var quantile: QuantileSummary?

    /// Summarizes `errors` (summed in the given order). Empty input gives n = 0 and NaN statistics.
    public init(errors: [Double], quantile: QuantileSummary? = nil) {
        n = errors.count
        var abs = 0.0, sq = 0.0, sum = 0.0
        for e in errors {
            abs += Swift.abs(e)
            sq += e * e
            sum += e
        }
        let count = Double(n)
        mae = n > 0 ? abs / count : .nan
        rmse = n > 0 ? (sq / count).squareRoot() : .nan
        me = n > 0 ? sum / count : .nan
        let p = Percentile.of(errors, [0.25, 0.5, 0.75, 0, 1])
        q1 = p[0]
        median = p[1]
        q3 = p[2]
        iqr = p[2] - p[0]
        min = p[3]
        max = p[4]
        self.quantile = quantile
    }
}

/// Model and naive-baseline summaries of the same errors' positions.
public struct PairedErrorSummary: Codable, Equatable, Sendable {
    /// The model.
    public var model: ErrorSummary
    /// The naive last-value baseline on the same segments.
    public var naive: ErrorSummary

    /// Creates a pair.
    public init(model: ErrorSummary, naive: ErrorSummary) {
        self.model = model
        self.naive = naive
    }
}

/// Metrics at one horizon step.
public struct HorizonStepMetrics: Codable, Equatable, Sendable {
    /// Step, 1-based (1 = the first forecast step).
    public var step: Int
    /// Minutes ahead of the decision time: step × stepMinutes.
    public var minutes: Int
    /// The model.
    public var model: ErrorSummary
    /// The naive last-value baseline.
    public var naive: ErrorSummary

    /// Creates step metrics.
    public init(step: Int, minutes: Int, model: ErrorSummary, naive: ErrorSummary) {
        self.step = step
        self.minutes = minutes
        self.model = model
        self.naive = naive
    }
}

/// Error metrics per horizon step and overall, for a model and the naive baseline on the same segments.
public struct HorizonMetrics: Codable, Equatable, Sendable {
    /// Minutes between forecast steps.
    public var stepMinutes: Int
    /// Horizon H.
    public var horizon: Int
    /// Segments evaluated.
    public var segments: Int
    /// Distinct subjects among them.
    public var subjects: Int
    /// The model's quantile levels (empty without a quantile head).
    public var quantileLevels: [Float]
    /// One entry per step 1…H.
    public var steps: [HorizonStepMetrics]
    /// Every (segment, step) error pooled.
    public var overall: PairedErrorSummary
    /// Minutes reported in the printed table (e.g. 30/60/120/240).
    public var selectedMinutes: [Int]

    /// The step `minutes` ahead, if the horizon has one.
    public func step(atMinutes minutes: Int) -> HorizonStepMetrics? { steps.first { $0.minutes == minutes } }

    /// The steps at `selectedMinutes`.
    public var selectedSteps: [HorizonStepMetrics] { selectedMinutes.compactMap { step(atMinutes: $0) } }

    /// Computes the metrics of `records` (every record is used; restrict to evaluable segments first with
    /// `records.restricted(to: records.evaluableSegments)` — non-finite values propagate as NaN).
    public static func compute(_ records: ForecastRecords, stepMinutes: Int = 5,
                               selectedMinutes: [Int]? = nil) -> HorizonMetrics {
        precondition(stepMinutes >= 1, "HorizonMetrics: stepMinutes must be positive")
        let h = records.horizon, n = records.count, q = records.quantileCount
        let hasQuantiles = q > 0
        let levels = records.quantileLevels.map(Double.init)
        let lower = levels.firstIndex { Swift.abs($0 - 0.1) < 1e-6 }
        let upper = levels.firstIndex { Swift.abs($0 - 0.9) < 1e-6 }

        var modelErrors = [[Double]](repeating: [], count: h)
        var naiveErrors = [[Double]](repeating: [], count: h)
        var loss = [Double](repeating: 0, count: h), covered = [Int](repeating: 0, count: h)
        for j in 0..<h {
            modelErrors[j].reserveCapacity(n)
            naiveErrors[j].reserveCapacity(n)
        }
        for r in records.records {
            let naive = Double(r.naive)
            for j in 0..<h {
                let y = Double(r.target[j])
                modelErrors[j].append(Double(r.prediction[j]) - y)
                naiveErrors[j].append(naive - y)
                if hasQuantiles {
                    for k in 0..<q { loss[j] += pinball(y: y, q: Double(r.quantiles[j * q + k]), level: levels[k]) }
                    if let lower, let upper,
                       Double(r.quantiles[j * q + lower]) <= y, y <= Double(r.quantiles[j * q + upper]) {
                        covered[j] += 1
                    }
                }
            }
        }
        func quantileSummary(loss: Double, covered: Int, elements: Int) -> QuantileSummary? {
            guard hasQuantiles else { return nil }
            let e = Double(elements)
            return QuantileSummary(quantileLoss: elements > 0 ? loss / (e * Double(q)) : .nan,
                                   coverage10_90: lower != nil && upper != nil && elements > 0
                                       ? Double(covered) / e : .nan)
        }
        let steps = (0..<h).map { j in
            HorizonStepMetrics(
                step: j + 1, minutes: (j + 1) * stepMinutes,
                model: ErrorSummary(errors: modelErrors[j],
                                    quantile: quantileSummary(loss: loss[j], covered: covered[j], elements: n)),
                naive: ErrorSummary(errors: naiveErrors[j]))
        }
        // Pool segment-major (segment by segment, steps in order), the order the records are stored in.
        var pooledModel: [Double] = [], pooledNaive: [Double] = []
        pooledModel.reserveCapacity(n * h)
        pooledNaive.reserveCapacity(n * h)
        for i in 0..<n {
            for j in 0..<h {
                pooledModel.append(modelErrors[j][i])
                pooledNaive.append(naiveErrors[j][i])
            }
        }
        let overall = PairedErrorSummary(
            model: ErrorSummary(errors: pooledModel,
                                quantile: quantileSummary(loss: loss.reduce(0, +), covered: covered.reduce(0, +),
                                                          elements: n * h)),
            naive: ErrorSummary(errors: pooledNaive))
        return HorizonMetrics(
            stepMinutes: stepMinutes, horizon: h, segments: n, subjects: records.subjects.count,
            quantileLevels: records.quantileLevels, steps: steps, overall: overall,
            selectedMinutes: selectedMinutes ?? defaultSelectedMinutes(horizon: h, stepMinutes: stepMinutes))
    }

    /// The pinball (quantile) loss ρτ(y − q̂) = max(τ·u, (τ − 1)·u), u = y − q̂.
    public static func pinball(y: Double, q: Double, level: Double) -> Double {
        let u = y - q
        return u >= 0 ? level * u : (level - 1) * u
    }

    /// The horizons reported in tables: the first step, the last step, and the minutes of the ladder
    /// 5, 15, 30, 60, 120, 240 that the horizon covers (multiples of the step), keeping the longest four —
    /// 30/60/120/240 for H = 48 at 5 min, 5/15/30/60 for H = 12.
    public static func defaultSelectedMinutes(horizon: Int, stepMinutes: Int) -> [Int] {
        Array(ladderMinutes(horizon: horizon, stepMinutes: stepMinutes).suffix(4))
    }

    /// The horizons `evaluate` prints: the whole ladder 5, 15, 30, 60, 120, 240 the horizon covers, with the first and
    /// last step — short horizons included, where persistence is hardest to beat.
    public static func ladderMinutes(horizon: Int, stepMinutes: Int) -> [Int] {
        let last = horizon * stepMinutes
        let ladder = [5, 15, 30, 60, 120, 240].filter { $0 <= last && $0 % stepMinutes == 0 }
        return Array(Set(ladder + [stepMinutes, last]).sorted())
    }
}
