// Axis scales and "nice" tick values (1, 2, 5 × 10^k steps; decades on log axes) for the SVG charts.

import Foundation

/// A map from data values to pixels, linear or log10.
public struct SVGScale: Sendable, Equatable {
    /// Data interval (positive on a log scale).
    public var lower: Double, upper: Double
    /// Pixel interval that `lower` and `upper` map to.
    public var start: Double, end: Double
    /// Log10 scale.
    public var log: Bool

    /// Creates a scale.
    public init(lower: Double, upper: Double, start: Double, end: Double, log: Bool = false) {
        self.lower = lower
        self.upper = upper
        self.start = start
        self.end = end
        self.log = log
    }

    /// The pixel position of `value` (NaN for non-positive values on a log scale).
    public func callAsFunction(_ value: Double) -> Double {
        let (a, b, v) = log ? (log10(lower), log10(upper), value > 0 ? log10(value) : .nan) : (lower, upper, value)
        return b == a ? (start + end) / 2 : start + (v - a) / (b - a) * (end - start)
    }

    /// Whether `value` can be drawn (finite, and positive on a log scale).
    public func accepts(_ value: Double) -> Bool { value.isFinite && (!log || value > 0) }
}

/// Tick positions and labels.
public enum SVGTicks {
    /// A "nice" linear axis covering [lo, hi] with about `count` intervals: the step is 1, 2 or 5 × 10^k and
    /// the bounds are rounded outward to multiples of it. Returns the widened bounds and the ticks.
    public static func linear(_ lo: Double, _ hi: Double, count: Int = 5)
        -> (lower: Double, upper: Double, ticks: [Double], step: Double) {
        var lo = lo, hi = hi
        if !(lo.isFinite && hi.isFinite) { (lo, hi) = (0, 1) }
        if lo == hi { (lo, hi) = lo == 0 ? (-1, 1) : (lo - Swift.abs(lo) * 0.1, hi + Swift.abs(hi) * 0.1) }
        let raw = (hi - lo) / Double(Swift.max(count, 1))
        let magnitude = pow(10, floor(log10(raw)))
        let r = raw / magnitude
        let step = (r <= 1 ? 1 : r <= 2 ? 2 : r <= 5 ? 5 : 10) * magnitude
        let lower = floor(lo / step + 1e-9) * step, upper = ceil(hi / step - 1e-9) * step
        var ticks: [Double] = []
        var k = 0
        while true {
            let t = lower + Double(k) * step
            if t > upper + step * 1e-6 { break }
            ticks.append(Swift.abs(t) < step * 1e-9 ? 0 : t)
            k += 1
        }
        return (lower, upper, ticks, step)
    }

    /// A log10 axis covering [lo, hi] (both > 0). Spanning more than two decades: bounds widened to decades,
    /// ticks at decades. Otherwise ticks at 1, 2 and 5 × 10^k, bounds widened to the nearest such values.
    public static func logarithmic(_ lo: Double, _ hi: Double) -> (lower: Double, upper: Double, ticks: [Double]) {
        var lo = lo, hi = hi
        if !(lo.isFinite && hi.isFinite && lo > 0 && hi > 0) { (lo, hi) = (1, 10) }
        var a = floor(log10(lo) + 1e-9), b = ceil(log10(hi) - 1e-9)
        if a == b { (a, b) = (a, a + 1) }
        if b - a > 2 {
            return (pow(10, a), pow(10, b), (Int(a)...Int(b)).map { pow(10, Double($0)) })
        }
        var candidates: [Double] = []
        for e in Int(a)...Int(b) { for m in [1.0, 2, 5] { candidates.append(m * pow(10, Double(e))) } }
        let tolerance = 1e-9
        let lower = candidates.last { $0 <= lo * (1 + tolerance) } ?? pow(10, a)
        let upper = candidates.first { $0 >= hi * (1 - tolerance) } ?? pow(10, b)
        return (lower, upper, candidates.filter { $0 >= lower && $0 <= upper })
    }

    /// A tick label: enough decimals for `step` on linear axes; compact scientific notation for very small or
    /// large values.
    public static func label(_ value: Double, step: Double? = nil) -> String {
        if value == 0 { return "0" }
        let magnitude = Swift.abs(value)
        let reference = step ?? magnitude
        if magnitude >= 1e6 || reference < 1e-4 {
            return String(format: "%.0e", value).replacingOccurrences(of: "e+0", with: "e")
                .replacingOccurrences(of: "e-0", with: "e-").replacingOccurrences(of: "e+", with: "e")
        }
        let decimals = Swift.max(0, Int(-floor(log10(reference) + 1e-9)))
        return String(format: "%.\(Swift.min(decimals, 6))f", value)
    }
}
