// Line charts as SVG: one <path class="series"> per series (non-finite points break the line), axes with
// nice ticks and grid lines, axis labels, a title and a legend at the right. Used for error against
// horizon (PhysioSeq2Seq Figure 3) and learning curves (loss against step/epoch, optionally log-y).

import Foundation

/// One line of a chart.
public struct SVGSeries: Sendable, Equatable {
    /// Legend entry.
    public var name: String
    /// x values.
    public var x: [Double]
    /// y values (same count as `x`); non-finite values (and non-positive ones on a log axis) are gaps.
    public var y: [Double]
    /// Stroke color; nil picks the palette color of the series' position.
    public var color: String?
    /// Dashed stroke.
    public var dashed: Bool
    /// Dots at the points; nil draws them when the series has at most 25 points.
    public var markers: Bool?

    /// Creates a series.
    public init(name: String, x: [Double], y: [Double], color: String? = nil, dashed: Bool = false,
                markers: Bool? = nil) {
        precondition(x.count == y.count, "SVGSeries '\(name)': \(x.count) x values but \(y.count) y values")
        self.name = name
        self.x = x
        self.y = y
        self.color = color
        self.dashed = dashed
        self.markers = markers
    }
}

/// A line chart.
public struct SVGLineChart: Sendable {
    /// Title above the plot.
    public var title: String
    /// x-axis label.
    public var xLabel: String
    /// y-axis label.
    public var yLabel: String
    /// The lines.
    public var series: [SVGSeries]
    /// Log10 y axis (non-positive values are left out).
    public var logY: Bool
    /// Draw a horizontal line at y = 0 when it is inside the range (for signed errors).
    public var zeroLine: Bool
    /// Spacing of the x ticks (from 0); nil picks a nice step.
    public var xTickStep: Double?
    /// Canvas size, px.
    public var width: Double, height: Double

    /// Creates a chart.
    public init(title: String, xLabel: String, yLabel: String, series: [SVGSeries], logY: Bool = false,
                zeroLine: Bool = false, xTickStep: Double? = nil, width: Double = 760, height: Double = 440) {
        self.title = title
        self.xLabel = xLabel
        self.yLabel = yLabel
        self.series = series
        self.logY = logY
        self.zeroLine = zeroLine
        self.xTickStep = xTickStep
        self.width = width
        self.height = height
    }

    /// Error against forecast horizon (minutes), one series per forecaster; x ticks every 5, 10, 15, 30 or
    /// 60 minutes (the finest giving at most ten intervals).
    public static func errorVersusHorizon(metric: String, minutes: [Int], series: [(name: String, values: [Double])],
                                          title: String? = nil) -> SVGLineChart {
        let last = Double(minutes.max() ?? 60)
        return SVGLineChart(title: title ?? "\(metric) by forecast horizon", xLabel: "minutes ahead",
                            yLabel: "\(metric) (mg/dL)",
                            series: series.map { SVGSeries(name: $0.name, x: minutes.map(Double.init), y: $0.values) },
                            zeroLine: true, xTickStep: [5.0, 10, 15, 30, 60].first { last / $0 <= 10 } ?? 120)
    }

    /// A learning curve: training and validation loss against step (or epoch); validation is dashed with
    /// markers. Either list may be empty.
    public static func learningCurve(train: [(x: Double, loss: Double)], validation: [(x: Double, loss: Double)],
                                     xLabel: String = "step", yLabel: String = "loss", logY: Bool = false,
                                     title: String = "Learning curve") -> SVGLineChart {
        var series: [SVGSeries] = []
        if !train.isEmpty { series.append(SVGSeries(name: "train", x: train.map(\.x), y: train.map(\.loss))) }
        if !validation.isEmpty {
            series.append(SVGSeries(name: "validation", x: validation.map(\.x), y: validation.map(\.loss),
                                    color: SVGPalette.color(1), dashed: true, markers: true))
        }
        return SVGLineChart(title: title, xLabel: xLabel, yLabel: yLabel, series: series, logY: logY)
    }

    /// The SVG document.
    public func render() -> String { document().render() }

    /// Writes the SVG to `path` atomically.
    public func write(to path: String) throws { try document().write(to: path) }

