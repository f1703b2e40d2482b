import CGMSchema

// WindowExtractor: subjects' features → forecasting windows (a `WindowSet`).
//
// Candidates: per subject, decision indices t = L−1, L−1+stride, … (grid indices from the subject's
// first grid time) with t + H inside the grid and glucose present at t; each candidate goes through QC.
// A window with decision index t holds
//   past    features at t−L+1 … t      (N, L, P)
//   future  features at t+1 … t+H      (N, H, F)    known-future covariates
//   target  glucose (mg/dL) at t+1 … t+H
// Decoder IOB under `FutureIOBPolicy.basalOnly` is recomputed per window from doses up to t plus basal
// continuing at t's rate (eq. 5 with the post-t doses replaced):
//   IOB'_{t+h} = IOB_{t+h} − Σ_{i=t+1}^{t+h−13} (d_i − b_t) · φ(5(t+h−i) − 60)
// (doses after t only count from h ≥ 14, once they are older than the 60-minute reference lag).

/// A window: subject (index into the cohort's subject list) and decision grid index.
public struct WindowRef: Equatable, Hashable, Sendable {
    /// Index of the subject in the feature list.
    public var subject: Int
    /// Grid index of the decision time t.
    public var decision: Int

    /// Creates a reference.
    public init(subject: Int, decision: Int) {
        self.subject = subject
        self.decision = decision
    }
}

/// Enumerates, quality-controls and materializes windows.
public struct WindowExtractor {
    /// History L (steps).
    public var history: Int
    /// Horizon H (steps).
    public var horizon: Int
    /// Steps between decision times.
    public var stride: Int
    /// Whether to add GluFormer tokens (`extras["tokens"]`, shape [L + H]).
    public var tokens: Bool
    /// Whether to add the history's smoothed meal targets (`extras["meal_labels"]`, shape [L]) from
    /// `SubjectFeatures.mealLabels` (SSM-CGM A.2 meal detection).
    public var mealLabels: Bool
    /// Whether past features before the history's NaN-free tail are zero-padded (`data.short_history: zero_pad`,
    /// PhysioSeq2Seq §3.1; QC then accepts such histories, see QC.swift).
    public var zeroPadHistory = false

    /// An extractor for windows of `history` + `horizon` steps every `stride` steps.
    public init(history: Int, horizon: Int, stride: Int, tokens: Bool = false, mealLabels: Bool = false) {
        precondition(history >= 1 && horizon >= 1 && stride >= 1,
                     "WindowExtractor: history \(history), horizon \(horizon), stride \(stride) must all be ≥ 1")
        self.history = history
        self.horizon = horizon
        self.stride = stride
        self.tokens = tokens
        self.mealLabels = mealLabels
    }

    /// An extractor with a preset's L, H, stride and tokens.
    public init(preset: WindowPreset) {
        self.init(history: preset.history, horizon: preset.horizon, stride: preset.stride, tokens: preset.tokens)
    }

    /// Scans every subject's candidate windows through `qc`; returns the accepted ones (in subject
    /// order, then time order) and the QC counts.
    public func candidates(_ features: [SubjectFeatures], qc: QualityControl) -> (windows: [WindowRef], report: QCReport) {
        if tokens { return tokenCandidates(features) }   // GluFormer: cut at gaps (TokenWindows.swift)
        var report = QCReport(enabled: qc.enabled, residualNaNScope: qc.residualNaNScope)
        var refs: [WindowRef] = []
        for (s, f) in features.enumerated() where f.count >= history + horizon {
            let idx = qc.index(f)
            var t = history - 1
            while t + horizon < f.count {
                if !f.cgm[t].isNaN,
                   qc.evaluate(f, idx, decision: t, history: history, horizon: horizon, report: &report) {
                    refs.append(WindowRef(subject: s, decision: t))
                }
                t += stride
            }
        }
        return (refs, report)
    }

