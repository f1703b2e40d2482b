// The "Recursive LSTM" baseline of PhysioSeq2Seq (section 4.2): a single-layer LSTM (300 units) over
// [scaled CGM (eq. 11), scaled IOB (eq. 7)] with a Linear head predicting the NEXT scaled CGM step,
// trained one step ahead with an expanding window and forecasting by feeding its own predictions back.
//
//   P past features per step, one of them cgm_scaled (index c); the F = P − 1 future features are the
//   past ones without cgm_scaled, same order (the physio_seq2seq preset: past [cgm_scaled, iob_scaled],
//   future [iob_scaled], the basal-only future IOB of data.future_iob).
//
// Training ("expanding window", teacher forcing). The paper: "trained ... using an expanding-window
// strategy where the input grows by one step per prediction extending out to the full 4-hour prediction
// horizon". For one window (L history steps ending at t, H future steps) we form the observed 7-hour
// sequence
//     z_k = past row k                                       k = 0 … L−1          (times t−L+1 … t)
//     z_{L+i} = future row i with c ← g̃_{t+i+1} (observed)  i = 0 … H−2          (times t+1 … t+H−1)
// and run the LSTM over z_0 … z_{L+H−2} once. Because the LSTM is causal, its output at position k is
// exactly the prediction made from the expanding input z_0 … z_k, so one pass yields every
// expanding-window prediction ĝ̃_{k+1} = W h_k + b, k = 0 … L+H−2: the whole history ("at every history
// position predict the next value") and onwards through the 4-hour horizon. The loss is the Huber loss
// (δ, eq. 15's form) in eq. 11 space, averaged over all (L+H−1) one-step predictions of the batch.
// (Choice: positions inside the history count too — they are the same one-step task with less context,
// and they triple the signal of a 37-step history; the paper does not say where its windows start.)
//
// Forecast (free running, no observed future CGM): run over the L history steps, ĝ̃_{t+1} = head(h_t);
// then for i = 1 … H−1 feed z = future row i−1 with c ← ĝ̃_{t+i} (its own prediction) from the carried
// (h, c), ĝ̃_{t+i+1} = head(h). The recursion is built with graph ops (LSTM steps of length 1, slice,
// concat), so it is differentiable; eq. 14 maps the H predictions to mg/dL.
//
// Dropout (default 0: the paper states none for this baseline) applies to the LSTM outputs before the
// head in training only.
//
// Residual (`TargetSpace.residual`, issue 14): the head predicts the standardized one-step change,
// ĝ̃_{k+1} = g̃_k + σ₁·head(h_k) with σ₁ the training data's RMS 5-minute change, so the loss compares head(h_k)
// with (g̃_{k+1} − g̃_k)/σ₁ and the zero-initialized head starts at persistence; the recursion feeds back
// g̃_k + σ₁·head(h_k).

import CGMSchema
import CGMTensor
import Layers

/// The paper's recursive LSTM baseline (section 4.2; see the file header for training and forecasting).
public final class RecursiveLSTMForecaster: ForecastModel {
    public let name = "recursive_lstm"
    public let store = ParameterStore()
    /// The single LSTM layer, input P → hidden.
    public let lstm: LSTM
    /// Linear(hidden → 1): the next scaled CGM value.
    public let head: Linear
    /// P, the number of inputs per step.
    public let inputs: Int
    /// Index of cgm_scaled among the P inputs.
    public let cgmIndex: Int
    public let dropout: Float
    public let huberDelta: Float
    /// σ₁ of a residual head (see the file header); nil: the head predicts the next scaled CGM itself.
    public let stepScale: Float?

    /// A model over `inputs` features per step, scaled CGM at `cgmIndex` (the others come, in the same
    /// order, from the dataset's future features over the horizon). A residual `targetSpace` (anchored at
    /// `cgmIndex`) makes the head predict one-step changes divided by its first scale σ₁.
    public init(inputs: Int, cgmIndex: Int, spec: RecursiveLSTMSpec = .defaults, targetSpace: TargetSpace = .absolute,
                seed: UInt64) {
        precondition(inputs >= 1 && (0 ..< inputs).contains(cgmIndex),
                     "recursive_lstm: cgmIndex \(cgmIndex) outside the \(inputs) inputs")
        self.inputs = inputs
        self.cgmIndex = cgmIndex
        dropout = Float(spec.dropout)
        huberDelta = Float(spec.huberDelta)
        if case let .residual(anchor, scale) = targetSpace {
            precondition(anchor == cgmIndex && !scale.isEmpty, "recursive_lstm: a residual head is anchored at cgm_scaled")
            stepScale = scale[0]
        } else {
            stepScale = nil
        }
        var rng = PhiloxGenerator(seed: seed, stream: 1)
        lstm = LSTM(store, "lstm", inputSize: inputs, hiddenSize: spec.hidden, rng: &rng)
        head = Linear(store, "head", inFeatures: spec.hidden, outFeatures: 1, rng: &rng)
        if stepScale != nil { head.zeroInitialize(store) }
    }

