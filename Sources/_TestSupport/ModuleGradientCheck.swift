// Helpers of the layer and model tests: the deterministic parameter fill and inputs of the pytorch-forecasting
// golden generator (Tests/LayersTests/Fixtures/tft_golden.py), and a finite-difference check of a module's
// gradients with respect to its inputs and parameters.

import CGMTensor
import Foundation
import Layers
import XCTest

/// Fills every parameter whose name starts with `prefix` as the golden generator does (name without prefix).
public func fillLikeGolden(_ store: ParameterStore, prefix: String = "") {
    for entry in store.entries where entry.name.hasPrefix(prefix) {
        let name = String(entry.name.dropFirst(prefix.count))
        let s = 0.2 * Double(name.utf8.reduce(0) { $0 + Int($1) } % 13)
        let values = (0..<entry.count).map { Float(0.3 * sin(0.7 * Double($0) + 0.1 * Double(name.utf8.count) + s)) }
        store.setValue(store.id(named: entry.name)!, Tensor(shape: entry.shape, scalars: values))
    }
}

/// x[i] = sin(a (i + 1) + 0.5), row-major.
public func goldenInput(_ shape: [Int], _ a: Double) -> Tensor {
    Tensor(shape: shape, scalars: (0..<Shape.count(shape)).map { Float(sin(a * Double($0 + 1) + 0.5)) })
}

/// Parameter names of `store` under `prefix`, without it, in registration order.
public func parameterNames(_ store: ParameterStore, prefix: String = "") -> [String] {
    store.entries.filter { $0.name.hasPrefix(prefix) }.map { String($0.name.dropFirst(prefix.count)) }
}

/// Central-difference check of a module's gradients with respect to its inputs and its parameters.
///
/// The checked scalar is Σ f ⊙ R for a fixed random R. Analytic gradients come from one backward pass
/// (parameters accumulate into `store`'s gradient buffer); numeric ones perturb one element at a time.
/// `parameters` restricts the parameter names checked and `maxElements` the elements per parameter
/// (evenly spaced), keeping whole-model checks fast. Graphs train (dropout on) with a fixed random context,
/// so both passes draw the same masks. ε defaults to 3e-3, below the engine's 1e-2: stacked LayerNorms
/// over a few features (ResampleNorm of 2–3 prescaled values, selection logits of 3 variables) curve
/// enough that central differences at 1e-2 miss by 1–2 % while they converge to the analytic value as ε
/// shrinks (checked down to 1e-3).
public func assertModuleGradientsMatch(
    _ store: ParameterStore, inputs: [Tensor], checkInputs: Bool = true, parameters: [String]? = nil,
    maxElements: Int = .max, epsilon: Float = 3e-3, atol: Double = 2e-3, rtol: Double = 1e-2,
    file: StaticString = #filePath, line: UInt = #line,
    _ f: (Graph, [Var], BoundParameters) -> Var
) {
    let context = RandomContext(seed: 17, step: 3)
    let graph = Graph(training: true, recording: true, random: context)
    let vars = inputs.map { graph.variable($0) }
    let out = f(graph, vars, store.bind(graph))
    let r = randomTensor(out.shape, seed: 99)
    store.zeroGradients()
    graph.backward(out, seed: r)
    let names = parameters ?? store.entries.map(\.name)
    var analyticParams: [String: Tensor] = [:]
    for name in names {
        guard let id = store.id(named: name) else { return XCTFail("no parameter '\(name)'", file: file, line: line) }
        analyticParams[name] = store.gradient(id).copy()
    }
    let analyticInputs = vars.map { graph.gradient(of: $0)?.copy() }

    func objective(_ xs: [Tensor]) -> Double {
        let g = Graph(training: true, recording: false, random: context)
        let y = f(g, xs.map { g.constant($0) }, store.bind(g)).value
        var s = 0.0
        for i in 0..<y.count { s += Double(y.pointer[i]) * Double(r.pointer[i]) }
        return s
    }
    func check(_ what: String, _ analytic: Float, _ perturb: (Float) -> Double) -> Bool {
        let numeric = (perturb(epsilon) - perturb(-epsilon)) / (2 * Double(epsilon))
        let a = Double(analytic)
        guard abs(a - numeric) <= atol + rtol * max(abs(a), abs(numeric)) else {
            XCTFail("gradient of \(what): analytic \(a) vs numeric \(numeric)", file: file, line: line)
            return false
        }
        return true
    }
    func sampled(_ n: Int) -> [Int] {
        n <= maxElements ? Array(0..<n) : (0..<maxElements).map { $0 * n / maxElements }
    }
    if checkInputs {
        for (k, x) in inputs.enumerated() {
            let analytic = analyticInputs[k] ?? Tensor(zeros: x.shape)
            for i in sampled(x.count) {
                let ok = check("input \(k) element \(i)", analytic.pointer[i]) { e in
                    var xs = inputs
                    xs[k] = x.copy()
                    xs[k][flat: i] = x.pointer[i] + e
                    return objective(xs)
                }
                if !ok { return }
            }
        }
    }
    for name in names {
        let id = store.id(named: name)!, original = store.value(id).copy()
        for i in sampled(original.count) {
            let ok = check("parameter \(name) element \(i)", analyticParams[name]!.pointer[i]) { e in
                var t = original.copy()
                t[flat: i] = original.pointer[i] + e
                store.setValue(id, t)
                defer { store.setValue(id, original) }
                return objective(inputs)
            }
            if !ok { return }
        }
    }
}
