// Hyperparameters of GluFormer (gluformer-readme; the reference builds torch.nn.TransformerEncoder with a causal
// mask over glucose tokens). Paper size: 16 layers, 16 heads, d_model 1024, FF 2048, dropout 0.1.
//
// Choices (where the reference or issue leaves room):
//   norm        post-LayerNorm by default, as nn.TransformerEncoderLayer (norm_first=False); `pre` puts LayerNorm
//               before each sublayer and adds a final LayerNorm (trains more easily at depth).
//   activation  ReLU by default (nn.TransformerEncoderLayer's default); GELU (exact erf form) selectable.
//   dropout     on the embedding sum, after attention, inside and after the MLP (PyTorch's places); there is no
//               dropout on the attention probabilities (the fused attention op has none).
//   head        a linear map to the 461 glucose tokens only: padding is never a target.

/// Sizes and choices of a `GluFormerNetwork`.
public struct GluFormerConfig: Equatable, Sendable {
    /// LayerNorm placement in a block.
    public enum Norm: String, Sendable, CaseIterable {
        /// x = LN(x + Sublayer(x)) (nn.TransformerEncoderLayer default).
        case post
        /// x = x + Sublayer(LN(x)), plus a final LayerNorm.
        case pre
    }

    /// MLP activation.
    public enum Activation: String, Sendable, CaseIterable {
        case relu, gelu
    }

    /// Model width d_model.
    public var dModel: Int
    /// Attention heads (d_model must be divisible by it).
    public var heads: Int
    /// Transformer blocks.
    public var layers: Int
    /// MLP hidden width.
    public var feedForward: Int
    /// Dropout probability.
    public var dropout: Float
    /// LayerNorm placement.
    public var norm: Norm
    /// MLP activation.
    public var activation: Activation
    /// Longest sequence the model is trained on (tokens); generation keeps its window within it.
    public var maxLength: Int
    /// Diet-token slots per position N (0: glucose only; DietTokenizer.swift in CGMData).
    public var dietSlots: Int = 0
    /// Diet-token embedding rows after the 462 glucose + padding rows (N · B).
    public var dietVocabulary: Int = 0
    /// Residual head: a learned bias over the offset from the current token and a zero-initialized head, so an
    /// untrained model continues the last value (GluFormerRelativeBias.swift); false: the reference's head.
    public var residual = false

    /// A configuration (defaults: a small model that trains on 2 cores in minutes).
    public init(dModel: Int = 64, heads: Int = 4, layers: Int = 2, feedForward: Int = 128, dropout: Float = 0.1,
                norm: Norm = .post, activation: Activation = .relu, maxLength: Int = 288) {
        self.dModel = dModel
        self.heads = heads
        self.layers = layers
        self.feedForward = feedForward
        self.dropout = dropout
        self.norm = norm
        self.activation = activation
        self.maxLength = maxLength
    }

    /// The paper's size: 16 layers, 16 heads, d_model 1024, FF 2048, dropout 0.1.
    public static func paper(maxLength: Int = 288) -> GluFormerConfig {
        GluFormerConfig(dModel: 1024, heads: 16, layers: 16, feedForward: 2048, dropout: 0.1, maxLength: maxLength)
    }

    /// Width of one head.
    public var headDim: Int { dModel / heads }

    /// Problems with the settings (empty when valid), each naming the setting.
    public func validationErrors() -> [String] {
        var e: [String] = []
        if dModel < 1 { e.append("d_model = \(dModel) must be ≥ 1") }
        if heads < 1 || dModel % max(heads, 1) != 0 { e.append("heads = \(heads) must divide d_model = \(dModel)") }
        if layers < 1 { e.append("layers = \(layers) must be ≥ 1") }
        if feedForward < 1 { e.append("feed_forward = \(feedForward) must be ≥ 1") }
        if !(dropout >= 0 && dropout < 1) { e.append("dropout = \(dropout) must be in [0, 1)") }
        if maxLength < 2 { e.append("max_length = \(maxLength) must be ≥ 2") }
        if dietSlots < 0 || dietVocabulary < 0 || (dietSlots > 0) != (dietVocabulary > 0) {
            e.append("diet slots \(dietSlots) and vocabulary \(dietVocabulary) must both be 0 or both positive")
        }
        return e
    }
}
