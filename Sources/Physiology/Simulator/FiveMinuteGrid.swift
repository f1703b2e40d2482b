/// A subject's CGM and insulin/carbohydrate inputs resampled onto the 5-minute grid (Algorithm 1,
/// line 2), straight from a `SubjectRecord` — for the twin-matching benchmark and tests, which need
/// windows without going through CSV ingest.
///
/// Bin `k` is the grid time `k · 5 min`: `cgm[k]` is the reading nearest to it within ±2.5 min
/// (NaN if none), `bolusU[k]`/`carbsG[k]` sum the boluses and logged carbohydrates in
/// `[k, k+1)`, `basalUPerH[k]` is the rate at the start of the bin.
public struct FiveMinuteGrid: Sendable {
    public let cgm: [Float]
    public let bolusU: [Float]
    public let basalUPerH: [Float]
    public let carbsG: [Float]

    public init(_ r: SubjectRecord) {
        let bins = r.minutes / 5
        var cgm = [Float](repeating: .nan, count: bins)
        var best = [Int64](repeating: .max, count: bins)
        for (t, v) in r.readings {
            let k = Int((t + 150) / 300)
            guard k >= 0 && k < bins else { continue }
            let d = abs(t - Int64(k) * 300)
            if d < best[k] {
                best[k] = d
                cgm[k] = v.map(Float.init) ?? .nan
            }
        }
        var bolus = [Float](repeating: 0, count: bins)
        for b in r.boluses where b.minute / 5 < bins { bolus[b.minute / 5] += Float(b.units) }
        var carbs = [Float](repeating: 0, count: bins)
        for m in r.meals where m.logged && Int(m.minute) / 5 < bins { carbs[Int(m.minute) / 5] += Float(m.carbs) }
        self.cgm = cgm
        bolusU = bolus
        carbsG = carbs
        basalUPerH = (0..<bins).map { r.basal[$0 * 5] }
    }

    /// Number of bins.
    public var count: Int { cgm.count }

    /// The window of `length` bins ending at bin `end` (the decision time), insulin only as in the
    /// paper unless `withCarbs`.
    public func window(endingAt end: Int, length: Int = TwinMatcher.historyLength, withCarbs: Bool = false) -> TwinWindow {
        let r = (end - length + 1)...end
        return TwinWindow(cgm: Array(cgm[r]), bolusU: Array(bolusU[r]), basalUPerH: Array(basalUPerH[r]),
                          carbsG: withCarbs ? Array(carbsG[r]) : nil)
    }
}
