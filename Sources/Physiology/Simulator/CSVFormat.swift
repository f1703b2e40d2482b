/// Deterministic, locale-free number formatting for the CSV files (no `String(format:)`).
enum CSVFormat {
    /// `v` with exactly `decimals` digits after the point, rounded half away from zero.
    static func fixed(_ v: Double, _ decimals: Int) -> String {
        guard v.isFinite else { return "" }
        var scale = 1.0
        for _ in 0..<decimals { scale *= 10 }
        let scaled = Int64((abs(v) * scale).rounded())
        let negative = v < 0 && scaled != 0
        var s = String(scaled / Int64(scale))
        if decimals > 0 {
            let frac = String(scaled % Int64(scale))
            s += "." + String(repeating: "0", count: decimals - frac.count) + frac
        }
        return negative ? "-" + s : s
    }

    /// An optional value, empty when absent.
    static func optional(_ v: Double?, _ decimals: Int) -> String { v.map { fixed($0, decimals) } ?? "" }

    /// An optional integer, empty when absent.
    static func optional(_ v: Int?) -> String { v.map { String($0) } ?? "" }
}
