import Foundation

// Element-wise unary functions and activations:  x (any shape) → y (same shape).
//
//   exp       y = eˣ                                   dx = dy · y
//   log       y = ln x                                 dx = dy / x
//   sqrt      y = √x                                   dx = dy / (2y)
//   square    y = x²                                   dx = dy · 2x
//   tanh      y = tanh x                               dx = dy · (1 − y²)
//   sigmoid   y = σ(x) = 1 / (1 + e⁻ˣ)                 dx = dy · y (1 − y)
//   relu      y = max(x, 0)                            dx = dy · [x > 0]
//   gelu      y = x Φ(x), Φ(x) = ½ (1 + erf(x / √2))   dx = dy · (Φ(x) + x φ(x))
//             (Hendrycks & Gimpel 2016, eq. 1; PyTorch approximate='none')
//   gelu tanh y = ½ x (1 + tanh(√(2/π) (x + 0.044715 x³)))   (PyTorch approximate='tanh')
//             dx = dy · (½ (1 + t) + ½ x (1 − t²) √(2/π) (1 + 3 · 0.044715 x²))
//   elu       y = x if x > 0 else α (eˣ − 1)            dx = dy · (1 if x > 0 else y + α)   (α = 1)
//   softplus  y = (1/β) ln(1 + e^{βx}), or x where βx > threshold      dx = dy · σ(βx), or dy
//             (PyTorch defaults β = 1, threshold = 20)
//   silu      y = x σ(x)                               dx = dy · σ(x) (1 + x (1 − σ(x)))
//
// All scalar transcendental math goes through `ActivationMath`, so a vectorized fast-math
// implementation can replace it in one place; ELU's forward already uses `FastMath.elu` (vectorized
// eˣ − 1, ≲ 2e-7 relative from libm's `expm1f`).

/// Scalar math used by the element-wise ops (Foundation/libm today).
///
/// Kept in one namespace of small inlinable functions so a vectorized fast-math version can be
/// swapped in without touching the ops. `sigmoid` and `softplus` are stable for large |x|.
public enum ActivationMath {
    /// eˣ.
    @inlinable @inline(__always) public static func exp(_ x: Float) -> Float { Foundation.exp(x) }
    /// eˣ − 1, accurate near 0.
    @inlinable @inline(__always) public static func expm1(_ x: Float) -> Float { Foundation.expm1(x) }
    /// Natural logarithm.
    @inlinable @inline(__always) public static func log(_ x: Float) -> Float { Foundation.log(x) }
    /// ln(1 + x), accurate near 0.
    @inlinable @inline(__always) public static func log1p(_ x: Float) -> Float { Foundation.log1p(x) }
    /// Square root.
    @inlinable @inline(__always) public static func sqrt(_ x: Float) -> Float { x.squareRoot() }
    /// Hyperbolic tangent.
    @inlinable @inline(__always) public static func tanh(_ x: Float) -> Float { Foundation.tanh(x) }
    /// Error function.
    @inlinable @inline(__always) public static func erf(_ x: Float) -> Float { Foundation.erf(x) }

    /// σ(x) = 1 / (1 + e⁻ˣ), evaluated so that e^{|x|} never overflows: 0 ≤ σ ≤ 1, never NaN for finite x.
    @inlinable @inline(__always) public static func sigmoid(_ x: Float) -> Float {
        if x >= 0 { return 1 / (1 + exp(-x)) }
        let e = exp(x)
        return e / (1 + e)
    }

    /// (1/β) ln(1 + e^{βx}), linear (= x) where βx > threshold, as PyTorch's `softplus`.
    @inlinable @inline(__always)
    public static func softplus(_ x: Float, beta: Float = 1, threshold: Float = 20) -> Float {
        let z = beta * x
        return z > threshold ? x : log1p(exp(z)) / beta
    }

