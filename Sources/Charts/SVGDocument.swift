// A tiny dependency-free SVG builder: shapes and text appended in drawing order, rendered as one
// standalone SVG 1.1 document. Text is XML-escaped; coordinates are printed with at most two decimals.

import Foundation

/// An SVG document under construction.
public struct SVGDocument: Sendable {
    /// Canvas width in px.
    public var width: Double
    /// Canvas height in px.
    public var height: Double
    /// Element markup, in drawing order.
    public private(set) var elements: [String] = []
    /// Markup placed in `<defs>` (gradients).
    public private(set) var definitions: [String] = []

    /// An empty white canvas.
    public init(width: Double, height: Double) {
        self.width = width
        self.height = height
    }

    /// Appends raw markup (must be well-formed XML).
    public mutating func raw(_ markup: String) { elements.append(markup) }

    /// Appends a `<defs>` entry (well-formed XML).
    public mutating func define(_ markup: String) { definitions.append(markup) }

    /// A straight line.
    public mutating func line(_ x1: Double, _ y1: Double, _ x2: Double, _ y2: Double, stroke: String = "#000000",
                              width: Double = 1, dash: String? = nil, cssClass: String? = nil) {
        elements.append("<line\(Self.classAttribute(cssClass)) x1=\"\(Self.number(x1))\" y1=\"\(Self.number(y1))\" "
            + "x2=\"\(Self.number(x2))\" y2=\"\(Self.number(y2))\" stroke=\"\(Self.escape(stroke))\" "
            + "stroke-width=\"\(Self.number(width))\"\(dash.map { " stroke-dasharray=\"\(Self.escape($0))\"" } ?? "")/>")
    }

    /// A rectangle.
    public mutating func rect(_ x: Double, _ y: Double, _ w: Double, _ h: Double, fill: String,
                              stroke: String? = nil, cssClass: String? = nil, tooltip: String? = nil) {
        let open = "<rect\(Self.classAttribute(cssClass)) x=\"\(Self.number(x))\" y=\"\(Self.number(y))\" "
            + "width=\"\(Self.number(w))\" height=\"\(Self.number(h))\" fill=\"\(Self.escape(fill))\""
            + (stroke.map { " stroke=\"\(Self.escape($0))\" stroke-width=\"0.5\"" } ?? "")
        elements.append(tooltip.map { "\(open)><title>\(Self.escape($0))</title></rect>" } ?? "\(open)/>")
    }

    /// A filled circle.
    public mutating func circle(_ cx: Double, _ cy: Double, radius: Double, fill: String, cssClass: String? = nil) {
        elements.append("<circle\(Self.classAttribute(cssClass)) cx=\"\(Self.number(cx))\" cy=\"\(Self.number(cy))\" "
            + "r=\"\(Self.number(radius))\" fill=\"\(Self.escape(fill))\"/>")
    }

    /// Text; `anchor` is start, middle or end; `rotate` degrees about (x, y).
    public mutating func text(_ string: String, x: Double, y: Double, size: Double = 12, anchor: String = "start",
                              rotate: Double = 0, bold: Bool = false, fill: String = "#222222") {
        let transform = rotate == 0 ? ""
            : " transform=\"rotate(\(Self.number(rotate)) \(Self.number(x)) \(Self.number(y)))\""
        elements.append("<text x=\"\(Self.number(x))\" y=\"\(Self.number(y))\" font-size=\"\(Self.number(size))\" "
            + "text-anchor=\"\(anchor)\" fill=\"\(Self.escape(fill))\"\(bold ? " font-weight=\"bold\"" : "")\(transform)>"
            + "\(Self.escape(string))</text>")
    }

    /// One `<path>` of polylines: each inner array is a sub-path (`M` then `L`s); empty sub-paths are skipped.
    public mutating func polyline(_ subpaths: [[(x: Double, y: Double)]], stroke: String, width: Double = 1.5,
                                  dash: String? = nil, cssClass: String? = nil, title: String? = nil) {
        var d: [String] = []
        for points in subpaths where !points.isEmpty {
            for (i, p) in points.enumerated() { d.append("\(i == 0 ? "M" : "L")\(Self.number(p.x)) \(Self.number(p.y))") }
        }
        let open = "<path\(Self.classAttribute(cssClass)) d=\"\(d.joined(separator: " "))\" fill=\"none\" "
            + "stroke=\"\(Self.escape(stroke))\" stroke-width=\"\(Self.number(width))\" stroke-linejoin=\"round\""
            + (dash.map { " stroke-dasharray=\"\(Self.escape($0))\"" } ?? "")
        elements.append(title.map { "\(open)><title>\(Self.escape($0))</title></path>" } ?? "\(open)/>")
    }

    /// The complete document.
    public func render() -> String {
        var out = "<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n"
        out += "<svg xmlns=\"http://www.w3.org/2000/svg\" version=\"1.1\" width=\"\(Self.number(width))\" "
            + "height=\"\(Self.number(height))\" viewBox=\"0 0 \(Self.number(width)) \(Self.number(height))\" "
            + "font-family=\"Helvetica, Arial, sans-serif\">\n"
        if !definitions.isEmpty { out += "<defs>\n" + definitions.joined(separator: "\n") + "\n</defs>\n" }
        out += "<rect x=\"0\" y=\"0\" width=\"\(Self.number(width))\" height=\"\(Self.number(height))\" fill=\"#ffffff\"/>\n"
        for e in elements { out += e + "\n" }
        out += "</svg>\n"
        return out
    }

    /// Writes the document to `path` atomically (Foundation's `.atomic`: a temporary file in the same
    /// directory, then a rename), so a reader never sees a half-written chart.
    public func write(to path: String) throws {
        do {
            try Data(render().utf8).write(to: URL(fileURLWithPath: path), options: .atomic)
        } catch {
            throw ChartWriteError(description: "cannot write '\(path)': \(error.localizedDescription)")
        }
    }

    // MARK: Formatting

    /// XML-escapes text and attribute values.
    public static func escape(_ s: String) -> String {
        var out = ""
        out.reserveCapacity(s.count)
        for c in s {
            switch c {
            case "&": out += "&amp;"
            case "<": out += "&lt;"
            case ">": out += "&gt;"
            case "\"": out += "&quot;"
            case "'": out += "&apos;"
            default: out.append(c)
            }
        }
        return out
    }

    /// A coordinate with at most two decimals ("12.5", "3", "-0.25"); non-finite values print as 0.
    public static func number(_ x: Double) -> String {
        guard x.isFinite else { return "0" }
        var s = String(format: "%.2f", x)
        while s.hasSuffix("0") { s.removeLast() }
        if s.hasSuffix(".") { s.removeLast() }
        return s == "-0" ? "0" : s
    }

    private static func classAttribute(_ cssClass: String?) -> String {
        cssClass.map { " class=\"\(escape($0))\"" } ?? ""
    }
}

