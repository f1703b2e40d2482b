import CGMTensor

/// One bidirectional LSTM layer (PyTorch `nn.LSTM(bidirectional=True, batch_first=True)` for one layer):
/// a forward LSTM over x_1 … x_T and a reverse LSTM over x_T … x_1 whose outputs are re-aligned with the
/// original steps, concatenated on the feature axis:
///   x (B, T, In) → [h→_t ; h←_t] (B, T, 2H),  h←_t = reverse(LSTM_rev(reverse(x)))_t
/// Parameters `name.forward.*` and `name.reverse.*` (PyTorch: `weight_ih_l0` / `weight_ih_l0_reverse`).
public struct BidirectionalLSTM {
    public let forward: LSTM, backward: LSTM
    public var hiddenSize: Int { forward.hiddenSize }

    /// Registers both directions, each initialized U(−1/√H, 1/√H) as PyTorch does.
    public init(_ store: ParameterStore, _ name: String, inputSize: Int, hiddenSize: Int, rng: inout PhiloxGenerator) {
        forward = LSTM(store, "\(name).forward", inputSize: inputSize, hiddenSize: hiddenSize, rng: &rng)
        backward = LSTM(store, "\(name).reverse", inputSize: inputSize, hiddenSize: hiddenSize, rng: &rng)
    }

    /// (B, T, In) → (B, T, 2H), zero initial states in both directions.
    public func callAsFunction(_ x: Var, _ p: BoundParameters) -> Var {
        let g = x.graph
        let f = forward(x, p).output
        let r = g.reverse(backward(g.reverse(x, axis: 1), p).output, axis: 1)
        return g.concat([f, r], axis: 2)
    }
}