    private func checkShape(_ batch: Batch) {
        precondition(batch.pastFeatureCount == inputs && batch.futureFeatureCount == inputs - 1,
                     "recursive_lstm: batch has \(batch.pastFeatureCount) past / \(batch.futureFeatureCount) future features, "
                         + "the model needs \(inputs) / \(inputs - 1) (the past ones without cgm_scaled)")
    }

    /// Teacher-forced input z_0 … z_{L+H−2} (B, L+H−1, P) and one-step targets g̃_1 … g̃_{L+H−1} (B, L+H−1).
    public func teacherForcing(_ batch: Batch) -> (input: Tensor, target: Tensor) {
        checkShape(batch)
        let b = batch.count, l = batch.history, h = batch.horizon, p = inputs, f = inputs - 1
        let steps = l + h - 1
        var x = [Float](repeating: 0, count: b * steps * p)
        var y = [Float](repeating: 0, count: b * steps)
        batch.past.withUnsafeBufferPointer { past in
            batch.future.withUnsafeBufferPointer { future in
                for w in 0 ..< b {
                    let xw = w * steps * p, pw = w * l * p
                    for k in 0 ..< l * p { x[xw + k] = past[pw + k] }
                    for i in 0 ..< h - 1 {
                        let o = xw + (l + i) * p, fi = (w * h + i) * f
                        var q = 0
                        for j in 0 ..< p {
                            if j == cgmIndex {
                                x[o + j] = FeatureCatalog.scaleCGM(batch.target[w * h + i])   // observed g_{t+i+1}
                            } else {
                                x[o + j] = future[fi + q]
                                q += 1
                            }
                        }
                    }
                    for k in 0 ..< steps - 1 { y[w * steps + k] = x[xw + (k + 1) * p + cgmIndex] }
                    y[w * steps + steps - 1] = FeatureCatalog.scaleCGM(batch.target[w * h + h - 1])
                }
            }
        }
        // y_k = c-column of z_{k+1}; the last target g̃_{t+H} has no z (it is never an input).
        if let sigma = stepScale {   // residual: (g̃_{k+1} − g̃_k)/σ₁
            for w in 0 ..< b { for k in 0 ..< steps { y[w * steps + k] = (y[w * steps + k] - x[(w * steps + k) * p + cgmIndex]) / sigma } }
        }
        return (Tensor(shape: [b, steps, p], scalars: x), Tensor(shape: [b, steps], scalars: y))
    }

    /// Mean Huber loss (δ) of the L+H−1 expanding-window one-step predictions, eq. 11 space.
    public func loss(_ batch: Batch, _ g: Graph) -> Var {
        let (x, y) = teacherForcing(batch)
        let p = store.bind(g)
        let out = lstm(g.constant(x), p).output                      // (B, L+H−1, hidden)
        let pred = head(g.dropout(out, p: dropout), p)               // (B, L+H−1, 1)
        return g.huberLoss(g.reshape(pred, to: y.shape), g.constant(y), delta: huberDelta)
    }

    /// Free-running scaled forecast ĝ̃_{t+1} … ĝ̃_{t+H} (B, H): own predictions fed back (file header).
    public func scaledForecast(_ batch: Batch, _ g: Graph) -> Var {
        checkShape(batch)
        let b = batch.count, h = batch.horizon, f = inputs - 1
        let p = store.bind(g)
        var state = lstm(g.constant(batch.pastTensor), p)
        /// The next scaled CGM from a head output (B, 1, 1) given the current one.
        func step(_ out: Var, from current: Var) -> Var {
            guard let sigma = stepScale else { return out }
            return g.add(current, g.scale(out, by: sigma))
        }
        let last = TargetSpace.lastScaled(batch, anchorIndex: cgmIndex)
        var next = step(head(g.slice(state.output, axis: 1, range: (batch.history - 1) ..< batch.history), p),
                        from: g.constant(Tensor(shape: [b, 1, 1], scalars: last)))   // (B, 1, 1)
        var preds = [next]
        let future = f > 0 ? g.constant(batch.futureTensor) : nil                                           // (B, H, F)
        for i in 1 ..< max(h, 1) {
            var parts: [Var] = []
            if cgmIndex > 0 { parts.append(g.slice(g.slice(future!, axis: 1, range: (i - 1) ..< i), axis: 2, range: 0 ..< cgmIndex)) }
            parts.append(next)
            if cgmIndex < f {
                parts.append(g.slice(g.slice(future!, axis: 1, range: (i - 1) ..< i), axis: 2, range: cgmIndex ..< f))
            }
            let z = parts.count == 1 ? parts[0] : g.concat(parts, axis: 2)                                  // (B, 1, P)
            state = lstm(z, h0: state.hT, c0: state.cT, p)
            next = step(head(state.output, p), from: next)
            preds.append(next)
        }
        return g.reshape(preds.count == 1 ? preds[0] : g.concat(preds, axis: 1), to: [b, h])
    }

    public func forecast(_ batch: Batch, _ g: Graph) -> Forecast {
        let scaled = scaledForecast(batch, g).value
        return Forecast(point: Tensor(shape: scaled.shape, scalars: scaled.scalars.map(FeatureCatalog.unscaleCGM)))  // eq. 14
    }
}
