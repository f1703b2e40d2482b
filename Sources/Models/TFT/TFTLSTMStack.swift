// A stacked LSTM (PyTorch nn.LSTM(num_layers, dropout, batch_first=True)) built from the fused one-layer op.
//
//   x: (B, T, In), initial h0ₗ, c0ₗ: (B, H) per layer ℓ → output (B, T, H) of the top layer,
//   final hₗ, cₗ: (B, H) per layer.   Layer ℓ > 0 reads dropout(output of layer ℓ − 1) in training
//   (nn.LSTM applies its dropout to every layer's output except the last).

import CGMTensor
import Layers

/// A multi-layer LSTM with PyTorch's parameter names `name.weight_ih_l<ℓ>`, `weight_hh_l<ℓ>`,
/// `bias_ih_l<ℓ>`, `bias_hh_l<ℓ>` (gate order i, f, g, o; all U(−1/√H, 1/√H)).
public struct TFTLSTMStack {
    /// Per layer: (weight_ih (4H, In or H), weight_hh (4H, H), bias_ih (4H), bias_hh (4H)).
    public let layers: [(weightIH: ParameterID, weightHH: ParameterID, biasIH: ParameterID, biasHH: ParameterID)]
    /// Input width of the first layer and hidden width H of every layer.
    public let inputSize: Int, hiddenSize: Int
    /// Dropout between layers (PyTorch applies none with one layer).
    public let dropout: Float

    /// Registers `layers` layers under `name`, in PyTorch's order.
    public init(_ store: ParameterStore, _ name: String, inputSize: Int, hiddenSize: Int, layers: Int, dropout: Float,
                rng: inout PhiloxGenerator) {
        precondition(layers >= 1 && inputSize > 0 && hiddenSize > 0,
                     "LSTM '\(name)': need ≥ 1 layer and positive sizes (layers \(layers), in \(inputSize), hidden \(hiddenSize))")
        self.inputSize = inputSize
        self.hiddenSize = hiddenSize
        self.dropout = layers > 1 ? dropout : 0
        let h4 = 4 * hiddenSize
        self.layers = (0..<layers).map { l in
            let input = l == 0 ? inputSize : hiddenSize
            return (store.add("\(name).weight_ih_l\(l)", Initializers.lstm([h4, input], hiddenSize: hiddenSize, rng: &rng)),
                    store.add("\(name).weight_hh_l\(l)", Initializers.lstm([h4, hiddenSize], hiddenSize: hiddenSize, rng: &rng)),
                    store.add("\(name).bias_ih_l\(l)", Initializers.lstm([h4], hiddenSize: hiddenSize, rng: &rng)),
                    store.add("\(name).bias_hh_l\(l)", Initializers.lstm([h4], hiddenSize: hiddenSize, rng: &rng)))
        }
    }

    /// Runs every layer; `h0`/`c0` hold one (B, H) state per layer (nil: zeros).
    public func callAsFunction(_ x: Var, h0: [Var]? = nil, c0: [Var]? = nil, _ p: BoundParameters)
        -> (output: Var, h: [Var], c: [Var]) {
        precondition(h0 == nil || h0!.count == layers.count, "LSTM: \(h0!.count) initial hidden states for \(layers.count) layers")
        precondition(c0 == nil || c0!.count == layers.count, "LSTM: \(c0!.count) initial cell states for \(layers.count) layers")
        let g = x.graph
        var input = x
        var hs: [Var] = [], cs: [Var] = []
        for (l, w) in layers.enumerated() {
            if l > 0 { input = g.dropout(input, p: dropout) }
            let r = g.lstm(input, h0: h0?[l], c0: c0?[l], weightIH: p[w.weightIH], weightHH: p[w.weightHH],
                           biasIH: p[w.biasIH], biasHH: p[w.biasHH])
            input = r.output
            hs.append(r.hT)
            cs.append(r.cT)
        }
        return (input, hs, cs)
    }
}