    /// Builds the drawing.
    public func document() -> SVGDocument {
        var svg = SVGDocument(width: width, height: height)
        let legendWidth = series.isEmpty ? 20.0
            : Swift.min(220, 46 + 6.5 * Double(series.map(\.name.count).max() ?? 0))
        let left = 72.0, right = width - legendWidth, top = 44.0, bottom = height - 56
        // Data ranges over drawable points.
        var xs: [Double] = [], ys: [Double] = []
        for s in series {
            for (x, y) in zip(s.x, s.y) where x.isFinite && y.isFinite && (!logY || y > 0) {
                xs.append(x)
                ys.append(y)
            }
        }
        var xAxis = SVGTicks.linear(xs.min() ?? 0, xs.max() ?? 1, count: 8)
        if let step = xTickStep, step > 0, let lo = xs.min(), let hi = xs.max() {
            let lower = Swift.min(0, floor(lo / step) * step), upper = Swift.max(ceil(hi / step) * step, lower + step)
            xAxis = (lower, upper, stride(from: lower, through: upper + step * 1e-9, by: step).map { $0 }, step)
        }
        let xScale = SVGScale(lower: xAxis.lower, upper: xAxis.upper, start: left, end: right)
        let yScale: SVGScale
        let yTicks: [(Double, String)]
        if logY {
            let axis = SVGTicks.logarithmic(ys.min() ?? 1, ys.max() ?? 10)
            yScale = SVGScale(lower: axis.lower, upper: axis.upper, start: bottom, end: top, log: true)
            yTicks = axis.ticks.map { ($0, SVGTicks.label($0)) }
        } else {
            var lo = ys.min() ?? 0, hi = ys.max() ?? 1
            if zeroLine { (lo, hi) = (Swift.min(lo, 0), Swift.max(hi, 0)) }
            let axis = SVGTicks.linear(lo, hi, count: 6)
            yScale = SVGScale(lower: axis.lower, upper: axis.upper, start: bottom, end: top)
            yTicks = axis.ticks.map { ($0, SVGTicks.label($0, step: axis.step)) }
        }
        // Grid, ticks and labels.
        for (value, label) in yTicks {
            let y = yScale(value)
            svg.line(left, y, right, y, stroke: "#e6e6e6", cssClass: "grid")
            svg.line(left - 4, y, left, y, stroke: "#444444", cssClass: "tick")
            svg.text(label, x: left - 7, y: y + 4, size: 11, anchor: "end")
        }
        for value in xAxis.ticks {
            let x = xScale(value)
            svg.line(x, top, x, bottom, stroke: "#f0f0f0", cssClass: "grid")
            svg.line(x, bottom, x, bottom + 4, stroke: "#444444", cssClass: "tick")
            svg.text(SVGTicks.label(value, step: xAxis.step), x: x, y: bottom + 17, size: 11, anchor: "middle")
        }
        if zeroLine && !logY && yScale.lower < 0 && yScale.upper > 0 {
            svg.line(left, yScale(0), right, yScale(0), stroke: "#999999", dash: "4 3", cssClass: "zero")
        }
        svg.line(left, bottom, right, bottom, stroke: "#444444", cssClass: "axis")
        svg.line(left, top, left, bottom, stroke: "#444444", cssClass: "axis")
        svg.text(title, x: (left + right) / 2, y: 24, size: 15, anchor: "middle", bold: true)
        svg.text(xLabel, x: (left + right) / 2, y: height - 16, size: 12, anchor: "middle")
        svg.text(yLabel, x: 18, y: (top + bottom) / 2, size: 12, anchor: "middle", rotate: -90)
        // Series and legend.
        for (i, s) in series.enumerated() {
            let color = s.color ?? SVGPalette.color(i)
            var subpaths: [[(x: Double, y: Double)]] = [[]]
            var points: [(x: Double, y: Double)] = []
            for (x, y) in zip(s.x, s.y) {
                if x.isFinite && yScale.accepts(y) {
                    let p = (x: xScale(x), y: yScale(y))
                    subpaths[subpaths.count - 1].append(p)
                    points.append(p)
                } else if !(subpaths.last?.isEmpty ?? true) {
                    subpaths.append([])
                }
            }
            svg.polyline(subpaths, stroke: color, width: 1.8, dash: s.dashed ? "6 4" : nil, cssClass: "series",
                         title: s.name)
            if s.markers ?? (s.x.count <= 25) {
                for p in points { svg.circle(p.x, p.y, radius: 2.6, fill: color, cssClass: "marker") }
            }
            let ly = top + 8 + Double(i) * 18
            svg.line(right + 12, ly, right + 34, ly, stroke: color, width: 2.2, dash: s.dashed ? "6 4" : nil,
                     cssClass: "legend")
            svg.text(s.name, x: right + 40, y: ly + 4, size: 11)
        }
        return svg
    }
}
