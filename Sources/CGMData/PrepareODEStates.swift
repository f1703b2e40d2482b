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

import CGMSchema
import Foundation
import Physiology

/// Names, shapes and extraction of the ODE-state extras written by `prepare` (see the file header).
public enum PrepareODEStates {
    /// Longest history the twin matches over (the paper's 3-hour window, L = 37).
    public static let maxHistory = TwinMatcher.historyLength

    /// Empty extras (no windows) with the right per-window shapes.
    public static func emptyExtras(history: Int, horizon: Int) -> [String: (shape: [Int], values: [Float])] {
        ODEStateExtras.shapes(history: history, horizon: horizon).mapValues { (shape: $0, values: [Float]()) }
    }

    /// Appends one window's match to `extras` (created by `emptyExtras`).
    public static func append(_ match: TwinMatch, to extras: inout [String: (shape: [Int], values: [Float])]) {
        let (history, future) = (ODEStateExtras.history, ODEStateExtras.future)
        precondition(match.xHist.steps == extras[history]!.shape[0] && match.xFut.steps == extras[future]!.shape[0],
                     "PrepareODEStates: match of \(match.xHist.steps)/\(match.xFut.steps) steps for extras "
                         + "\(extras[history]!.shape)/\(extras[future]!.shape)")
        extras[history]!.values += match.xHist.values
        extras[future]!.values += match.xFut.values
        extras[ODEStateExtras.twinForecast]!.values += match.glucoseFut
    }
}
