// Fitting the residual targets' scale σ_h (GlucoseChangeScale, in CGMSchema) on training series or windows.

import CGMSchema
import Foundation

extension GlucoseChangeScale {
    /// Fits σ_1 … σ_horizon on the in-scope data of `features` (`scope[s]`: the last training Unix second of
    /// subject s, nil for none). A step without a single pair (a cohort shorter than the horizon) takes the
    /// previous step's σ grown as a random walk, σ_h = σ_{h−1}·√(h/(h−1)); with no pairs at all, σ_1 = 0.02
    /// (about 5 minutes' change at 100–200 mg/dL).
    public static func fit(features: [SubjectFeatures], scope: [Int64?], horizon: Int) -> GlucoseChangeScale {
        precondition(horizon >= 1 && features.count == scope.count, "GlucoseChangeScale.fit: bad arguments")
        var sums = [Double](repeating: 0, count: horizon)
        var counts = [Int](repeating: 0, count: horizon)
        for (s, f) in features.enumerated() {
            guard let cutoff = scope[s] else { continue }
            let scaled = f.cgm.map { $0.isNaN ? Double.nan : Double(FeatureCatalog.scaleCGM($0)) }
            for seg in f.segments {
                for i in seg {
                    let gi = scaled[i]
                    if gi.isNaN { continue }
                    for h in 1 ... horizon {
                        let j = i + h
                        if j >= seg.upperBound || f.time(at: j) > cutoff { break }
                        let gj = scaled[j]
                        if gj.isNaN { continue }
                        sums[h - 1] += (gj - gi) * (gj - gi)
                        counts[h - 1] += 1
                    }
                }
            }
        }
        var rms = [Double](repeating: 0, count: horizon)
        for h in 0 ..< horizon {
            if counts[h] > 0, sums[h] > 0 {
                rms[h] = (sums[h] / Double(counts[h])).squareRoot()
            } else {
                rms[h] = h == 0 ? 0.02 : rms[h - 1] * (Double(h + 1) / Double(h)).squareRoot()
            }
        }
        return GlucoseChangeScale(rms: rms, pairs: counts)
    }

    /// σ_h from windows instead of series: the RMS over `windows` of s(g_{t+h}) − s(g_t), with s(g_t) the `cgm_scaled`
    /// past feature at the decision step (for datasets built window by window, e.g. test fixtures).
    public static func fit(windows w: WindowSet) -> GlucoseChangeScale {
        guard let c = w.pastFeatures.firstIndex(of: FeatureCatalog.cgmScaled) else {
            preconditionFailure("GlucoseChangeScale.fit(windows:): the windows have no cgm_scaled past feature")
        }
        let l = w.history, h = w.horizon, p = w.pastFeatures.count, n = w.target.count / max(h, 1)
        var sums = [Double](repeating: 0, count: h)
        for i in 0 ..< n {
            let last = Double(w.past[(i * l + l - 1) * p + c])
            for j in 0 ..< h {
                let d = Double(FeatureCatalog.scaleCGM(w.target[i * h + j])) - last
                sums[j] += d * d
            }
        }
        return GlucoseChangeScale(rms: sums.map { n > 0 && $0 > 0 ? ($0 / Double(n)).squareRoot() : 0.02 },
                                  pairs: [Int](repeating: n, count: h))
    }
}