    /// 1/√2.
    @inlinable public static var invSqrt2: Float { 0.70710678118654752 }
    /// √(2/π).
    @inlinable public static var sqrt2OverPi: Float { 0.79788456080286536 }
    /// 1/√(2π).
    @inlinable public static var invSqrt2Pi: Float { 0.39894228040143268 }
    /// The cubic coefficient of the tanh GELU approximation.
    @inlinable public static var geluCubic: Float { 0.044715 }

    /// x Φ(x) with the exact (erf) Φ.
    @inlinable @inline(__always) public static func gelu(_ x: Float) -> Float {
        0.5 * x * (1 + erf(x * invSqrt2))
    }

    /// d/dx x Φ(x) = Φ(x) + x φ(x).
    @inlinable @inline(__always) public static func geluDerivative(_ x: Float) -> Float {
        let cdf = 0.5 * (1 + erf(x * invSqrt2))
        let pdf = invSqrt2Pi * exp(-0.5 * x * x)
        return cdf + x * pdf
    }

    /// ½ x (1 + tanh(√(2/π)(x + 0.044715 x³))).
    @inlinable @inline(__always) public static func geluTanh(_ x: Float) -> Float {
        0.5 * x * (1 + tanh(sqrt2OverPi * (x + geluCubic * x * x * x)))
    }

    /// Derivative of `geluTanh`.
    @inlinable @inline(__always) public static func geluTanhDerivative(_ x: Float) -> Float {
        let t = tanh(sqrt2OverPi * (x + geluCubic * x * x * x))
        return 0.5 * (1 + t) + 0.5 * x * (1 - t * t) * sqrt2OverPi * (1 + 3 * geluCubic * x * x)
    }
}

/// Which GELU formula to use (PyTorch's `approximate='none'` is `.exact`).
public enum GELUApproximation: Sendable {
    /// x Φ(x) with the erf-based normal CDF (PyTorch default).
    case exact
    /// The tanh approximation of Hendrycks & Gimpel (PyTorch `approximate='tanh'`).
    case tanh
}

/// The unary functions, with any parameters they carry.
enum UnaryKind {
    case exp, log, sqrt, square, tanh, sigmoid, relu, gelu, geluTanh, elu(alpha: Float)
    case softplus(beta: Float, threshold: Float), silu
}

extension Graph {
    /// eˣ element-wise.
    public func exp(_ x: Var) -> Var { unary(x, .exp) }
    /// Natural logarithm element-wise (x > 0).
    public func log(_ x: Var) -> Var { unary(x, .log) }
    /// Square root element-wise (x ≥ 0; the gradient at 0 is infinite).
    public func sqrt(_ x: Var) -> Var { unary(x, .sqrt) }
    /// x² element-wise.
    public func square(_ x: Var) -> Var { unary(x, .square) }
    /// Hyperbolic tangent element-wise.
    public func tanh(_ x: Var) -> Var { unary(x, .tanh) }
    /// Logistic sigmoid element-wise, stable for large |x|.
    public func sigmoid(_ x: Var) -> Var { unary(x, .sigmoid) }
    /// max(x, 0) element-wise (NaN propagates; the gradient at 0 is 0).
    public func relu(_ x: Var) -> Var { unary(x, .relu) }
    /// GELU, exact erf form by default (PyTorch `nn.GELU()`), or its tanh approximation.
    public func gelu(_ x: Var, approximate: GELUApproximation = .exact) -> Var {
        unary(x, approximate == .exact ? .gelu : .geluTanh)
    }
    /// ELU: x for x > 0, α (eˣ − 1) otherwise.
    public func elu(_ x: Var, alpha: Float = 1) -> Var { unary(x, .elu(alpha: alpha)) }
    /// Softplus with PyTorch semantics: (1/β) ln(1 + e^{βx}), and x itself where βx > threshold.
    public func softplus(_ x: Var, beta: Float = 1, threshold: Float = 20) -> Var {
        precondition(beta > 0, "softplus: beta must be positive, got \(beta)")
        return unary(x, .softplus(beta: beta, threshold: threshold))
    }
    /// SiLU (swish): x σ(x).
    public func silu(_ x: Var) -> Var { unary(x, .silu) }