    /// Builds the `WindowSet` of `refs` with features scaled by `spec`; `subjects` of the result is
    /// every subject's id (so subject indices agree across splits). Refs grouped by subject are fastest.
    public func materialize(_ refs: [WindowRef], features: [SubjectFeatures], spec: FeatureSpec,
                            table: SubjectTable?) -> WindowSet {
        let L = history, H = horizon
        let past = spec.pastFeatures, future = spec.futureFeatures
        let P = past.count, F = future.count, S = spec.staticFeatures.count
        var set = WindowSet(history: L, horizon: H, pastFeatures: past, futureFeatures: future,
                            staticFeatures: spec.staticFeatures, subjects: features.map(\.id))
        let n = refs.count
        var pastOut = [Float](repeating: 0, count: n * L * P)
        var futureOut = [Float](repeating: 0, count: n * H * F)
        var targetOut = [Float](repeating: 0, count: n * H)
        var staticsOut = [Float](repeating: 0, count: n * S)
        var tokensOut = [Float](repeating: 0, count: tokens ? n * (L + H) : 0)
        set.subject = refs.map { Int32($0.subject) }
        set.decisionTime = refs.map { features[$0.subject].time(at: $0.decision) }

        let iobWeights = spec.iob.weights(maxSteps: H)
        let firstCounted = spec.iob.referenceLagMinutes / spec.gridMinutes + 1
        let iobStandardization = spec.standardization(of: FeatureCatalog.iob) ?? .identity
        let needsIOB = spec.futureIOB == .basalOnly
            && future.contains { $0 == FeatureCatalog.iob || $0 == FeatureCatalog.iobScaled }
        var current = -1
        var pastColumns: [[Float]] = [], futureColumns: [[Float]] = [], staticRow: [Float] = []
        var rawIOB: [Float] = []
        var futureIOB = [Float](repeating: 0, count: H)
        // One pass over the windows, writing through raw pointers (row-major (N, L, P) and (N, H, F)).
        pastOut.withUnsafeMutableBufferPointer { pastBuf in
        futureOut.withUnsafeMutableBufferPointer { futureBuf in
        targetOut.withUnsafeMutableBufferPointer { targetBuf in
        tokensOut.withUnsafeMutableBufferPointer { tokenBuf in
            for (w, ref) in refs.enumerated() {
                if ref.subject != current {
                    current = ref.subject
                    let f = features[current]
                    for name in past + future where f.columns[name] == nil {
                        preconditionFailure("WindowExtractor: feature '\(name)' was not built for subject \(f.id)")
                    }
                    pastColumns = past.map { spec.scaled($0, f.columns[$0]!) }
                    futureColumns = future.map { spec.scaled($0, f.columns[$0]!) }
                    staticRow = spec.staticRow(subject: f.id, table: table)
                    rawIOB = needsIOB ? spec.iob.onBoard(doses: f.doses) : []
                }
                let t = ref.decision, lo = t - L + 1
                let count = features[current].count
                // Token windows, and others with zeroPadHistory, may start before their gap-free run (padding).
                let first = tokens || zeroPadHistory
                    ? features[current].cgm.withUnsafeBufferPointer { firstTokenIndex($0, decision: t) } : lo
                precondition((first == lo ? lo >= 0 : first > lo) && t + H < count,
                             "window \(lo)…\(t + H) outside subject \(features[current].id)'s grid")
                let pastBase = w * L * P
                for p in 0 ..< P {
                    pastColumns[p].withUnsafeBufferPointer { column in
                        for l in 0 ..< L { pastBuf[pastBase + l * P + p] = lo + l < first ? 0 : column[lo + l] }
                    }
                }
                let futureBase = w * H * F
                for p in 0 ..< F {
                    let name = future[p]
                    if needsIOB, name == FeatureCatalog.iob || name == FeatureCatalog.iobScaled {
                        basalOnlyIOB(features[current], t: t, raw: rawIOB, weights: iobWeights, firstCounted: firstCounted,
                                     into: &futureIOB)
                        for h in 0 ..< H {
                            futureBuf[futureBase + h * F + p] = name == FeatureCatalog.iobScaled
                                ? Float(spec.iob.scaled(Double(futureIOB[h])))
                                : iobStandardization.apply(futureIOB[h])
                        }
                    } else {
                        futureColumns[p].withUnsafeBufferPointer { column in
                            for h in 0 ..< H { futureBuf[futureBase + h * F + p] = column[t + 1 + h] }
                        }
                    }
                }
                features[current].cgm.withUnsafeBufferPointer { cgm in
                    for h in 0 ..< H { targetBuf[w * H + h] = cgm[t + 1 + h] }
                    if tokens {   // padding before the window's gap-free run (TokenWindows.swift)
                        for k in 0 ..< L + H {
                            tokenBuf[w * (L + H) + k] = Float(lo + k < first ? GlucoseTokenizer.padding
                                                                             : GlucoseTokenizer.token(cgm[lo + k]))
                        }
                    }
                }
                for k in 0 ..< S { staticsOut[w * S + k] = staticRow[k] }
            }
        }
        }
        }
        }
        set.past = pastOut
        set.future = futureOut
        set.target = targetOut
        set.statics = staticsOut
        if tokens { set.extras["tokens"] = (shape: [L + H], values: tokensOut) }
        if mealLabels {
            var labels = [Float](repeating: 0, count: n * L)
            for (w, ref) in refs.enumerated() {
                let f = features[ref.subject]
                precondition(f.mealLabels.count == f.count, "WindowExtractor: no meal labels built for subject \(f.id)")
                for l in 0 ..< L { labels[w * L + l] = f.mealLabels[ref.decision - L + 1 + l] }
            }
            set.extras[WindowExtras.mealLabels] = (shape: [L], values: labels)
        }
        if tokens, let bins = spec.dietBins { set.extras["diet"] = dietExtra(refs, features: features, bins: bins) }
        return set
    }

    /// Decoder IOB at t+1 … t+H from doses up to t plus basal continuing at t's micro-dose (unscaled, U).
    private func basalOnlyIOB(_ f: SubjectFeatures, t: Int, raw: [Float], weights: [Double], firstCounted: Int,
                              into out: inout [Float]) {
        let basal = f.basalDoses.isEmpty ? 0 : Double(f.basalDoses[t])
        for h in 1 ... horizon {
            var v = Double(raw[t + h])
            var i = t + 1
            while i <= t + h - firstCounted {
                v -= (Double(f.doses[i]) - basal) * weights[t + h - i]
                i += 1
            }
            out[h - 1] = Float(max(v, 0))
        }
    }
}
