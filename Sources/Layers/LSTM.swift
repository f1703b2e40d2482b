import CGMTensor

/// A single-layer LSTM (PyTorch `nn.LSTM(batch_first=True)` parameters and gate order i, f, g, o),
/// running the fused sequence op `Graph.lstm`.
///   x: (B, T, In), optional (h0, c0): (B, H) → output (B, T, H), hT, cT: (B, H)
public struct LSTM {
    public let weightIH: ParameterID, weightHH: ParameterID
    public let biasIH: ParameterID, biasHH: ParameterID
    public let inputSize: Int, hiddenSize: Int

    /// Registers `name.weight_ih` (4H, In), `name.weight_hh` (4H, H), `name.bias_ih`, `name.bias_hh` (4H),
    /// all initialized U(−1/√H, 1/√H) as PyTorch does.
    public init(_ store: ParameterStore, _ name: String, inputSize: Int, hiddenSize: Int,
                rng: inout PhiloxGenerator) {
        self.inputSize = inputSize
        self.hiddenSize = hiddenSize
        let h4 = 4 * hiddenSize
        weightIH = store.add("\(name).weight_ih", Initializers.lstm([h4, inputSize], hiddenSize: hiddenSize, rng: &rng))
        weightHH = store.add("\(name).weight_hh", Initializers.lstm([h4, hiddenSize], hiddenSize: hiddenSize, rng: &rng))
        biasIH = store.add("\(name).bias_ih", Initializers.lstm([h4], hiddenSize: hiddenSize, rng: &rng))
        biasHH = store.add("\(name).bias_hh", Initializers.lstm([h4], hiddenSize: hiddenSize, rng: &rng))
    }

    public func callAsFunction(_ x: Var, h0: Var? = nil, c0: Var? = nil, _ p: BoundParameters)
        -> (output: Var, hT: Var, cT: Var) {
        x.graph.lstm(x, h0: h0, c0: c0, weightIH: p[weightIH], weightHH: p[weightHH],
                     biasIH: p[biasIH], biasHH: p[biasHH])
    }
}
