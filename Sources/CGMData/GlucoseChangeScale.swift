// The scale of residual forecasting targets (issue 14). A residual forecaster predicts the change of
// eq. 11-scaled glucose s(g) from the last observed value, standardized per horizon step:
//
//   z_h = (s(g_{t+h}) − s(g_t)) / σ_h,   σ_h = sqrt(mean over training pairs of (s(g_{i+h}) − s(g_i))²),  h = 1 … H
//
// σ_h is a root mean square, not a standard deviation: nothing is subtracted, so z = 0 is persistence exactly
// and an untrained (zero) head forecasts the last value. Dividing by σ_h gives every horizon step targets of
// unit RMS, so the 5-minute step (σ ≈ 0.01 in eq. 11 units) weighs in the loss as much as the 4-hour one
// (σ ≈ 0.3) instead of vanishing beside it. Pairs are taken within contiguous CGM segments (interpolated
// points included, as in the windows) of training data only (`FeatureSpec.fit`'s scope), in Double.

import Foundation

/// Per-horizon-step RMS of the change of eq. 11-scaled glucose on training data (see the file header).
public struct GlucoseChangeScale: Codable, Equatable, Sendable {
    /// σ_h for h = 1 … H, eq. 11 units.
    public var rms: [Double]
    /// Pairs each σ_h was computed from.
    public var pairs: [Int]

    /// Creates a scale from known values.
    public init(rms: [Double], pairs: [Int]) {
        self.rms = rms
        self.pairs = pairs
    }

    /// σ_h as Float, h = 1 … H.
    public var floats: [Float] { rms.map { Float($0) } }

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
