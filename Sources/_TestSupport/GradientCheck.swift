import CGMTensor
import XCTest

/// Seeded random tensors for tests.
public func randomTensor(_ shape: [Int], seed: UInt64, low: Float = -1, high: Float = 1) -> Tensor {
    var rng = PhiloxGenerator(seed: seed, stream: 7)
    return Tensor(shape: shape, scalars: (0..<Shape.count(shape)).map { _ in rng.nextUniform(low, high) })
}

public func randomNormalTensor(_ shape: [Int], seed: UInt64, scale: Float = 1) -> Tensor {
    var rng = PhiloxGenerator(seed: seed, stream: 11)
    return Tensor(shape: shape, scalars: (0..<Shape.count(shape)).map { _ in scale * rng.nextNormal() })
}

/// The outcome of a finite-difference check: the worst element found.
public struct GradientCheckReport: CustomStringConvertible {
    public var worstInput = -1, worstIndex = -1
    public var analytic: Double = 0, numeric: Double = 0, excess: Double = -.infinity
    public var passed: Bool { excess <= 0 }
    public var description: String {
        "input \(worstInput) element \(worstIndex): analytic \(analytic) vs numeric \(numeric)"
    }
}

/// Finite-difference gradient check of `f` at `inputs`.
///
/// The scalar checked is Σ f(x) ⊙ R for a fixed random R, so every output element (and so every
/// path through the op) contributes. Analytic gradients come from one `backward` seeded with R;
/// numeric ones from central differences of Σ f(x ± ε eᵢ) ⊙ R summed in Double, for every element
/// of every input. An element fails when |a − n| > atol + rtol · max(|a|, |n|).
public func computeGradientCheck(
    _ inputs: [Tensor], epsilon: Float = 1e-2, atol: Double = 2e-3, rtol: Double = 1e-2,
    checkInputs: Set<Int>? = nil, seed: UInt64 = 99,
    _ f: (Graph, [Var]) -> Var
) -> GradientCheckReport {
    let graph = Graph(training: true, recording: true, random: RandomContext(seed: 5))
    let vars = inputs.map { graph.variable($0) }
    let out = f(graph, vars)
    let r = randomTensor(out.shape, seed: seed)
    graph.backward(out, seed: r)

    func objective(_ xs: [Tensor]) -> Double {
        let g = Graph(training: true, recording: false, random: RandomContext(seed: 5))
        let y = f(g, xs.map { g.constant($0) }).value
        var s = 0.0
        for i in 0..<y.count { s += Double(y.pointer[i]) * Double(r.pointer[i]) }
        return s
    }

    var report = GradientCheckReport()
    for (which, x) in inputs.enumerated() where checkInputs?.contains(which) ?? true {
        let analytic = graph.gradient(of: vars[which]) ?? Tensor(zeros: x.shape)
        for i in 0..<x.count {
            var xs = inputs
            let x0 = x.pointer[i]
            xs[which] = x.copy(); xs[which][flat: i] = x0 + epsilon
            let plus = objective(xs)
            xs[which][flat: i] = x0 - epsilon
            let minus = objective(xs)
            let numeric = (plus - minus) / (2 * Double(epsilon))
            let a = Double(analytic.pointer[i])
            let excess = abs(a - numeric) - (atol + rtol * max(abs(a), abs(numeric)))
            if excess > report.excess {
                report = GradientCheckReport(worstInput: which, worstIndex: i, analytic: a,
                                             numeric: numeric, excess: excess)
            }
        }
    }
    return report
}

/// Asserts that `f`'s backward matches central differences (see `computeGradientCheck`).
public func assertGradientsMatch(
    _ inputs: [Tensor], epsilon: Float = 1e-2, atol: Double = 2e-3, rtol: Double = 1e-2,
    checkInputs: Set<Int>? = nil, _ message: @autoclosure () -> String = "",
    file: StaticString = #filePath, line: UInt = #line,
    _ f: (Graph, [Var]) -> Var
) {
    let report = computeGradientCheck(inputs, epsilon: epsilon, atol: atol, rtol: rtol,
                                      checkInputs: checkInputs, f)
    if !report.passed {
        XCTFail("gradient check failed \(message()): \(report)", file: file, line: line)
    }
}

/// Element-wise closeness with absolute and relative tolerance; reports the worst element.
public func assertClose(
    _ a: Tensor, _ b: Tensor, atol: Float = 1e-5, rtol: Float = 1e-4,
    _ message: @autoclosure () -> String = "", file: StaticString = #filePath, line: UInt = #line
) {
    guard a.shape == b.shape else {
        XCTFail("shapes differ: \(a.shape) vs \(b.shape) \(message())", file: file, line: line)
        return
    }
    for i in 0..<a.count {
        let x = a.pointer[i], y = b.pointer[i]
        if !(abs(x - y) <= atol + rtol * max(abs(x), abs(y))) {
            XCTFail("element \(i): \(x) vs \(y) \(message())", file: file, line: line)
            return
        }
    }
}

extension Tensor {
    /// Flat element access for tests.
    public subscript(flat i: Int) -> Float {
        get { pointer[i] }
        set { withUnsafeMutableBufferPointer { $0[i] = newValue } }
    }
}
