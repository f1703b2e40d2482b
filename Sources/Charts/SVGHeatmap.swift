// Heatmaps as SVG: a matrix drawn as colored cells (<rect class="cell">, row 0 at the top) with row and
// column labels, a title and a vertical colorbar with ticks. For hyper-parameter sweeps and
// interpretability maps (e.g. attribution by feature × time step, detection rate by threshold × window).

import Foundation

/// A heatmap of a rows × columns matrix.
public struct SVGHeatmap: Sendable {
    /// Color maps.
    public enum ColorMap: Sendable, Equatable {
        /// Sequential (viridis), for non-negative magnitudes.
        case viridis
        /// Blue–white–red centered on zero (symmetric range), for signed values.
        case diverging
    }

    /// Title above the cells.
    public var title: String
    /// Label under the column labels.
    public var xLabel: String
    /// Label left of the row labels.
    public var yLabel: String
    /// values[row][column]; non-finite cells are drawn gray.
    public var values: [[Double]]
    /// One label per row (top to bottom).
    public var rowLabels: [String]
    /// One label per column (left to right).
    public var columnLabels: [String]
    /// Colorbar caption.
    public var colorbarLabel: String
    /// Color map.
    public var colorMap: ColorMap
    /// Value range mapped to the color map's ends; nil uses the finite data's min and max (±max|v| when
    /// diverging).
    public var range: ClosedRange<Double>?
    /// Print each value in its cell (only when cells are large enough).
    public var annotate: Bool
    /// Cell size, px.
    public var cellWidth: Double, cellHeight: Double

    /// Creates a heatmap; every row must have `columnLabels.count` values.
    public init(title: String, xLabel: String, yLabel: String, values: [[Double]], rowLabels: [String],
                columnLabels: [String], colorbarLabel: String = "", colorMap: ColorMap = .viridis,
                range: ClosedRange<Double>? = nil, annotate: Bool = false, cellWidth: Double = 36,
                cellHeight: Double = 24) {
        precondition(values.count == rowLabels.count, "SVGHeatmap: \(values.count) rows but \(rowLabels.count) labels")
        precondition(values.allSatisfy { $0.count == columnLabels.count },
                     "SVGHeatmap: every row needs \(columnLabels.count) values")
        self.title = title
        self.xLabel = xLabel
        self.yLabel = yLabel
        self.values = values
        self.rowLabels = rowLabels
        self.columnLabels = columnLabels
        self.colorbarLabel = colorbarLabel
        self.colorMap = colorMap
        self.range = range
        self.annotate = annotate
        self.cellWidth = cellWidth
        self.cellHeight = cellHeight
    }

    /// The SVG document.
    public func render() -> String { document().render() }

    /// Writes the SVG to `path` atomically.
    public func write(to path: String) throws { try document().write(to: path) }

    /// The value range actually mapped to colors.
    public var effectiveRange: ClosedRange<Double> {
        if let range { return range }
        let finite = values.joined().filter(\.isFinite)
        guard var lo = finite.min(), var hi = finite.max() else { return 0...1 }
        if colorMap == .diverging {
            let m = Swift.max(Swift.abs(lo), Swift.abs(hi))
            (lo, hi) = (-m, m)
        }
        return lo == hi ? (lo - 1)...(hi + 1) : lo...hi
    }

