// The network settings of SSM-CGM (Isaac, Collin & Patel 2025, Figure 1, A.4): its hyperparameters
// (SSMCGMSpec, defaults Table 4) and its input interface, TFT's: past, known-future and static inputs
// through embeddings, GRNs and VSNs, with the LSTMs replaced by a stack of residual Mamba-2 blocks and the
// attention by one light Mamba-2 block. Learnable initial states and the dt limit (1e-3, 10) are Table 4's.

import CGMSchema
import Layers

/// Settings of an `SSMCGMModel`: its hyperparameters, and the names and kinds of its inputs in `Batch`
/// column order (the same interface as `TFTConfig`).
@dynamicMemberLookup
public struct SSMCGMConfig: TemporalFusionConfig, Equatable, Sendable {
    /// Sizes, Mamba settings, dropout, quantiles (the `model:` keys; SSMCGMSpec.swift).
    public var spec: SSMCGMSpec
    /// Past (encoder) real features, `Batch.past` column order.
    public var pastNames: [String]
    /// Known-future (decoder) real features, `Batch.future` column order (a name also in `pastNames`
    /// shares its prescaler).
    public var futureNames: [String]
    /// Static columns, `Batch.statics` column order.
    public var statics: [StaticInput]
    /// Learned initial SSM state per block (Table 4 "learnable init states").
    public var learnableInitStates = true
    /// GRN skip path when widths differ (pytorch-forecasting: ResampleNorm).
    public var grnSkip: GatedResidualNetwork.Skip = .resampleNorm

    /// The network of `spec` (default: Table 4) over the named inputs.
    public init(pastNames: [String], futureNames: [String], statics: [StaticInput] = [],
                spec: SSMCGMSpec = .defaults) {
        (self.pastNames, self.futureNames, self.statics, self.spec) = (pastNames, futureNames, statics, spec)
    }



    /// The mixer of each stack block.
    public var stackMamba: Mamba2Config {
        var c = spec.stackMamba
        c.learnableInitStates = learnableInitStates
        return c
    }

    /// The light Mamba replacing the attention (SSMCGMSpec.lightMamba).
    public var lightMamba: Mamba2Config {
        var c = spec.lightMamba
        c.learnableInitStates = learnableInitStates
        return c
    }

    /// Problems with the config (empty when valid), each naming the offending setting.
    public func validationErrors() -> [String] {
        spec.problems.map { "\($0.key) \($0.message)" } + inputErrors
    }
}
