import CGMTensor
import Layers

/// The toy task's 2-layer model: an LSTM over the history, then a Linear head from the final
/// hidden state to all horizon steps at once.
///   x: (B, L, 1) → LSTM(1→H) → hT: (B, H) → Linear(H→horizon) → (B, horizon)
public struct ToyForecaster {
    public let store: ParameterStore
    public let lstm: LSTM
    public let head: Linear

    public init(hidden: Int, horizon: Int, seed: UInt64) {
        store = ParameterStore()
        var rng = PhiloxGenerator(seed: seed, stream: 1)
        lstm = LSTM(store, "lstm", inputSize: 1, hiddenSize: hidden, rng: &rng)
        head = Linear(store, "head", inFeatures: hidden, outFeatures: horizon, rng: &rng)
    }

    public func callAsFunction(_ x: Var, _ p: BoundParameters) -> Var {
        head(lstm(x, p).hT, p)
    }
}
