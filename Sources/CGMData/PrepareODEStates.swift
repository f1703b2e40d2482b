// ODE states in the shards (`data.ode_states: true`): the twin matching that `prepare` already runs for QC
// rule 6 (Algorithm 1 pass 1) also runs passes 2 and 3, and its results are stored per window instead of
// being discarded, so training never repeats them:
//
//   extras/ode_hist       (L, 10)  X_hist: states x_{t0} … x_t of the matched twin (pass 2), eq. 1 order
//   extras/ode_fut        (H, 10)  X_fut:  states x_{t+1} … x_{t+H} under basal-only inputs (pass 3)
//   extras/twin_forecast  (H)      the twin's glucose along X_fut (eq. 4), mg/dL: the "Digital twin"
//                                  baseline of section 4.2
//
// States are stored raw, in physical units (HovorkaState: Q mmol/kg, S mU/kg, I mU/L, X1/X2 1/min, X3
// dimensionless, M g), so the shards stay interpretable and model-independent. Models scale them with
// `ODEStateScaling` (a fixed per-state symmetric log, no fitted constants: nothing depends on the split or
// on the number of ranks).
//
// Requirements (checked by DataConfig): rule 6 enabled (the states come from its match) and L ≤ 37, so the
// twin's window is exactly the L history steps.

import Foundation
import Physiology

/// Names, shapes and extraction of the ODE-state extras written by `prepare` (see the file header).
public enum PrepareODEStates {
    /// `extras` name of X_hist, (L, 10).
    public static let history = "ode_hist"
    /// `extras` name of X_fut, (H, 10).
    public static let future = "ode_fut"
    /// `extras` name of the twin's basal-only glucose forecast, (H), mg/dL.
    public static let twinForecast = "twin_forecast"
    /// Number of ODE states (eq. 1).
    public static let stateCount = HovorkaState.count
    /// Longest history the twin matches over (the paper's 3-hour window, L = 37).
    public static let maxHistory = TwinMatcher.historyLength

    /// Per-window shapes of the three extras.
    public static func shapes(history: Int, horizon: Int) -> [String: [Int]] {
        [Self.history: [history, stateCount], future: [horizon, stateCount], twinForecast: [horizon]]
    }

    /// Empty extras (no windows) with the right per-window shapes.
    public static func emptyExtras(history: Int, horizon: Int) -> [String: (shape: [Int], values: [Float])] {
        shapes(history: history, horizon: horizon).mapValues { (shape: $0, values: [Float]()) }
    }

    /// Appends one window's match to `extras` (created by `emptyExtras`).
    public static func append(_ match: TwinMatch, to extras: inout [String: (shape: [Int], values: [Float])]) {
        precondition(match.xHist.steps == extras[history]!.shape[0] && match.xFut.steps == extras[future]!.shape[0],
                     "PrepareODEStates: match of \(match.xHist.steps)/\(match.xFut.steps) steps for extras "
                         + "\(extras[history]!.shape)/\(extras[future]!.shape)")
        extras[history]!.values += match.xHist.values
        extras[future]!.values += match.xFut.values
        extras[twinForecast]!.values += match.glucoseFut
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