    func unary(_ x: Var, _ kind: UnaryKind) -> Var {
        precondition(x.graph === self, "\(kind): operand of shape \(x.shape) comes from another Graph")
        let xv = x.value, n = xv.count
        let out = Tensor(uninitialized: xv.shape)
        let p = xv.pointer, y = out.sharedMutablePointer
        typealias M = ActivationMath
        switch kind {
        case .exp: for i in 0..<n { y[i] = M.exp(p[i]) }
        case .log: for i in 0..<n { y[i] = M.log(p[i]) }
        case .sqrt: for i in 0..<n { y[i] = M.sqrt(p[i]) }
        case .square: for i in 0..<n { y[i] = p[i] * p[i] }
        case .tanh: for i in 0..<n { y[i] = M.tanh(p[i]) }
        case .sigmoid: for i in 0..<n { y[i] = M.sigmoid(p[i]) }
        case .relu: for i in 0..<n { y[i] = p[i] < 0 ? 0 : p[i] }
        case .gelu: for i in 0..<n { y[i] = M.gelu(p[i]) }
        case .geluTanh: for i in 0..<n { y[i] = M.geluTanh(p[i]) }
        case .elu(let alpha): FastMath.elu(p, y, count: n, alpha: alpha)   // vectorized eˣ − 1 (FastMathExpm1.swift)
        case .softplus(let beta, let threshold):
            for i in 0..<n { y[i] = M.softplus(p[i], beta: beta, threshold: threshold) }
        case .silu: for i in 0..<n { y[i] = p[i] * M.sigmoid(p[i]) }
        }
        return record(out, inputs: [x], rule: UnaryBackward(x: x, y: out, kind: kind))
    }
}

struct UnaryBackward: BackwardRule {
    let x: Var
    /// The forward output (sigmoid, tanh, exp, sqrt and elu differentiate through it).
    let y: Tensor
    let kind: UnaryKind

    func backward(_ dOutputs: [Tensor?], _ g: Graph) {
        guard let dY = dOutputs[0], g.needsGrad(x) else { return }
        let gx = g.gradBuffer(x), d = dY.pointer, p = x.value.pointer, q = y.pointer, n = dY.count
        typealias M = ActivationMath
        switch kind {
        case .exp: for i in 0..<n { gx[i] += d[i] * q[i] }
        case .log: for i in 0..<n { gx[i] += d[i] / p[i] }
        case .sqrt: for i in 0..<n { gx[i] += d[i] * 0.5 / q[i] }
        case .square: for i in 0..<n { gx[i] += d[i] * 2 * p[i] }
        case .tanh: for i in 0..<n { gx[i] += d[i] * (1 - q[i] * q[i]) }
        case .sigmoid: for i in 0..<n { gx[i] += d[i] * q[i] * (1 - q[i]) }
        case .relu: for i in 0..<n { gx[i] += p[i] > 0 ? d[i] : 0 }
        case .gelu: for i in 0..<n { gx[i] += d[i] * M.geluDerivative(p[i]) }
        case .geluTanh: for i in 0..<n { gx[i] += d[i] * M.geluTanhDerivative(p[i]) }
        case .elu(let alpha): for i in 0..<n { gx[i] += p[i] > 0 ? d[i] : d[i] * (q[i] + alpha) }
        case .softplus(let beta, let threshold):
            for i in 0..<n {
                let z = beta * p[i]
                gx[i] += z > threshold ? d[i] : d[i] * M.sigmoid(z)
            }
        case .silu:
            for i in 0..<n {
                let s = M.sigmoid(p[i])
                gx[i] += d[i] * s * (1 + p[i] * (1 - s))
            }
        }
    }
}