    /// Builds the drawing.
    public func document() -> SVGDocument {
        let rows = values.count, cols = columnLabels.count
        let rowLabelWidth = 14 + 6.5 * Double(rowLabels.map(\.count).max() ?? 0)
        let columnLabelHeight = 14 + 5 * Double(columnLabels.map(\.count).max() ?? 0)
        let left = 34 + rowLabelWidth, top = 46.0
        let plotWidth = Double(cols) * cellWidth, plotHeight = Double(rows) * cellHeight
        let barX = left + plotWidth + 24, barWidth = 16.0
        let width = barX + barWidth + 90
        let height = top + plotHeight + columnLabelHeight + 36
        var svg = SVGDocument(width: width, height: Swift.max(height, top + 160))
        let r = effectiveRange
        func color(_ v: Double) -> String {
            guard v.isFinite else { return SVGPalette.missing }
            let t = (v - r.lowerBound) / (r.upperBound - r.lowerBound)
            return colorMap == .viridis ? SVGPalette.viridis(t) : SVGPalette.diverging(t)
        }
        svg.text(title, x: left + plotWidth / 2, y: 26, size: 15, anchor: "middle", bold: true)
        let showValues = annotate && cellWidth >= 30 && cellHeight >= 14
        // Value labels resolve 1% of the color range.
        let labelStep = (r.upperBound - r.lowerBound) / 100
        func valueLabel(_ v: Double) -> String { v.isFinite ? SVGTicks.label(v, step: labelStep) : "n/a" }
        for (i, row) in values.enumerated() {
            for (j, v) in row.enumerated() {
                let x = left + Double(j) * cellWidth, y = top + Double(i) * cellHeight
                svg.rect(x, y, cellWidth, cellHeight, fill: color(v), stroke: "#ffffff", cssClass: "cell",
                         tooltip: "\(rowLabels[i]), \(columnLabels[j]): \(valueLabel(v))")
                if showValues && v.isFinite {
                    let t = (v - r.lowerBound) / (r.upperBound - r.lowerBound)
                    let dark = colorMap == .viridis ? t > 0.6 : Swift.abs(t - 0.5) < 0.3
                    svg.text(valueLabel(v), x: x + cellWidth / 2,
                             y: y + cellHeight / 2 + 4, size: 9, anchor: "middle", fill: dark ? "#222222" : "#ffffff")
                }
            }
        }
        // Labels: thin out when cells are small.
        let rowEvery = Swift.max(1, Int((12 / cellHeight).rounded(.up)))
        for (i, label) in rowLabels.enumerated() where i % rowEvery == 0 {
            svg.text(label, x: left - 6, y: top + (Double(i) + 0.5) * cellHeight + 4, size: 11, anchor: "end")
        }
        let columnEvery = Swift.max(1, Int((12 / cellWidth).rounded(.up)))
        let rotateColumns = columnLabels.contains { Double($0.count) * 6.5 > cellWidth }
        for (j, label) in columnLabels.enumerated() where j % columnEvery == 0 {
            let x = left + (Double(j) + 0.5) * cellWidth, y = top + plotHeight + 14
            svg.text(label, x: x, y: y, size: 11, anchor: rotateColumns ? "end" : "middle",
                     rotate: rotateColumns ? -45 : 0)
        }
        svg.text(xLabel, x: left + plotWidth / 2, y: top + plotHeight + columnLabelHeight + 22, size: 12,
                 anchor: "middle")
        svg.text(yLabel, x: 16, y: top + plotHeight / 2, size: 12, anchor: "middle", rotate: -90)
        // Colorbar: a vertical gradient (top = upper bound) with ticks.
        let stops = (0...16).map { k -> String in
            let t = Double(k) / 16
            let v = r.upperBound - t * (r.upperBound - r.lowerBound)
            return "<stop offset=\"\(SVGDocument.number(t * 100))%\" stop-color=\"\(color(v))\"/>"
        }
        svg.define("<linearGradient id=\"colorbar\" x1=\"0\" y1=\"0\" x2=\"0\" y2=\"1\">"
            + stops.joined() + "</linearGradient>")
        let barHeight = Swift.max(plotHeight, 120)
        svg.raw("<rect class=\"colorbar\" x=\"\(SVGDocument.number(barX))\" y=\"\(SVGDocument.number(top))\" "
            + "width=\"\(SVGDocument.number(barWidth))\" height=\"\(SVGDocument.number(barHeight))\" "
            + "fill=\"url(#colorbar)\" stroke=\"#444444\" stroke-width=\"0.5\"/>")
        let axis = SVGTicks.linear(r.lowerBound, r.upperBound, count: 5)
        let scale = SVGScale(lower: r.lowerBound, upper: r.upperBound, start: top + barHeight, end: top)
        for tick in axis.ticks where tick >= r.lowerBound - 1e-12 && tick <= r.upperBound + 1e-12 {
            let y = scale(tick)
            svg.line(barX + barWidth, y, barX + barWidth + 4, y, stroke: "#444444", cssClass: "tick")
            svg.text(SVGTicks.label(tick, step: axis.step), x: barX + barWidth + 7, y: y + 4, size: 10)
        }
        if !colorbarLabel.isEmpty {
            svg.text(colorbarLabel, x: barX + barWidth + 64, y: top + barHeight / 2, size: 11, anchor: "middle",
                     rotate: 90)
        }
        return svg
    }
}
