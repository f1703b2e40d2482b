// What the matched twin is fed over the forecast horizon in `prepare` (`data.twin.future_inputs`):
//
//   basal_only  the paper (Algorithm 1 pass 3): constant mean history basal, no bolus, no carbohydrate;
//               the history passes use insulin only and pass 3 starts with an empty gut (M1 = M2 = 0).
//   announced   the meal-aware twin (the paper's first stated limitation, section 5): the twin knows the
//               meals (carbs_g) recorded in the data. Passes 1–2 also get the history's meals (so the twin
//               is matched on meal + insulin responses, and X_hist has gut states), pass 3 starts from the
//               history's gut states at t, and the horizon gets the same basal plus the meals and boluses
//               recorded in the future window, as if every meal and bolus had been announced at t. Both the
//               twin forecast (extras/twin_forecast, the "Digital twin" baseline) and X_fut (extras/ode_fut,
//               the decoder states of physio_seq2seq) follow these inputs.
//
// Why the history too: with the future inputs alone on the paper's insulin-only match, the post-meal error
// was measured clearly worse (PhysioFindingsTests, "future inputs only"): a twin matched without the
// history's meals explains their rise by low insulin sensitivity, then over-reacts to the announced meals.
//
// Grid convention (as the history in PrepareTwinCheck): future step h advances the twin from t+h to
// t+h+1, so it takes the events of grid bin t+h+1, i.e. (t+h, t+h+1]. Bolus = total dose − basal micro-dose
// of that bin. `announced` uses information from after t: it is an oracle (what a user who logs meals in
// advance would give), reported beside the basal-only twin, never a fair forecast of unannounced data.

import Physiology

/// `data.twin.future_inputs`: the matched twin's inputs over the horizon (see the file header).
public enum TwinFutureInputs: String, Codable, Sendable, CaseIterable {
    /// Algorithm 1 pass 3: mean history basal, no bolus, no carbohydrate.
    case basalOnly = "basal_only"
    /// Basal plus the meals and boluses recorded over the horizon (meal-aware twin).
    case announced
}

extension TwinMatchingCheck {
    /// The future inputs of subject `f`'s window with decision index `t` over `horizon` steps.
    public static func futureInputs(_ f: SubjectFeatures, decision t: Int, horizon: Int,
                                    policy: TwinFutureInputs) -> FutureInputs {
        guard policy == .announced else { return .basalOnly }
        var carbs = [Float](repeating: 0, count: horizon), bolus = [Float](repeating: 0, count: horizon)
        for h in 0 ..< horizon {
            let bin = t + h + 1
            guard bin < f.count else { break }
            if !f.carbs.isEmpty, f.carbs[bin].isFinite { carbs[h] = max(f.carbs[bin], 0) }
            if !f.doses.isEmpty {
                let basal = f.basalDoses.isEmpty ? 0 : f.basalDoses[bin]
                bolus[h] = max(f.doses[bin] - basal, 0)
            }
        }
        return .announced(carbsG: carbs, bolusU: bolus)
    }
}
