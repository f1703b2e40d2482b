/// One history window on the 5-minute grid, ending at the decision time `t` (Algorithm 1 input).
///
/// All arrays have the window length `L` (37 in the paper: 36 steps of history + the decision
/// time). Inputs at index `k` act over `[k, k+1)`; the last index only matters for pass 3
/// (`basalUPerH[L−1]` is `u_basal,t`).
public struct TwinWindow: Sendable {
    /// CGM, mg/dL; NaN where missing (QC is expected to have rejected windows with too few values).
    public var cgm: [Float]
    /// Insulin boluses delivered within each step, U.
    public var bolusU: [Float]
    /// Basal rate during each step, U/h.
    public var basalUPerH: [Float]
    /// Carbohydrates eaten within each step, g. The paper's history passes use insulin only
    /// (`nil`); a meal-aware twin may pass them.
    public var carbsG: [Float]?

    public init(cgm: [Float], bolusU: [Float], basalUPerH: [Float], carbsG: [Float]? = nil) {
        precondition(bolusU.count == cgm.count && basalUPerH.count == cgm.count && (carbsG?.count ?? cgm.count) == cgm.count,
                     "TwinWindow: cgm (\(cgm.count)), bolusU (\(bolusU.count)), basalUPerH (\(basalUPerH.count))"
                         + " and carbsG (\(carbsG?.count ?? -1)) must have the same length")
        self.cgm = cgm
        self.bolusU = bolusU
        self.basalUPerH = basalUPerH
        self.carbsG = carbsG
    }

    /// Window length `L`.
    public var length: Int { cgm.count }
}

/// What the twin is fed over the forecast horizon (pass 3).
public enum FutureInputs: Sendable {
    /// The paper: constant mean history basal, no bolus, no carbohydrate.
    case basalOnly
    /// Mean history basal plus announced carbohydrates (g) and boluses (U) per future step
    /// (arrays of the horizon length) — the meal-aware twin. If the window also has `carbsG`, pass 3
    /// starts from the history's gut states (M1, M2) instead of an empty gut.
    case announced(carbsG: [Float], bolusU: [Float])
}

/// The result of twin matching and state extraction for one segment.
public struct TwinMatch: Sendable {
    /// Index `j*` of the best twin in the population.
    public let twinIndex: Int
    /// Its RMSE (mg/dL) over the finite CGM values of the window (eq. 8).
    public let rmse: Double
    /// `X_hist`: states `x_{t0} … x_t`, `L × 10`.
    public let xHist: StateTrajectory
    /// `X_fut`: states `x_{t+1} … x_{t+H}`, `H × 10`.
    public let xFut: StateTrajectory
    /// The twin's glucose (mg/dL, eq. 4) along `X_hist` and `X_fut`.
    public let glucoseHist: [Float], glucoseFut: [Float]
}

/// Twin matching and ODE state extraction (PhysioSeq2Seq §3.4, Appendix A Algorithm 1).
///
/// Pass 1 simulates every twin over the history from `SteadyState(g_t0, ġ_0, u_basal,t0)` and keeps
/// the twin with the least RMSE (eq. 8) over the window's finite CGM values (`g_t0` is the first
/// finite value, `g_t` the last; slopes regress the finite values of the first and last hour); twins are advanced four at a time (`DiscreteStep`), and a
/// group is abandoned as soon as all its partial squared-error sums exceed the best complete one —
/// the sums only grow, so the argmin is exact. Pass 2 re-runs the winner with state logging
/// (`X_hist`); pass 3 re-initializes it at the decision time and propagates the horizon (`X_fut`).
public struct TwinMatcher: Sendable {
    /// History length `L` of the paper.
    public static let historyLength = 37
    /// Forecast horizon `H` of the paper.
    public static let horizon = 48

    /// The twins.
    public let population: VirtualPopulation
    /// One discrete model per twin (exact insulin/gut blocks precomputed).
    public let models: [HovorkaModel]
    let groups: [TwinLaneConstants]

    /// Precomputes every twin's discrete model (one small `expm` each).
    public init(population: VirtualPopulation) {
        self.population = population
        let models = population.twins.map(HovorkaModel.init)
        self.models = models
        groups = stride(from: 0, to: models.count, by: laneWidth).map { j in
            TwinLaneConstants((j..<min(j + laneWidth, models.count)).map { (models[$0].parameters, models[$0].linear) })
        }
    }

