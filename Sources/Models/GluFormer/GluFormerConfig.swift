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
@dynamicMemberLookup
public struct GluFormerConfig: ModelSpecHolder, Equatable, Sendable {
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

    /// d_model, heads, layers, FF width, dropout, norm, activation (the `model:` keys; GluFormerSpec.swift).
    public var spec: GluFormerSpec
    /// Longest sequence the model is trained on (tokens); generation keeps its window within it.
    public var maxLength: Int
    /// Diet-token slots per position N (0: glucose only; DietTokenizer.swift in CGMSchema).
    public var dietSlots: Int = 0
    /// Diet-token embedding rows after the 462 glucose + padding rows (N · B).
    public var dietVocabulary: Int = 0

    /// The network of `spec` for sequences of up to `maxLength` tokens.
    public init(spec: GluFormerSpec = .defaults, maxLength: Int = 288) {
        self.spec = spec
        self.maxLength = maxLength
    }


    /// Dropout probability as the graph takes it.
    public var dropout: Float { Float(spec.dropout) }

    /// Width of one head.
    public var headDim: Int { spec.dModel / spec.heads }

    /// Problems with the settings (empty when valid), each naming the setting.
    public func validationErrors() -> [String] {
        var e: [String] = []
        if spec.dModel < 1 { e.append("d_model = \(spec.dModel) must be ≥ 1") }
        if spec.heads < 1 || spec.dModel % max(spec.heads, 1) != 0 {
            e.append("heads = \(spec.heads) must divide d_model = \(spec.dModel)")
        }
        if spec.layers < 1 { e.append("layers = \(spec.layers) must be ≥ 1") }
        if spec.feedForward < 1 { e.append("feed_forward = \(spec.feedForward) must be ≥ 1") }
        if !(spec.dropout >= 0 && spec.dropout < 1) { e.append("dropout = \(dropout) must be in [0, 1)") }
        if maxLength < 2 { e.append("max_length = \(maxLength) must be ≥ 2") }
        if dietSlots < 0 || dietVocabulary < 0 || (dietSlots > 0) != (dietVocabulary > 0) {
            e.append("diet slots \(dietSlots) and vocabulary \(dietVocabulary) must both be 0 or both positive")
        }
        return e
    }
}
