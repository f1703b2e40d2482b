// Small statistics helpers shared by the metrics, and the JSON wrapper that keeps NaN out of metrics.json.

/// A Double that encodes as JSON `null` when it is not finite (NaN or ±∞) and decodes `null` as NaN, so
/// `metrics.json` never contains a literal that JSON parsers reject. Two NaNs compare equal.
@propertyWrapper
public struct NullIfNonFinite: Codable, Equatable, Hashable, Sendable {
    public var wrappedValue: Double

    public init(wrappedValue: Double) { self.wrappedValue = wrappedValue }

    public init(from decoder: Decoder) throws {
        let c = try decoder.singleValueContainer()
        wrappedValue = c.decodeNil() ? .nan : try c.decode(Double.self)
    }

    public func encode(to encoder: Encoder) throws {
        var c = encoder.singleValueContainer()
        if wrappedValue.isFinite { try c.encode(wrappedValue) } else { try c.encodeNil() }
    }

    public static func == (a: Self, b: Self) -> Bool {
        a.wrappedValue == b.wrappedValue || (a.wrappedValue.isNaN && b.wrappedValue.isNaN)
    }

    public func hash(into hasher: inout Hasher) {
        hasher.combine(wrappedValue.isNaN ? Double.nan.bitPattern : wrappedValue.bitPattern)
    }
}

/// Percentiles and other order statistics.
public enum Percentile {
    /// The `p`-th quantile (p in [0, 1]) of ascending `sorted` values by linear interpolation between closest
    /// ranks — NumPy's default (`numpy.percentile(x, 100·p)`, method "linear"): position p·(n−1), then
    /// NumPy's two-sided lerp. NaN for an empty input or when any value is NaN.
    public static func of(sorted x: [Double], _ p: Double) -> Double {
        guard !x.isEmpty, !x.contains(where: \.isNaN) else { return .nan }
        let position = p * Double(x.count - 1)
        let lo = Swift.min(Swift.max(Int(position.rounded(.down)), 0), x.count - 1)
        let hi = Swift.min(lo + 1, x.count - 1)
        let t = position - Double(lo)
        let a = x[lo], b = x[hi]
        if a == b { return a }
        let d = b - a
        // numpy.lib._function_base_impl._lerp: a + d·t, or b − d·(1−t) for t ≥ 0.5.
        return t >= 0.5 ? b - d * (1 - t) : a + d * t
    }

    /// Sorts (NaN-safe: any NaN makes every percentile NaN) and returns the requested quantiles.
    public static func of(_ values: [Double], _ ps: [Double]) -> [Double] {
        if values.contains(where: \.isNaN) { return ps.map { _ in .nan } }
        let sorted = values.sorted()
        return ps.map { of(sorted: sorted, $0) }
    }
}
