// The Clarke error grid as an SVG scatter: reference glucose (x) against the forecast (y), 0–400 mg/dL, with the
// zone boundaries of ErrorGrids.swift drawn as lines, zone letters, and each zone's share in the legend. Points are
// coloured by zone; at most `maxPoints` are drawn (an even subsample, in record order) so a large test set stays a
// small file, while the percentages count every pair.

import Charts
import Foundation

/// A Clarke error grid chart of (reference, forecast) pairs.
public struct SVGClarkeGrid: Sendable {
    /// Chart title.
    public var title: String
    /// (reference, forecast) pairs, mg/dL.
    public var pairs: [(reference: Double, forecast: Double)]
    /// Most points drawn.
    public var maxPoints = 4000
    /// Canvas size, px.
    public var width = 560.0, height = 520.0

    /// Creates a chart.
    public init(title: String, pairs: [(reference: Double, forecast: Double)]) {
        self.title = title
        self.pairs = pairs
    }

    /// Zone colours A … E.
    static let colors = ["#2ca02c", "#1f77b4", "#ff7f0e", "#d62728", "#7f0f7f"]

    /// The zone boundary segments of the Clarke grid (Clarke et al. 1987), mg/dL, clipped to 0–400.
    static let boundaries: [(Double, Double, Double, Double)] = [
        (0, 0, 400, 400),                    // identity (dashed)
        (0, 70, 175.0 / 3, 70), (175.0 / 3, 70, 400 / 1.2, 400),   // A upper
        (70, 0, 70, 56), (70, 56, 400, 320),  // A lower
        (70, 180, 290, 400),                  // C upper
        (130, 0, 180, 70),                    // C lower
        (0, 180, 70, 180), (70, 84, 70, 400),  // E upper; the D/B edge at r = 70 from the A line up
        (240, 70, 240, 180), (240, 180, 400, 180), (240, 70, 400, 70),   // D right
        (180, 0, 180, 70), (180, 70, 400, 70),                            // E lower
    ]

    /// The document.
    public func document() -> SVGDocument {
        var svg = SVGDocument(width: width, height: height)
        let left = 64.0, right = width - 150, top = 44.0, bottom = height - 52
        let x = SVGScale(lower: 0, upper: 400, start: left, end: right), y = SVGScale(lower: 0, upper: 400, start: bottom, end: top)
        var counts = [Int](repeating: 0, count: 5)
        var zones: [ErrorGridZone] = []
        zones.reserveCapacity(pairs.count)
        for p in pairs {
            let z = ClarkeErrorGrid.zone(reference: p.reference, prediction: p.forecast)
            counts[z.rawValue] += 1
            zones.append(z)
        }
        for v in stride(from: 0.0, through: 400, by: 100) {
            svg.line(left, y(v), right, y(v), stroke: "#eeeeee", cssClass: "grid")
            svg.line(x(v), top, x(v), bottom, stroke: "#eeeeee", cssClass: "grid")
            svg.text(SVGTicks.label(v), x: left - 7, y: y(v) + 4, size: 11, anchor: "end")
            svg.text(SVGTicks.label(v), x: x(v), y: bottom + 17, size: 11, anchor: "middle")
        }
        let stride = max(1, (pairs.count + maxPoints - 1) / maxPoints)
        for i in Swift.stride(from: 0, to: pairs.count, by: stride) {
            let p = pairs[i]
            guard p.reference.isFinite, p.forecast.isFinite else { continue }
            svg.circle(x(min(max(p.reference, 0), 400)), y(min(max(p.forecast, 0), 400)), radius: 1.6,
                       fill: Self.colors[zones[i].rawValue], cssClass: "point")
        }
        for (i, b) in Self.boundaries.enumerated() {
            svg.line(x(b.0), y(b.1), x(b.2), y(b.3), stroke: "#333333", width: i == 0 ? 0.8 : 1.2, dash: i == 0 ? "4 3" : nil,
                     cssClass: "boundary")
        }
        for (label, rx, ry) in [("A", 330.0, 360.0), ("A", 360.0, 330.0), ("B", 340.0, 240.0), ("B", 250.0, 340.0),
                                ("C", 140.0, 370.0), ("C", 165.0, 20.0), ("D", 30.0, 130.0), ("D", 330.0, 120.0),
                                ("E", 30.0, 300.0), ("E", 330.0, 30.0)] {
            svg.text(label, x: x(rx), y: y(ry), size: 14, anchor: "middle", bold: true, fill: "#555555")
        }
        svg.line(left, bottom, right, bottom, stroke: "#444444", cssClass: "axis")
        svg.line(left, top, left, bottom, stroke: "#444444", cssClass: "axis")
        svg.text(title, x: width / 2, y: 24, size: 14, anchor: "middle", bold: true)
        svg.text("reference glucose (mg/dL)", x: (left + right) / 2, y: height - 14, size: 12, anchor: "middle")
        svg.text("forecast (mg/dL)", x: 18, y: (top + bottom) / 2, size: 12, anchor: "middle", rotate: -90)
        let n = Double(max(pairs.count, 1))
        for (k, zone) in ErrorGridZone.allCases.enumerated() {
            let ly = top + 10 + Double(k) * 20
            svg.circle(right + 20, ly - 4, radius: 5, fill: Self.colors[k], cssClass: "legend")
            svg.text("zone \(zone.label): \(String(format: "%.1f", 100 * Double(counts[k]) / n)) %", x: right + 32, y: ly,
                     size: 12)
        }
        svg.text("\(pairs.count) pairs", x: right + 14, y: top + 120, size: 11, fill: "#555555")
        return svg
    }

    /// Writes the SVG to `path` atomically.
    public func write(to path: String) throws { try document().write(to: path) }
}

extension SVGClarkeGrid {
    /// The grid of `model`'s forecasts `minutes` ahead (30 by default, or the horizon's last step when shorter) over the
    /// evaluable segments of `records`.
    public init(records: ForecastRecords, model: String, stepMinutes: Int = 5, minutes: Int? = nil) {
        let evaluable = records.restricted(to: records.evaluableSegments)
        let m = minutes ?? min(30, records.horizon * stepMinutes)
        let j = max(0, min(records.horizon - 1, m / stepMinutes - 1))
        self.init(title: "Clarke error grid: \(model), \((j + 1) * stepMinutes) min ahead",
                  pairs: evaluable.records.map { (Double($0.target[j]), Double($0.prediction[j])) })
    }
}
