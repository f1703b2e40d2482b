// The ODE-state extras of a prepared window (`data.ode_states: true`; written by CGMData's PrepareODEStates,
// read by the PhysioSeq2Seq and digital-twin models):
//
//   extras/ode_hist       (L, 10)  X_hist: states of the matched twin over the history, eq. 1 order
//   extras/ode_fut        (H, 10)  X_fut:  its states over the horizon under basal-only inputs
//   extras/twin_forecast  (H)      the twin's glucose along X_fut (eq. 4), mg/dL
//
// States are stored raw, in physical units; models scale them with `ODEStateScaling`.

import Foundation

/// Names and shapes of the ODE-state extras (see the file header).
public enum ODEStateExtras {
    /// `extras` name of X_hist, (L, 10).
    public static let history = "ode_hist"
    /// `extras` name of X_fut, (H, 10).
    public static let future = "ode_fut"
    /// `extras` name of the twin's basal-only glucose forecast, (H), mg/dL.
    public static let twinForecast = "twin_forecast"
    /// Number of ODE states (eq. 1; Physiology's `HovorkaState.count`, which a CGMData test checks it equals).
    public static let stateCount = 10

    /// Per-window shapes of the three extras.
    public static func shapes(history: Int, horizon: Int) -> [String: [Int]] {
        [Self.history: [history, stateCount], future: [horizon, stateCount], twinForecast: [horizon]]
    }
}

/// The fixed scaling of ODE states before they enter an LSTM (PhysioSeq2Seq §3.5 feeds x_k to the encoder
/// and x_{t+i} to the decoder; the paper does not say how it scales them).
///
/// Per state i: `x̃ = sign(x) · log(1 + |x| / c_i)`, with `c_i` the state's typical magnitude at a basal
/// steady state of the standard Hovorka patient (120 mg/dL, ~1 U/h, 70 kg: Q1 ≈ 1.1 mmol/kg, S1 = S2 ≈
/// 13 mU/kg, I ≈ 14 mU/L, X1 ≈ 0.07 /min, X2 ≈ 0.01 /min, X3 ≈ 0.7), and 10 g for the gut states. Typical
/// values land in about [0, 1.5]; the log compresses bolus peaks (S, I several times basal) and meals; it
/// is monotone, odd, finite for every finite input (NaN passes through) and needs no fitted constants, so every rank and
/// every split scale identically.
public enum ODEStateScaling {
    /// `c_i` in eq. 1 order [Q1, Q2, S1, S2, I, X1, X2, X3, M1, M2].
    public static let scales: [Float] = [1, 1, 10, 10, 10, 0.05, 0.01, 0.5, 10, 10]

    /// Scales row-major `(…, 10)` states (a new array, same layout).
    public static func scale(_ values: [Float]) -> [Float] {
        precondition(values.count % scales.count == 0, "ODEStateScaling: \(values.count) values is not a multiple of 10")
        var out = values
        for k in out.indices {
            let x = out[k], c = scales[k % scales.count]
            out[k] = (x < 0 ? -1 : 1) * log1p(abs(x) / c)   // NaN stays NaN: never hidden
        }
        return out
    }
}
