// The scale of residual forecasting targets (issue 14). A residual forecaster predicts the change of
// eq. 11-scaled glucose s(g) from the last observed value, standardized per horizon step:
//
//   z_h = (s(g_{t+h}) − s(g_t)) / σ_h,   σ_h = sqrt(mean over training pairs of (s(g_{i+h}) − s(g_i))²),  h = 1 … H
//
// σ_h is a root mean square, not a standard deviation: nothing is subtracted, so z = 0 is persistence exactly
// and an untrained (zero) head forecasts the last value. Dividing by σ_h gives every horizon step targets of
// unit RMS, so the 5-minute step (σ ≈ 0.01 in eq. 11 units) weighs in the loss as much as the 4-hour one
// (σ ≈ 0.3) instead of vanishing beside it. Pairs are taken within contiguous CGM segments (interpolated
// points included, as in the windows) of training data only (`FeatureSpec.fit`'s scope), in Double; the
// fitting is in CGMData (GlucoseChangeScaleFitting.swift).

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
}
