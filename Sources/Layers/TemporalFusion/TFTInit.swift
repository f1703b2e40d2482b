// Initializations pytorch-forecasting's TFT sub-modules apply in their `init_weights`, and the fixed
// linear-interpolation matrix of `F.interpolate(mode="linear", align_corners=True)`.
//
//   GatedLinearUnit.fc, attention q/k/v/w_h, GRN context:  weight xavier_uniform, bias 0
//   GRN fc1, fc2:  weight kaiming_normal(a = 0, fan_in, leaky_relu) = N(0, 2 / fanIn), bias 0
//   prescalers, output layer, LSTMs, embeddings:  PyTorch module defaults
//
//   interpolation n → m points, align_corners:  src_j = j · (n − 1)/(m − 1)  (0 when m = 1),
//   i0 = ⌊src_j⌋, i1 = min(i0 + 1, n − 1), λ = src_j − i0,  y_j = (1 − λ) x_i0 + λ x_i1

import CGMTensor
import Layers

/// How a TFT `Linear` is initialized (pytorch-forecasting's `init_weights` rules).
enum TFTInit {
    /// nn.Linear's own `reset_parameters`.
    case pytorchDefault
    /// Weight xavier_uniform, bias 0.
    case xavierUniform
    /// Weight kaiming_normal (a = 0, fan_in, leaky_relu gain √2), bias 0.
    case kaimingNormal

    /// A `Linear` registered under `name` and initialized by `kind`.
    static func linear(_ store: ParameterStore, _ name: String, inFeatures: Int, outFeatures: Int,
                       bias: Bool = true, _ kind: TFTInit, rng: inout PhiloxGenerator) -> Linear {
        let layer = Linear(store, name, inFeatures: inFeatures, outFeatures: outFeatures, bias: bias, rng: &rng)
        let shape = [outFeatures, inFeatures]
        switch kind {
        case .pytorchDefault:
            return layer
        case .xavierUniform:
            store.setValue(layer.weight, Initializers.xavierUniform(shape, rng: &rng))
        case .kaimingNormal:
            store.setValue(layer.weight, Initializers.normal(shape, std: (2 / Float(inFeatures)).squareRoot(), rng: &rng))
        }
        if let b = layer.bias { store.setValue(b, Tensor(zeros: [outFeatures])) }
        return layer
    }

    /// The (m, n) matrix M with M·x = `F.interpolate(x, m, mode="linear", align_corners=True)` for x of n points.
    static func interpolationMatrix(from n: Int, to m: Int) -> Tensor {
        precondition(n > 0 && m > 0, "interpolationMatrix: sizes must be positive (from \(n) to \(m))")
        let t = Tensor(zeros: [m, n])
        let w = t.sharedMutablePointer
        let scale: Float = m > 1 ? Float(n - 1) / Float(m - 1) : 0
        for j in 0..<m {
            let src = scale * Float(j)
            let i0 = min(Int(src), n - 1)
            let i1 = i0 < n - 1 ? i0 + 1 : i0
            let lambda = min(max(src - Float(i0), 0), 1)
            w[j * n + i0] += 1 - lambda
            w[j * n + i1] += lambda
        }
        return t
    }
}
