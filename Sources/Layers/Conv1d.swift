import CGMTensor

/// A 1-D convolution over channels-last sequences (PyTorch `nn.Conv1d` parameters and initialization),
/// causal by default: x (B, T, Cin) → (B, T, Cout), weight (Cout, Cin/groups, K).
public struct Conv1d {
    public let weight: ParameterID, bias: ParameterID?
    public let dilation: Int, groups: Int, causal: Bool

    /// Registers `name.weight` and `name.bias`, both U(−√k, √k) with k = groups / (Cin · K).
    public init(_ store: ParameterStore, _ name: String, inChannels: Int, outChannels: Int, kernelSize: Int,
                dilation: Int = 1, groups: Int = 1, bias: Bool = true, causal: Bool = true,
                rng: inout PhiloxGenerator) {
        precondition(inChannels % groups == 0 && outChannels % groups == 0,
                     "Conv1d '\(name)': channels \(inChannels)→\(outChannels) not divisible by groups \(groups)")
        weight = store.add("\(name).weight", Initializers.conv1dWeight(
            outChannels: outChannels, inChannels: inChannels, kernelSize: kernelSize, groups: groups, rng: &rng))
        self.bias = bias ? store.add("\(name).bias", Initializers.conv1dBias(
            outChannels: outChannels, inChannels: inChannels, kernelSize: kernelSize, groups: groups, rng: &rng)) : nil
        self.dilation = dilation
        self.groups = groups
        self.causal = causal
    }

    public func callAsFunction(_ x: Var, _ p: BoundParameters) -> Var {
        x.graph.conv1d(x, weight: p[weight], bias: bias.map { p[$0] }, dilation: dilation, groups: groups, causal: causal)
    }
}

/// An embedding table (PyTorch `nn.Embedding`, initialized N(0, 1)): indices → (indices shape…, D).
public struct Embedding {
    public let table: ParameterID
    public let count: Int, dimension: Int

    public init(_ store: ParameterStore, _ name: String, count: Int, dimension: Int, rng: inout PhiloxGenerator) {
        table = store.add("\(name).weight", Initializers.embedding(count: count, dimension: dimension, rng: &rng))
        self.count = count
        self.dimension = dimension
    }

    public func callAsFunction(_ indices: [Int], shape: [Int]? = nil, _ p: BoundParameters) -> Var {
        p.graph.gather(table: p[table], indices: indices, shape: shape)
    }
}

/// Layer normalization over the last axis (PyTorch `nn.LayerNorm`, weight 1 and bias 0).
public struct LayerNorm {
    public let weight: ParameterID, bias: ParameterID
    public let eps: Float

    public init(_ store: ParameterStore, _ name: String, dimension: Int, eps: Float = 1e-5) {
        weight = store.add("\(name).weight", Initializers.layerNormWeight(dimension), weightDecay: false)
        bias = store.add("\(name).bias", Initializers.layerNormBias(dimension), weightDecay: false)
        self.eps = eps
    }

    public func callAsFunction(_ x: Var, _ p: BoundParameters) -> Var {
        x.graph.layerNorm(x, weight: p[weight], bias: p[bias], eps: eps)
    }
}
