// QC rule 6 (PhysioSeq2Seq Appendix C): "twin matching failure (all 300 twins return ε_j = ∞)". For a
// window that passed rules 1–5, Algorithm 1 is run on its history against the 300-twin virtual
// population; the window is excluded when no twin has a finite RMSE (eq. 8), i.e. `TwinMatcher.match`
// returns nil. This is the expensive rule (300 twins simulated per window), so a distributed `prepare`
// evaluates it per shard job, on the rank that owns the job, never in the global planning pass.
//
// The twin sees the last min(L, 37) grid steps of the history (the paper's 3-hour window). Grid bin i
// holds what happened in (T_i − 5 min, T_i], while a TwinWindow's input k acts over [k, k+1); so input k
// is taken from bin k+1, and the last input (used only for the decision-time basal rate of pass 3) from
// the decision bin itself, with no bolus: nothing after the decision time t reaches the check.

import Foundation
import Physiology

/// QC rule 6: twin matching with `TwinMatcher` on a window's history.
public final class TwinMatchingCheck {
    /// Seed of the virtual population used by `prepare` (fixed, so every rank and every run agree).
    public static let defaultPopulationSeed: UInt64 = 2026

    /// The matcher (300 twins with precomputed discrete models).
    public let matcher: TwinMatcher

    /// A check against `VirtualPopulation(count: twins, seed: populationSeed)`.
    public init(twins: Int = 300, populationSeed: UInt64 = TwinMatchingCheck.defaultPopulationSeed) {
        matcher = TwinMatcher(population: VirtualPopulation(count: twins, seed: populationSeed))
    }

    /// True if twin matching fails for subject `f`'s window with decision index `t` and `history` steps.
    /// `hint` carries the previous match of the same subject (visiting order only; the result is the same).
    public func fails(_ f: SubjectFeatures, decision t: Int, history: Int, hint: inout Int?) -> Bool {
        let window = Self.window(f, decision: t, length: min(history, TwinMatcher.historyLength))
        guard let match = matcher.match(window, hint: hint) else { return true }
        hint = match.twinIndex
        return false
    }

    /// Algorithm 1 on subject `f`'s window with decision index `t`: the match (passes 1–3, `horizon` future
    /// steps under `future` inputs, basal-only by default), or nil when twin matching fails (rule 6). The
    /// choice of twin (pass 1) never depends on `future`. `hint` as in `fails`.
    public func match(_ f: SubjectFeatures, decision t: Int, history: Int, horizon: Int,
                      future: TwinFutureInputs = .basalOnly, hint: inout Int?) -> TwinMatch? {
        let window = Self.window(f, decision: t, length: min(history, TwinMatcher.historyLength),
                                 carbs: future == .announced)
        let inputs = Self.futureInputs(f, decision: t, horizon: horizon, policy: future)
        guard let match = matcher.match(window, future: inputs, horizon: horizon, hint: hint) else { return nil }
        hint = match.twinIndex
        return match
    }

    /// The twin-matching input of the `length` grid steps ending at decision index `t` (see the file header).
    /// With `carbs`, the window also carries the carbohydrates of the same bins (the meal-aware twin's
    /// history; none at the decision bin, as for boluses).
    public static func window(_ f: SubjectFeatures, decision t: Int, length: Int, carbs: Bool = false) -> TwinWindow {
        precondition(length >= 1 && t - length + 1 >= 0 && t < f.count,
                     "TwinMatchingCheck: window of \(length) steps ending at \(t) outside subject \(f.id)'s grid 0..<\(f.count)")
        let lo = t - length + 1
        var cgm = [Float](repeating: .nan, count: length)
        var bolus = [Float](repeating: 0, count: length)
        var basal = [Float](repeating: 0, count: length)
        let hasBasal = !f.basalDoses.isEmpty, hasDoses = !f.doses.isEmpty
        for k in 0 ..< length {
            cgm[k] = f.cgm[lo + k]
            let bin = k < length - 1 ? lo + k + 1 : t
            let basalDose = hasBasal ? f.basalDoses[bin] : 0
            basal[k] = basalDose * 12   // micro-dose per 5 min → U/h
            if k < length - 1, hasDoses { bolus[k] = max(f.doses[bin] - basalDose, 0) }
        }
        var carbsG: [Float]?
        if carbs {
            carbsG = [Float](repeating: 0, count: length)
            if !f.carbs.isEmpty {
                for k in 0 ..< length - 1 where f.carbs[lo + k + 1].isFinite { carbsG![k] = max(f.carbs[lo + k + 1], 0) }
            }
        }
        return TwinWindow(cgm: cgm, bolusU: bolus, basalUPerH: basal, carbsG: carbsG)
    }
}
