// The forecaster TFT and SSM-CGM share: a network over TemporalFusionInputs whose QuantileHead predicts
// quantiles in the model's `TargetSpace` (ScaledQuantileForecaster gives the QuantileLoss and the mg/dL
// forecast), fed the batch's past, future and static columns after checking them against the config.
// `TFTModel` and `SSMCGMModel` are this class over their networks; each adds its interpretation.

import CGMSchema
import CGMTensor
import Layers

/// A TFT-style network (TFTNetwork, SSMCGMNetwork).
public protocol TemporalFusionNetwork {
    associatedtype Config: TemporalFusionConfig
    associatedtype Output: TemporalFusionOutput
    associatedtype Core
    associatedtype Mixer
    /// Registry name of the model (`model.name`).
    static var modelName: String { get }
    /// Sizes and inputs.
    var config: Config { get }
    /// The inputs, core, enrichment, mixer, head and their parameter store.
    var scaffold: TemporalFusionScaffold<Core, Mixer> { get }
    /// Builds and initializes the network with parameters drawn from `seed`.
    init(_ config: Config, seed: UInt64)
    /// The forward pass: past (B, L, P), future (B, H, F), statics (B, S).
    func callAsFunction(past: Var, future: Var, statics: Var, _ p: BoundParameters) -> Output
}

/// What a TFT-style forward pass produces besides its interpretation outputs.
public protocol TemporalFusionOutput {
    /// Quantile predictions in the head's target space (B, H, Q).
    var prediction: Var { get }
}

/// A forecaster over a TFT-style network.
public final class TemporalFusionModel<Network: TemporalFusionNetwork>: ScaledQuantileForecaster {
    /// The network and its parameters.
    public let network: Network
    /// What the quantile head predicts (eq. 11-scaled glucose or its standardized change).
    public let targetSpace: TargetSpace

    /// Builds the network with parameters drawn from `seed`; a residual head starts at zero (persistence).
    public init(_ config: Network.Config, targetSpace: TargetSpace = .absolute, seed: UInt64) {
        network = Network(config, seed: seed)
        self.targetSpace = targetSpace
        if targetSpace.isResidual { network.scaffold.head.outputLayer.zeroInitialize(network.scaffold.store) }
    }

    /// Registry name.
    public var name: String { Network.modelName }
    /// The network's settings.
    public var config: Network.Config { network.config }
    /// All parameters.
    public var store: ParameterStore { network.scaffold.store }
    /// Predicted quantile levels (the loss and the mg/dL forecast: `ScaledQuantileForecaster`).
    public var quantiles: [Float] { network.config.quantiles }

    /// The forward pass on a batch (the prediction in `targetSpace`).
    public func outputs(_ batch: Batch, _ g: Graph) -> Network.Output {
        let x = batch.temporalFusionInputs(g, network.config, model: name)
        return network(past: x.past, future: x.future, statics: x.statics, store.bind(g))
    }

    /// The quantile head's output (B, H, Q) in `targetSpace`.
    public func scaledQuantiles(_ batch: Batch, _ g: Graph) -> Var { outputs(batch, g).prediction }
}

extension TemporalFusionNetwork {
    /// Every parameter.
    public var store: ParameterStore { scaffold.store }
}
