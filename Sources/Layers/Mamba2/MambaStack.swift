// A residual stack of pre-norm Mamba-2 mixers (`mamba_ssm.models.mixer_seq_simple.MixerModel` without the
// embedding, and the bench reference's MambaForecaster body):
//   x: (B, L, d_model) → (B, L, d_model)
//   h ← h + Dropout(Mixer_i(Norm_i(h)))   for i = 0 … depth−1,   then Norm_f(h) when `finalNorm`
// Norm is RMSNorm (reference) or LayerNorm; dropout acts on the mixer output before the residual add.

import CGMTensor
import Layers

/// The normalization in front of each mixer.
public enum MambaNormKind: String, Sendable, Codable {
    /// RMSNorm with a learned scale (mamba_ssm `rms_norm=True`, the bench reference).
    case rmsNorm
    /// LayerNorm with scale and shift.
    case layerNorm
}

/// `depth` residual pre-norm Mamba-2 blocks, parameters "name.layers.i.norm.*", "name.layers.i.mixer.*" and
/// (with `finalNorm`) "name.norm_f.*".
public struct MambaStack {
    /// A norm of either kind.
    public enum Norm {
        /// RMSNorm with a learned scale.
        case rms(MambaRMSNorm)
        /// LayerNorm with scale and shift.
        case layer(LayerNorm)

        init(_ kind: MambaNormKind, _ store: ParameterStore, _ name: String, dimension: Int) {
            switch kind {
            case .rmsNorm: self = .rms(MambaRMSNorm(store, name, dimension: dimension))
            case .layerNorm: self = .layer(LayerNorm(store, name, dimension: dimension))
            }
        }

        func callAsFunction(_ x: Var, _ p: BoundParameters) -> Var {
            switch self {
            case .rms(let n): return n(x, p)
            case .layer(let n): return n(x, p)
            }
        }
    }

    /// The configuration shared by every mixer.
    public let config: Mamba2Config
    /// The pre-norm of each block.
    public let norms: [Norm]
    /// The mixers, first to last.
    public let mixers: [Mamba2Block]
    /// The norm after the last block ("norm_f"), when requested.
    public let finalNorm: Norm?
    /// Dropout probability on each mixer output (training only).
    public let dropout: Float

    /// Registers `depth` blocks under `name`; parameters are drawn from `rng` layer by layer.
    public init(_ store: ParameterStore, _ name: String, config: Mamba2Config, depth: Int,
                norm: MambaNormKind = .rmsNorm, dropout: Float = 0, finalNorm: Bool = true,
                rng: inout PhiloxGenerator) {
        precondition(depth > 0, "MambaStack '\(name)': depth must be positive, got \(depth)")
        precondition(dropout >= 0 && dropout < 1, "MambaStack '\(name)': dropout \(dropout) outside [0, 1)")
        self.config = config
        var norms: [Norm] = [], mixers: [Mamba2Block] = []
        for i in 0..<depth {
            norms.append(Norm(norm, store, "\(name).layers.\(i).norm", dimension: config.dModel))
            mixers.append(Mamba2Block(store, "\(name).layers.\(i).mixer", config: config, rng: &rng))
        }
        self.norms = norms
        self.mixers = mixers
        self.finalNorm = finalNorm ? Norm(norm, store, "\(name).norm_f", dimension: config.dModel) : nil
        self.dropout = dropout
    }

    /// Number of blocks.
    public var depth: Int { mixers.count }

    /// x (B, L, d_model) → (B, L, d_model).
    public func callAsFunction(_ x: Var, _ p: BoundParameters) -> Var {
        let g = x.graph
        var h = x
        for (norm, mixer) in zip(norms, mixers) {
            let m = mixer(norm(h, p), p)
            h = g.add(h, dropout > 0 ? g.dropout(m, p: dropout) : m)
        }
        return finalNorm.map { $0(h, p) } ?? h
    }

    /// Hidden attention of every layer on input `x` (B, L, d_model) (each layer sees its own normed input).
    public func hiddenAttention(_ x: Tensor, _ store: ParameterStore, tau: Double = 1) -> [HiddenAttention] {
        let g = Graph(training: false, recording: false)
        let p = store.bind(g)
        var h = g.constant(x)
        var maps: [HiddenAttention] = []
        for (norm, mixer) in zip(norms, mixers) {
            let input = norm(h, p)
            maps.append(mixer.hiddenAttention(input.value, store, tau: tau))
            h = g.add(h, mixer(input, p))
        }
        return maps
    }
}
