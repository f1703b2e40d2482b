// CGM summary statistics (international consensus on CGM metrics, Battelino et al. 2019), used as probe baselines
// and to judge generated trajectories:
//   mean  = Σ g / n (mg/dL)          CV = 100 · sd / mean (%, population sd)
//   GMI   = 3.31 + 0.02392 · mean    (%, Bergenstal et al. 2018)
//   TIR   = 100 · #{70 ≤ g ≤ 180} / n (%)
// NaN readings are skipped.

/// Summary statistics of a set of glucose readings (mg/dL).
public struct GlycemicSummary: Equatable, Sendable {
    public var count: Int
    public var mean: Double
    /// Coefficient of variation, %.
    public var cv: Double
    /// Time in range 70–180 mg/dL, %.
    public var timeInRange: Double

    /// The summary of the finite values of `glucose`.
    public init(_ glucose: [Float]) {
        let v = glucose.filter(\.isFinite).map(Double.init)
        count = v.count
        let n = Double(max(v.count, 1))
        mean = v.isEmpty ? .nan : v.reduce(0, +) / n
        let m = mean
        let variance = v.reduce(0) { $0 + ($1 - m) * ($1 - m) } / n
        cv = v.isEmpty ? .nan : 100 * variance.squareRoot() / mean
        timeInRange = v.isEmpty ? .nan : 100 * Double(v.filter { $0 >= 70 && $0 <= 180 }.count) / n
    }

    /// Glucose management indicator, %.
    public var gmi: Double { GlycemicSummary.gmi(mean: mean) }

    /// GMI (%) of a mean glucose in mg/dL.
    public static func gmi(mean: Double) -> Double { 3.31 + 0.02392 * mean }

    /// Mean glucose by hour of day (24 values; NaN for hours without readings) of readings at `times` (epoch s,
    /// UTC + `offsetMinutes`).
    public static func hourlyProfile(glucose: [Float], times: [Int64], offsetMinutes: Int = 0) -> [Double] {
        var sum = [Double](repeating: 0, count: 24), n = [Double](repeating: 0, count: 24)
        for (g, t) in zip(glucose, times) where g.isFinite {
            let local = t + Int64(offsetMinutes) * 60
            let hour = Int(((local % 86_400) + 86_400) % 86_400 / 3600)
            sum[hour] += Double(g)
            n[hour] += 1
        }
        return (0 ..< 24).map { n[$0] > 0 ? sum[$0] / n[$0] : .nan }
    }
}
