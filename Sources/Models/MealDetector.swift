// The meal detector of SSM-CGM Appendix A.2 (Figure 4): per-step meal logits from a 6-hour CGM window.
//
//   x (B, L, P) past features (the preset: P = 1, eq. 11-scaled CGM)
//   → Conv1d(P→16, K 15, d 1) → ReLU → Conv1d(16→16, K 3, d 2) → ReLU → Conv1d(16→16, K 3, d 4) → ReLU
//   → BiLSTM(16 → 2×64) → BiLSTM(128 → 2×64)                 (B, L, 128)
//   → LayerNorm(128) → dropout(0.4) → Linear(128 → 1)       logits ŷ (B, L)
//   loss  L = −(1/BL) Σ [α ỹ log σ(ŷ) + (1 − ỹ) log(1 − σ(ŷ))],  α = 5       (A.2, PyTorch BCEWithLogits pos_weight)
//
// Choices the paper leaves open: "same" (centred, non-causal) convolution padding — the detector labels a
// whole window after the fact and the BiLSTM already looks both ways, so a causal CNN would only shift its
// receptive field; ReLU after each convolution; no dropout between the two BiLSTM layers (PyTorch's
// nn.LSTM default dropout = 0). Targets ỹ are the `meal_labels` extra (trapezoid-smoothed, A.2).

import CGMSchema
import CGMTensor
import Layers

/// SSM-CGM A.2's dilated-CNN + BiLSTM meal detector as a model the trainer can train.
public final class MealDetector: ForecastModel {
    /// The network: its hyperparameters (`model:` keys, MealDetectorSpec.swift), its input width and the
    /// fixed convolution geometry of A.2.
    @dynamicMemberLookup
    public struct Config: ModelSpecHolder, Equatable {
        /// Channels, hidden units, layers, dropout, pos_weight.
        public var spec: MealDetectorSpec
        /// Past features P.
        public var inputs: Int
        /// Kernel sizes and dilations of the three convolutions (A.2: 15/3/3, 1/2/4).
        public var kernels = [15, 3, 3]
        public var dilations = [1, 2, 4]

        /// The detector over `inputs` past features with `spec`'s hyperparameters.
        public init(inputs: Int, spec: MealDetectorSpec = .defaults) {
            self.inputs = inputs
            self.spec = spec
        }

        /// Dropout probability as the graph takes it.
        public var dropout: Float { Float(spec.dropout) }
        /// α of the loss as the graph takes it.
        public var posWeight: Float { Float(spec.posWeight) }
    }

    public let name = "meal_detector"
    public let config: Config
    public let store = ParameterStore()
    let convs: [Conv1d]
    let lstms: [BidirectionalLSTM]
    let norm: LayerNorm
    let head: Linear

    public init(_ config: Config, seed: UInt64) {
        precondition(config.kernels.count == config.dilations.count && !config.kernels.isEmpty,
                     "meal_detector: \(config.kernels.count) kernels for \(config.dilations.count) dilations")
        self.config = config
        var rng = PhiloxGenerator(seed: seed, stream: 1)
        var convs: [Conv1d] = [], inputs = config.inputs
        for (i, (k, d)) in zip(config.kernels, config.dilations).enumerated() {
            convs.append(Conv1d(store, "conv\(i)", inChannels: inputs, outChannels: config.channels, kernelSize: k,
                                dilation: d, causal: false, rng: &rng))
            inputs = config.channels
        }
        var lstms: [BidirectionalLSTM] = []
        for i in 0 ..< config.layers {
            lstms.append(BidirectionalLSTM(store, "lstm\(i)", inputSize: inputs, hiddenSize: config.hidden, rng: &rng))
            inputs = 2 * config.hidden
        }
        self.convs = convs
        self.lstms = lstms
        norm = LayerNorm(store, "norm", dimension: inputs)
        head = Linear(store, "head", inFeatures: inputs, outFeatures: 1, rng: &rng)
    }

    /// Per-step logits (B, L) of `x` (B, L, P).
    public func logits(_ x: Var, _ p: BoundParameters) -> Var {
        let g = x.graph
        var h = x
        for conv in convs { h = g.relu(conv(h, p)) }
        for lstm in lstms { h = lstm(h, p) }
        let y = head(g.dropout(norm(h, p), p: config.dropout), p)   // (B, L, 1)
        return g.reshape(y, to: Array(y.shape.dropLast()))
    }

    /// The batch's smoothed targets ỹ (B, L) from its `meal_labels` extra.
    public static func targets(_ batch: Batch) -> Tensor {
        let name = WindowExtras.mealLabels
        guard let e = batch.extras[name], e.shape == [batch.history], e.values.count == batch.count * batch.history else {
            preconditionFailure("meal_detector: batch extras[\(name)] must have per-window shape [\(batch.history)] (got "
                                + (batch.extras[name].map { "\($0.shape)" } ?? "none")
                                + "); prepare the data with data.meal_labels: true (preset meal_detection)")
        }
        return Tensor(shape: [batch.count, batch.history], scalars: e.values)
    }

    /// Weighted BCE-with-logits over every step of every window (A.2).
    public func loss(_ batch: Batch, _ g: Graph) -> Var {
        g.bceWithLogits(logits(g.constant(batch.pastTensor), store.bind(g)), g.constant(Self.targets(batch)),
                        posWeight: config.posWeight)
    }

    /// Meal probabilities σ(ŷ) (B, L) in `point` (not glucose: use `cgmtrain detect-meals`, not `evaluate`).
    public func forecast(_ batch: Batch, _ g: Graph) -> Forecast {
        Forecast(point: probabilities(batch.pastTensor, g))
    }

    /// σ(logits) of windows `x` (B, L, P), computed without dropout if `g` is an inference graph.
    public func probabilities(_ x: Tensor, _ g: Graph) -> Tensor {
        let z = logits(g.constant(x), store.bind(g)).value
        return Tensor(shape: z.shape, scalars: z.scalars.map(ActivationMath.sigmoid))
    }
}
