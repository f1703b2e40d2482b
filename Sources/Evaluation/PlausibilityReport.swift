// Plausibility of generated glucose days against real held-out ones (gluformer-readme "Generative Modeling":
// "physiologically plausible synthetic CGM trajectories (24h horizons)"). Both sets are pooled over subjects and
// samples, and compared on the consensus CGM metrics (GlycemicSummary): mean, SD, CV, time in range 70–180,
// below 70 and above 180 (%), and the daily profile (mean glucose by hour of day, the hour of each step's timestamp).
// Every generated sample of a subject covers the same times as that subject's real held-out stretch, so the
// profiles compare like with like. Output: a table (printed text and CSV: metric, real, generated, difference)
// and an SVG overlay of the two daily profiles.

import Charts
import Foundation

/// Real vs generated trajectories, summarized.
public struct PlausibilityReport: Sendable {
    /// One row: a metric of the real and of the generated trajectories.
    public struct Row: Sendable, Equatable {
        public var metric: String
        public var real: Double
        public var generated: Double
    }

    public var rows: [Row]
    /// Mean glucose by hour of day (24; NaN without readings).
    public var realProfile: [Double], generatedProfile: [Double]
    public var realTrajectories: Int, generatedTrajectories: Int

    /// Summaries of `real` and `generated` trajectories (mg/dL) with the UTC times (epoch s) of their steps.
    public init(real: [(glucose: [Float], times: [Int64])], generated: [(glucose: [Float], times: [Int64])]) {
        func pooled(_ t: [(glucose: [Float], times: [Int64])]) -> (GlycemicSummary, [Double], below: Double, above: Double) {
            let g = t.flatMap(\.glucose), times = t.flatMap(\.times)
            let v = g.filter(\.isFinite)
            let n = Double(max(v.count, 1))
            return (GlycemicSummary(g), GlycemicSummary.hourlyProfile(glucose: g, times: times),
                    100 * Double(v.filter { $0 < 70 }.count) / n, 100 * Double(v.filter { $0 > 180 }.count) / n)
        }
        let (r, rp, rb, ra) = pooled(real), (s, sp, sb, sa) = pooled(generated)
        rows = [
            Row(metric: "mean_mg_dl", real: r.mean, generated: s.mean),
            Row(metric: "sd_mg_dl", real: r.cv * r.mean / 100, generated: s.cv * s.mean / 100),
            Row(metric: "cv_percent", real: r.cv, generated: s.cv),
            Row(metric: "tir_70_180_percent", real: r.timeInRange, generated: s.timeInRange),
            Row(metric: "tbr_below_70_percent", real: rb, generated: sb),
            Row(metric: "tar_above_180_percent", real: ra, generated: sa),
        ] + (0 ..< 24).map { Row(metric: String(format: "hour_%02d_mean_mg_dl", $0), real: rp[$0], generated: sp[$0]) }
        realProfile = rp
        generatedProfile = sp
        realTrajectories = real.count
        generatedTrajectories = generated.count
    }

    /// Mean absolute difference of the two daily profiles over the hours both have (mg/dL).
    public var profileMAE: Double {
        let d = zip(realProfile, generatedProfile).filter { $0.0.isFinite && $0.1.isFinite }.map { abs($0.0 - $0.1) }
        return d.isEmpty ? .nan : d.reduce(0, +) / Double(d.count)
    }

    /// metric,real,generated,difference.
    public var csv: String {
        "metric,real,generated,difference\n" + rows.map {
            "\($0.metric)," + [$0.real, $0.generated, $0.generated - $0.real].map { String(format: "%.3f", $0) }.joined(separator: ",")
        }.joined(separator: "\n") + "\n"
    }

    /// The table as aligned text.
    public var text: String {
        var out = "Plausibility: \(generatedTrajectories) generated vs \(realTrajectories) real held-out trajectories\n"
        out += "metric                      real  generated   difference\n"
        for r in rows {
            out += r.metric.padding(toLength: 22, withPad: " ", startingAt: 0)
                + String(format: "%10.1f %10.1f %+12.1f\n", r.real, r.generated, r.generated - r.real)
        }
        out += String(format: "daily profile MAE %.1f mg/dL\n", profileMAE)
        return out
    }

    /// The two daily profiles as a line chart.
    public var chart: SVGLineChart {
        let hours = (0 ..< 24).map(Double.init)
        let keep = { (p: [Double]) in (hours.indices.filter { p[$0].isFinite }) }
        let real = keep(realProfile), gen = keep(generatedProfile)
        return SVGLineChart(title: "Daily glucose profile: real held-out vs generated", xLabel: "hour of day (UTC)",
                            yLabel: "mean glucose (mg/dL)",
                            series: [SVGSeries(name: "real (\(realTrajectories))", x: real.map { hours[$0] }, y: real.map { realProfile[$0] }),
                                     SVGSeries(name: "generated (\(generatedTrajectories))", x: gen.map { hours[$0] },
                                               y: gen.map { generatedProfile[$0] }, dashed: true)],
                            xTickStep: 3)
    }
}
