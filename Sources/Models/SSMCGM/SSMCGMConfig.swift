// Hyperparameters and input interface of SSM-CGM (Isaac, Collin & Patel 2025, Figure 1, A.4, Table 4):
// TFT's inputs, embeddings, GRNs and VSNs, with the LSTMs replaced by a stack of residual Mamba-2 blocks
// and the attention by one light Mamba-2 block. Defaults are Table 4: d_model 128, depth 4, d_state 128,
// d_conv 8, expand 4, headdim 64 (8 heads), ngroups 1, chunk 128, dropout 0.2, MES-style heads, learnable
// initial states, dt limit (1e-3, 10), QuantileLoss at {0.1, 0.5, 0.9}.
// Not given by the paper (our choices, documented in SSMCGMNetwork): the light Mamba's expand (1, see
// `lightExpand`), LayerNorm before each stack block and after the stack, hidden_continuous 8 (TFT's).

import CGMSchema

/// Settings of an `SSMCGMModel`: sizes, Mamba settings, quantiles, and the names and kinds of its inputs
/// in `Batch` column order (the same interface as `TFTConfig`).
public struct SSMCGMConfig: Equatable, Sendable {
    /// Model width d_model (TFT's hidden size): VSN outputs, GRNs, Mamba blocks.
    public var dModel = 128
    /// Residual Mamba-2 blocks in the temporal stack (Table 4 "Mamba depth").
    public var depth = 4
    /// SSM state size N.
    public var dState = 128
    /// Causal depthwise convolution width.
    public var dConv = 8
    /// d_inner = expand · d_model in the stack blocks.
    public var expand = 4
    /// Channels per head P (heads = expand · d_model / headdim).
    public var headdim = 64
    /// Groups of B and C (1 for MES).
    public var ngroups = 1
    /// SSD chunk length.
    public var chunk = 128
    /// d_inner = lightExpand · d_model in the light Mamba (must be a multiple of headdim / d_model).
    public var lightExpand = 1
    /// Standard Mamba-2 heads or SSM-CGM's MES-style heads (A.8), in every block.
    public var variant: Mamba2Variant = .mes
    /// Learned initial SSM state per block (Table 4 "learnable init states").
    public var learnableInitStates = true
    /// Dropout everywhere TFT applies it, and on each stack block's output before the residual add.
    public var dropout: Float = 0.2
    /// Width of a real variable's prescaled embedding (pytorch-forecasting `hidden_continuous_size`).
    public var hiddenContinuous = 8
    /// Predicted quantile levels.
    public var quantiles: [Float] = [0.1, 0.5, 0.9]
    /// Past (encoder) real features, `Batch.past` column order.
    public var pastNames: [String]
    /// Known-future (decoder) real features, `Batch.future` column order (a name also in `pastNames`
    /// shares its prescaler).
    public var futureNames: [String]
    /// Static columns, `Batch.statics` column order.
    public var statics: [TFTConfig.StaticInput]
    /// GRN skip path when widths differ (pytorch-forecasting: ResampleNorm).
    public var grnSkip: GatedResidualNetwork.Skip = .resampleNorm

    /// A config with explicit inputs; every size defaults to Table 4.
    public init(pastNames: [String], futureNames: [String], statics: [TFTConfig.StaticInput] = [],
                dModel: Int = 128, depth: Int = 4, dState: Int = 128, dConv: Int = 8, expand: Int = 4,
                headdim: Int = 64, ngroups: Int = 1, chunk: Int = 128, lightExpand: Int = 1,
                variant: Mamba2Variant = .mes, dropout: Float = 0.2, hiddenContinuous: Int = 8,
                quantiles: [Float] = [0.1, 0.5, 0.9]) {
        (self.pastNames, self.futureNames, self.statics) = (pastNames, futureNames, statics)
        (self.dModel, self.depth, self.dState, self.dConv, self.expand) = (dModel, depth, dState, dConv, expand)
        (self.headdim, self.ngroups, self.chunk, self.lightExpand, self.variant) = (headdim, ngroups, chunk, lightExpand, variant)
        (self.dropout, self.hiddenContinuous, self.quantiles) = (dropout, hiddenContinuous, quantiles)
    }

    /// A config for a prepared dataset: feature names and static kinds/cardinalities from its spec.
    public init(spec: FeatureSpec, dModel: Int = 128, depth: Int = 4) {
        self.init(pastNames: spec.pastFeatures, futureNames: spec.futureFeatures,
                  statics: spec.statics.map { $0.kind == .categorical ? .categorical($0.name, cardinality: $0.cardinality) : .real($0.name) },
                  dModel: dModel, depth: depth)
    }

    /// The mixer of each stack block.
    public var stackMamba: Mamba2Config {
        Mamba2Config(dModel: dModel, dState: dState, dConv: dConv, expand: expand, headdim: headdim, ngroups: ngroups,
                     chunk: chunk, dtLimit: 1e-3...10, learnableInitStates: learnableInitStates, variant: variant)
    }

    /// The light Mamba replacing the attention: the stack's mixer with expand `lightExpand` and headdim
    /// min(headdim, lightExpand · d_model) (one head when the stack's heads are wider than its d_inner).
    public var lightMamba: Mamba2Config {
        var c = stackMamba
        c.expand = lightExpand
        c.headdim = min(headdim, lightExpand * dModel)
        return c
    }

    /// The embedding width used for static input `s` (TFT's rule).
    public func embeddingSize(of s: TFTConfig.StaticInput) -> Int? {
        s.cardinality.map { s.embeddingSize ?? TFTConfig.embeddingSize(cardinality: $0, hidden: dModel) }
    }

    /// The index of the median quantile (0.5, or the level nearest to it): the point forecast.
    public var medianIndex: Int { TFTConfig.medianIndex(of: quantiles) }

    /// Problems with the config (empty when valid), each naming the offending setting.
    public func validationErrors() -> [String] {
        var errors: [String] = []
        if dModel < 1 { errors.append("d_model = \(dModel) must be ≥ 1") }
        if depth < 1 { errors.append("depth = \(depth) must be ≥ 1") }
        for (key, v) in [("d_state", dState), ("d_conv", dConv), ("expand", expand), ("headdim", headdim),
                         ("ngroups", ngroups), ("chunk", chunk), ("light_expand", lightExpand)] where v < 1 {
            errors.append("\(key) = \(v) must be ≥ 1")
        }
        if errors.isEmpty {
            for (key, e, p) in [("expand", expand, headdim), ("light_expand", lightExpand, min(headdim, lightExpand * dModel))] {
                // the light Mamba's headdim is capped at its d_inner
                if (e * dModel) % p != 0 {
                    errors.append("headdim = \(headdim) must divide \(key) · d_model = \(e * dModel)")
                } else if ((e * dModel) / p) % ngroups != 0 {
                    errors.append("ngroups = \(ngroups) must divide the heads of \(key) · d_model / headdim = \((e * dModel) / p)")
                }
            }
        }
        if variant == .mes && ngroups != 1 { errors.append("variant mes shares one readout C across heads: ngroups must be 1 (got \(ngroups))") }
        return errors + TFTConfig.inputErrors(dropout: dropout, hiddenContinuous: hiddenContinuous, quantiles: quantiles,
                                              pastNames: pastNames, futureNames: futureNames, statics: statics)
    }
}
