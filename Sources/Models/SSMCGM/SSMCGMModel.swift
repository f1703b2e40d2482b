// SSM-CGM as a `ForecastModel` (SSM-CGM §2, A.9): glucose targets modelled in eq. 11's scaled space
// (as TFTModel), pytorch-forecasting's QuantileLoss at the configured quantiles, forecasts mapped back to
// mg/dL by eq. 14. `interpret` gives the VSN weights and the hidden-attention maps (eqs. 17–18, 22–25)
// of every stack layer and of the light Mamba.

import CGMSchema
import CGMTensor
import Layers

/// Interpretability outputs of an SSM-CGM forward pass, with the input names.
public struct SSMCGMInterpretation {
    /// Static selection weights (B, S), columns `staticNames`.
    public var staticWeights: Tensor
    /// Encoder selection weights (B, L, P), columns `pastNames`.
    public var encoderWeights: Tensor
    /// Decoder selection weights (B, H, F), columns `futureNames`.
    public var decoderWeights: Tensor
    /// Hidden attention of each stack layer over the L + H steps (each layer's α: (B, heads, L+H, L+H)).
    public var stackAttention: [HiddenAttention]
    /// Hidden attention of the light Mamba over the L + H steps.
    public var lightAttention: HiddenAttention
    /// Variable names of the weight columns.
    public var staticNames: [String], pastNames: [String], futureNames: [String]
}

/// The SSM-CGM forecaster: a `TemporalFusionModel` over its network.
public typealias SSMCGMModel = TemporalFusionModel<SSMCGMNetwork>

extension SSMCGMModel {
    /// Selection weights and hidden attention of a batch (inference mode; the maps cost O(B·heads·(L+H)²)
    /// memory per layer, so pass a few windows at a time). Hidden attention assumes a zero initial state:
    /// the learnable initial state's contribution is not attributed to any lag.
    public func interpret(_ batch: Batch, tau: Double = 1) -> SSMCGMInterpretation {
        let g = Graph(training: false, recording: false)
        let o = outputs(batch, g)
        return SSMCGMInterpretation(
            staticWeights: o.staticWeights.value, encoderWeights: o.encoderWeights.value,
            decoderWeights: o.decoderWeights.value,
            stackAttention: network.stack.hiddenAttention(o.stackInput.value, store, tau: tau),
            lightAttention: network.lightMamba.hiddenAttention(o.enriched.value, store, tau: tau),
            staticNames: config.statics.map(\.name), pastNames: config.pastNames, futureNames: config.futureNames)
    }
}