    /// Algorithm 1 on one window: the best twin, `X_hist` (`L × 10`) and `X_fut` (`horizon × 10`),
    /// or nil on twin-matching failure (no finite CGM value, or every twin's error infinite/NaN —
    /// Appendix C criterion 6). `hint` (e.g. the previous segment's twin) only changes the visiting
    /// order, never the result; `prune: false` simulates every twin over the whole window (same
    /// result, for timing).
    public func match(_ window: TwinWindow, future: FutureInputs = .basalOnly, horizon: Int = TwinMatcher.horizon,
                      hint: Int? = nil, prune: Bool = true) -> TwinMatch? {
        // Missing (non-finite) insulin or carbohydrate entries count as none delivered.
        var w = window
        w.bolusU = w.bolusU.map { $0.isFinite ? $0 : 0 }
        w.basalUPerH = w.basalUPerH.map { $0.isFinite ? $0 : 0 }
        w.carbsG = w.carbsG?.map { $0.isFinite ? $0 : 0 }
        let n = w.length
        guard n >= 2, let first = w.cgm.firstIndex(where: { $0.isFinite }),
              let last = w.cgm.lastIndex(where: { $0.isFinite }) else { return nil }
        // Pass 1: twin matching.
        let g0 = Double(w.cgm[first])
        let slope0 = GlucoseSlope.regression(w.cgm, over: 0..<GlucoseSlope.hourSamples)
        let basal0 = Double(w.basalUPerH[0])
        guard let (best, sse, valid) = bestTwin(w, g0: g0, slope0: slope0, basal0: basal0, hint: hint, prune: prune)
        else { return nil }
        let model = models[best]
        let p = model.parameters

        // Pass 2: history state extraction.
        var x = SteadyState.initialState(p, glucoseMgDl: g0, slopeMgDlPerMin: slope0, basalUPerH: basal0)
        var hist = [x]
        hist.reserveCapacity(n)
        for k in 0..<(n - 1) {
            x = model.step(x, insulin: model.insulinInput(basalUPerH: Double(w.basalUPerH[k]), bolusU: Double(w.bolusU[k])),
                           carbs: Double(w.carbsG?[k] ?? 0) / HovorkaParameters.sampleMinutes)
            hist.append(x)
        }

        // Pass 3: forecast state extraction.
        let meanBasal = w.basalUPerH.reduce(0.0) { $0 + Double($1) } / Double(n)
        let gt = Double(w.cgm[last])
        let slopeT = GlucoseSlope.regression(w.cgm, over: max(0, n - GlucoseSlope.hourSamples)..<n)
        var xt = SteadyState.initialState(p, glucoseMgDl: gt, slopeMgDlPerMin: slopeT,
                                          basalUPerH: Double(w.basalUPerH[n - 1]))
        xt.s1 = hist[n - 1].s1 // S1, S2 carried from the history pass's terminal state
        xt.s2 = hist[n - 1].s2
        if case .announced = future, w.carbsG != nil {
            // Meal-aware twin with the history's meals: the gut still holds what they left at t.
            xt.m1 = hist[n - 1].m1
            xt.m2 = hist[n - 1].m2
        } else {
            xt.m1 = 0 // the paper: empty gut under the basal-only assumption
            xt.m2 = 0
        }
        var fut: [HovorkaState] = []
        fut.reserveCapacity(horizon)
        for h in 0..<horizon {
            var bolus = 0.0, carbs = 0.0
            if case let .announced(c, b) = future {
                precondition(c.count >= horizon && b.count >= horizon, "FutureInputs.announced: arrays shorter than the horizon")
                bolus = Double(b[h])
                carbs = Double(c[h])
            }
            xt = model.step(xt, insulin: model.insulinInput(basalUPerH: meanBasal, bolusU: bolus),
                            carbs: carbs / HovorkaParameters.sampleMinutes)
            fut.append(xt)
        }
        return TwinMatch(twinIndex: best, rmse: (sse / Double(valid)).squareRoot(),
                         xHist: StateTrajectory(hist), xFut: StateTrajectory(fut),
                         glucoseHist: hist.map { Float(model.glucoseMgDl($0)) },
                         glucoseFut: fut.map { Float(model.glucoseMgDl($0)) })
    }

    /// Convenience form of `match` with the window's arrays.
    public func match(cgm: [Float], bolusU: [Float], basalUPerH: [Float], carbsG: [Float]? = nil,
                      futureInputs: FutureInputs = .basalOnly) -> TwinMatch? {
        match(TwinWindow(cgm: cgm, bolusU: bolusU, basalUPerH: basalUPerH, carbsG: carbsG), future: futureInputs)
    }

    /// Pass 1: `(j*, SSE_j*, number of finite CGM values)`, nil if none or if no twin has a finite error.
    func bestTwin(_ w: TwinWindow, g0: Double, slope0: Double, basal0: Double,
                  hint: Int?, prune: Bool = true) -> (Int, Double, Int)? {
        let n = w.length
        let valid = w.cgm.reduce(0) { $0 + ($1.isFinite ? 1 : 0) }
        guard valid > 0 else { return nil }
        let twins = population.twins
        var bestSSE = Double.infinity
        var bestIndex = -1
        let start = (hint ?? 0) / laneWidth
        for offset in 0..<groups.count {
            let g = (start + offset) % groups.count
            let c = groups[g]
            var x = LaneState()
            for lane in 0..<laneWidth {
                let j = min(g * laneWidth + lane, twins.count - 1)
                x.set(lane, SteadyState.initialState(twins[j], glucoseMgDl: g0, slopeMgDlPerMin: slope0, basalUPerH: basal0))
            }
            var sse = Lanes()
            if w.cgm[0].isFinite {
                let e = c.mgdlPerQ1 * x.q1 - Double(w.cgm[0])
                sse += e * e
            }
            var abandoned = false
            for k in 1..<n {
                let uI = c.insulinPerUPerH * Double(w.basalUPerH[k - 1]) + c.insulinPerBolusU * Double(w.bolusU[k - 1])
                let uG = Lanes(repeating: Double(w.carbsG?[k - 1] ?? 0) / HovorkaParameters.sampleMinutes)
                DiscreteStep.advance(&x, c, insulin: uI, carbs: uG)
                let obs = w.cgm[k]
                if obs.isFinite {
                    let e = c.mgdlPerQ1 * x.q1 - Double(obs)
                    sse += e * e
                    if prune && all(sse .> bestSSE) {
                        abandoned = true
                        break
                    }
                }
            }
            if abandoned { continue }
            for lane in 0..<laneWidth {
                let j = g * laneWidth + lane
                guard j < twins.count else { break }
                let s = sse[lane]
                if s.isFinite && (s < bestSSE || (s == bestSSE && j < bestIndex)) {
                    bestSSE = s
                    bestIndex = j
                }
            }
        }
        return bestIndex >= 0 ? (bestIndex, bestSSE, valid) : nil
    }
}
