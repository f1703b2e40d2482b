// Parameter initializers matching PyTorch's defaults (`reset_parameters` of each nn module), drawn
// from a `PhiloxGenerator` in row-major order so the same seed gives the same bits everywhere.
//
//   Linear   weight (Out, In):        kaiming_uniform(a=√5)  ≡ U(−1/√In, 1/√In);   bias (Out): U(−1/√In, 1/√In)
//   LSTM     every weight and bias:   U(−1/√H, 1/√H)          (H = hidden size)
//   Conv1d   weight (Cout, Cin/g, K): U(−√k, √k), bias (Cout): U(−√k, √k),   k = g / (Cin·K)
//   Embedding (N, D):                 N(0, 1)
//   LayerNorm weight 1, bias 0
//
// kaiming_uniform (He et al. 2015): bound = gain·√(3 / fanIn), gain = √(2 / (1 + a²)).
// xavier_uniform (Glorot & Bengio 2010): bound = gain·√(6 / (fanIn + fanOut)).
// fanIn = shape[1]·receptive, fanOut = shape[0]·receptive, receptive = ∏ shape[2...] (PyTorch's rule).

import CGMTensor

/// PyTorch-default parameter initializers driven by a seeded `PhiloxGenerator`.
public enum Initializers {
    // MARK: Generic distributions

    /// Every element drawn from U(low, high) in row-major order.
    public static func uniform(_ shape: [Int], low: Float, high: Float, rng: inout PhiloxGenerator) -> Tensor {
        precondition(low <= high, "uniform: low \(low) > high \(high)")
        let t = Tensor(uninitialized: shape)
        let p = t.sharedMutablePointer
        for i in 0..<t.count { p[i] = rng.nextUniform(low, high) }
        return t
    }

    /// Every element drawn from U(−bound, bound).
    public static func uniform(_ shape: [Int], bound: Float, rng: inout PhiloxGenerator) -> Tensor {
        uniform(shape, low: -bound, high: bound, rng: &rng)
    }

    /// Every element drawn from N(mean, std²) in row-major order.
    public static func normal(_ shape: [Int], mean: Float = 0, std: Float = 1, rng: inout PhiloxGenerator) -> Tensor {
        let t = Tensor(uninitialized: shape)
        let p = t.sharedMutablePointer
        for i in 0..<t.count { p[i] = mean + std * rng.nextNormal() }
        return t
    }

    /// All zeros.
    public static func zeros(_ shape: [Int]) -> Tensor { Tensor(zeros: shape) }

    /// All ones.
    public static func ones(_ shape: [Int]) -> Tensor { Tensor(repeating: 1, shape: shape) }

    /// (fanIn, fanOut) of a weight shape by PyTorch's `_calculate_fan_in_and_fan_out`.
    public static func fans(_ shape: [Int]) -> (fanIn: Int, fanOut: Int) {
        precondition(shape.count >= 2, "fans: a weight needs at least 2 dimensions, got shape \(shape)")
        let receptive = Shape.count(Array(shape.dropFirst(2)))
        return (shape[1] * receptive, shape[0] * receptive)
    }

    /// He uniform for leaky-ReLU slope `a`: U(−b, b), b = √(2/(1+a²))·√(3/fanIn). The default
    /// a = √5 is what every PyTorch Linear and Conv uses, giving b = 1/√fanIn.
    public static func kaimingUniform(_ shape: [Int], a: Float = Float(5).squareRoot(),
                                      rng: inout PhiloxGenerator) -> Tensor {
        let fanIn = fans(shape).fanIn
        precondition(fanIn > 0, "kaimingUniform: zero fan-in for shape \(shape)")
        let gain = (2 / (1 + Double(a) * Double(a))).squareRoot()
        let bound = gain * (3 / Double(fanIn)).squareRoot()
        return uniform(shape, bound: Float(bound), rng: &rng)
    }

    /// Glorot uniform: U(−b, b), b = gain·√(6/(fanIn+fanOut)).
    public static func xavierUniform(_ shape: [Int], gain: Float = 1, rng: inout PhiloxGenerator) -> Tensor {
        let (fanIn, fanOut) = fans(shape)
        precondition(fanIn + fanOut > 0, "xavierUniform: zero fans for shape \(shape)")
        let bound = Double(gain) * (6 / Double(fanIn + fanOut)).squareRoot()
        return uniform(shape, bound: Float(bound), rng: &rng)
    }

    // MARK: Module defaults

    /// nn.Linear weight (Out, In): kaiming_uniform(a=√5) ≡ U(−1/√In, 1/√In).
    public static func linearWeight(outFeatures: Int, inFeatures: Int, rng: inout PhiloxGenerator) -> Tensor {
        kaimingUniform([outFeatures, inFeatures], rng: &rng)
    }

    /// nn.Linear bias (Out): U(−1/√In, 1/√In) (zeros when In is 0, as PyTorch).
    public static func linearBias(outFeatures: Int, inFeatures: Int, rng: inout PhiloxGenerator) -> Tensor {
        let bound: Float = inFeatures > 0 ? 1 / Float(inFeatures).squareRoot() : 0
        return uniform([outFeatures], bound: bound, rng: &rng)
    }

    /// Any nn.LSTM weight or bias: U(−1/√H, 1/√H) with H the hidden size.
    public static func lstm(_ shape: [Int], hiddenSize: Int, rng: inout PhiloxGenerator) -> Tensor {
        precondition(hiddenSize > 0, "lstm: hidden size \(hiddenSize) must be positive")
        return uniform(shape, bound: 1 / Float(hiddenSize).squareRoot(), rng: &rng)
    }

    /// The nn.Conv1d bound √k, k = groups / (Cin·K).
    public static func conv1dBound(inChannels: Int, kernelSize: Int, groups: Int = 1) -> Float {
        precondition(inChannels > 0 && kernelSize > 0 && groups > 0 && inChannels % groups == 0,
                     "conv1d: inChannels \(inChannels) must be a positive multiple of groups \(groups), kernel \(kernelSize) > 0")
        return (Float(groups) / Float(inChannels * kernelSize)).squareRoot()
    }

    /// nn.Conv1d weight (Cout, Cin/groups, K): U(−√k, √k), k = groups/(Cin·K).
    public static func conv1dWeight(outChannels: Int, inChannels: Int, kernelSize: Int, groups: Int = 1,
                                    rng: inout PhiloxGenerator) -> Tensor {
        let bound = conv1dBound(inChannels: inChannels, kernelSize: kernelSize, groups: groups)
        return uniform([outChannels, inChannels / groups, kernelSize], bound: bound, rng: &rng)
    }

    /// nn.Conv1d bias (Cout): U(−√k, √k), k = groups/(Cin·K).
    public static func conv1dBias(outChannels: Int, inChannels: Int, kernelSize: Int, groups: Int = 1,
                                  rng: inout PhiloxGenerator) -> Tensor {
        let bound = conv1dBound(inChannels: inChannels, kernelSize: kernelSize, groups: groups)
        return uniform([outChannels], bound: bound, rng: &rng)
    }

    /// nn.Embedding weight (N, D): N(0, 1).
    public static func embedding(count: Int, dimension: Int, rng: inout PhiloxGenerator) -> Tensor {
        normal([count, dimension], rng: &rng)
    }

    /// nn.LayerNorm weight: ones.
    public static func layerNormWeight(_ dimension: Int) -> Tensor { ones([dimension]) }

    /// nn.LayerNorm bias: zeros.
    public static func layerNormBias(_ dimension: Int) -> Tensor { zeros([dimension]) }
}