/// Colors for charts.
public enum SVGPalette {
    /// Distinct series colors (Tableau 10), cycled.
    public static let series = ["#1f77b4", "#ff7f0e", "#2ca02c", "#d62728", "#9467bd",
                                "#8c564b", "#e377c2", "#7f7f7f", "#bcbd22", "#17becf"]

    /// The color of series `i`.
    public static func color(_ i: Int) -> String { series[i % series.count] }

    /// Color of a missing (non-finite) heatmap cell.
    public static let missing = "#d9d9d9"

    /// Matplotlib's viridis at t ∈ [0, 1] (piecewise-linear through nine of its samples).
    public static func viridis(_ t: Double) -> String {
        interpolate(t, [(0x44, 0x01, 0x54), (0x48, 0x28, 0x78), (0x3e, 0x49, 0x89), (0x31, 0x68, 0x8e),
                        (0x26, 0x82, 0x8e), (0x1f, 0x9e, 0x89), (0x35, 0xb7, 0x79), (0x6e, 0xce, 0x58),
                        (0xfd, 0xe7, 0x25)])
    }

    /// A blue–white–red diverging map at t ∈ [0, 1] (white at 0.5), for signed values.
    public static func diverging(_ t: Double) -> String {
        interpolate(t, [(0x21, 0x66, 0xac), (0x92, 0xc5, 0xde), (0xf7, 0xf7, 0xf7), (0xf4, 0xa5, 0x82),
                        (0xb2, 0x18, 0x2b)])
    }

    private static func interpolate(_ t: Double, _ stops: [(Int, Int, Int)]) -> String {
        let u = t.isFinite ? Swift.min(Swift.max(t, 0), 1) : 0
        let position = u * Double(stops.count - 1)
        let i = Swift.min(Int(position), stops.count - 2)
        let f = position - Double(i)
        let a = stops[i], b = stops[i + 1]
        func mix(_ x: Int, _ y: Int) -> Int { Int((Double(x) + (Double(y) - Double(x)) * f).rounded()) }
        return String(format: "#%02x%02x%02x", mix(a.0, b.0), mix(a.1, b.1), mix(a.2, b.2))
    }
}

/// A chart that could not be written; names the path.
public struct ChartWriteError: Error, CustomStringConvertible {
    public let description: String
}
