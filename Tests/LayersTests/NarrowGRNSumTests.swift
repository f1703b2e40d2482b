import CGMTensor
import Layers
import XCTest
import _TestSupport

/// The fused variable selection sum (`Graph.narrowGRNs` + `Graph.weightedSum(_:weights:)`, taken by a VSN
/// whose variables are all reals) against the composition it replaces, and against finite differences.
final class NarrowGRNSumTests: XCTestCase {
    /// The VSN as composed before the fused op (TFT eqs. 7–10), from the VSN's own modules: prescalers,
    /// per-variable GRNs (`narrow`: each through `narrowGRN`, else the fully unfused GRN), flattened GRN,
    /// softmax, `weightedSum` over the materialized ẽᵢ.
    private func composition(_ vsn: VariableSelectionNetwork, _ xs: [Var], context: Var?, narrow: Bool,
                             _ p: BoundParameters) -> Var {
        let g = xs[0].graph
        let embedded = zip(vsn.prescalers, xs).map { $0!($1, p) }
        let transformed = zip(vsn.singleVariable, embedded).map { transform, e -> Var in
            guard case .grn(let grn) = transform else { preconditionFailure("a real variable has a GRN") }
            if narrow { return grn(e, p) }
            let h = grn.fc2(g.elu(grn.fc1(e, p)), p)
            return grn.gateNorm(h, skip: grn.resampleNorm!(e, p), p)
        }
        let weights = g.softmax(vsn.flattenedGRN!(g.concat(embedded, axis: -1), context: context, p), axis: -1)
        return g.weightedSum(transformed, weights: weights)
    }

    /// Random parameter values (every bias, mask and norm non-trivial), so every path carries signal.
    private func randomize(_ store: ParameterStore, prefix: String, seed: UInt64) {
        for (i, entry) in store.entries.enumerated() where entry.name.hasPrefix(prefix) {
            store.setValue(store.id(named: entry.name)!, randomNormalTensor(entry.shape, seed: seed &+ UInt64(i), scale: 0.5))
        }
    }

    /// Runs `f` on a graph with a fixed random context; returns the output, the gradients of every input
    /// and of every parameter under `prefix`, the tape length and the random call counter.
    private func run(_ store: ParameterStore, prefix: String, inputs: [Tensor], training: Bool,
                     _ f: ([Var], BoundParameters) -> Var)
        -> (out: Tensor, dxs: [Tensor], grads: [String: Tensor], tape: Int, calls: UInt32) {
        let g = Graph(training: training, random: RandomContext(seed: 23, step: 4, sampleIndices: [7, 3, 11]))
        let vars = inputs.map { g.variable($0) }
        let out = f(vars, store.bind(g))
        let tape = g.tapeLength, calls = g.random.callCounter
        store.zeroGradients()
        g.backward(out, seed: randomTensor(out.shape, seed: 41))
        var grads: [String: Tensor] = [:]
        for entry in store.entries where entry.name.hasPrefix(prefix) {
            grads[entry.name] = store.gradient(store.id(named: entry.name)!).copy()
        }
        return (out.value, vars.map { g.gradient(of: $0)!.copy() }, grads, tape, calls)
    }

    /// An encoder-like VSN (4 reals prescaled to 8, Hidden 128, context 16; 3 × 13 = 39 rows: more than one
    /// row tile, not a multiple of 16): the fused VSN equals both compositions (per-variable narrowGRN and
    /// fully unfused GRNs): output to 1e-5 relative; dx of every input, the context's gradient and every
    /// parameter's (per-variable GRNs, prescalers, and the flattened GRN behind α) to 1e-4 relative. With
    /// dropout 0 and 0.3 in training (equal values prove equal mask bits; the masks really drop: the
    /// output differs from eval mode) and in eval mode. The fused op must be taken (a shorter tape) and
    /// use as many random call sites as the composition.
    func testFusedVSNMatchesComposition() {
        let names = ["a", "b", "c", "d"]
        for (dropout, training) in [(Float(0), true), (0.3, true), (0.3, false)] {
            let store = ParameterStore()
            var rng = PhiloxGenerator(seed: 12, stream: 1)
            let vsn = VariableSelectionNetwork(store, "v", inputs: names.map { .real($0, size: 8) }, hiddenSize: 128,
                                               dropout: dropout, contextSize: 16, rng: &rng)
            randomize(store, prefix: "v.", seed: 100)
            let inputs = (0..<4).map { randomNormalTensor([3, 13, 1], seed: 5 + UInt64($0)) } + [randomNormalTensor([3, 16], seed: 9)]
            let what = "dropout \(dropout), training \(training)"
            let fused = run(store, prefix: "v.", inputs: inputs, training: training) { x, p in
                vsn(Array(x[0..<4]), context: x[4], p).output
            }
            for narrow in [true, false] {
                let plain = run(store, prefix: "v.", inputs: inputs, training: training) { x, p in
                    composition(vsn, Array(x[0..<4]), context: x[4], narrow: narrow, p)
                }
                let against = "\(what), vs \(narrow ? "narrowGRN" : "unfused") composition"
                XCTAssertLessThan(fused.tape, plain.tape, "the fused op was not used (\(against))")
                XCTAssertEqual(fused.calls, plain.calls, "random call sites (\(against))")
                assertClose(fused.out, plain.out, atol: 1e-6, rtol: 1e-5, "output, \(against)")
                for (i, dx) in plain.dxs.enumerated() {
                    let scale = dx.scalars.map(abs).max()!
                    XCTAssertGreaterThan(scale, 0, "input \(i) has no gradient (\(against))")
                    assertClose(fused.dxs[i], dx, atol: 1e-5 * scale, rtol: 1e-4, "d input \(i), \(against)")
                }
                XCTAssertEqual(fused.grads.count, plain.grads.count)
                for (name, grad) in plain.grads {
                    let scale = grad.scalars.map(abs).max()!
                    XCTAssertGreaterThan(scale, 0, "\(name) has no gradient (\(against))")
                    assertClose(fused.grads[name]!, grad, atol: 1e-5 * scale, rtol: 1e-4, "\(name), \(against)")
                }
            }
            if dropout > 0 && training {
                let eval = run(store, prefix: "v.", inputs: inputs, training: false) { x, p in
                    vsn(Array(x[0..<4]), context: x[4], p).output
                }
                XCTAssertGreaterThan(zip(eval.out.scalars, fused.out.scalars).map { abs($0 - $1) }.max()!, 1e-3)
            }
        }
    }

    /// Finite differences through the fused VSN with dropout 0.3: odd, unequal widths (reals prescaled to
    /// 3, 5, 2 → Hidden 21, context 4) and 3 × 12 = 36 rows (a full and a partial row tile; the partial one
    /// not a multiple of the 8-row GLU-gradient tile); both outputs (fused sum and weights α) are checked.
    func testFusedVSNGradientsWithDropout() {
        let store = ParameterStore()
        var rng = PhiloxGenerator(seed: 13, stream: 1)
        let vsn = VariableSelectionNetwork(store, "o", inputs: [.real("a", size: 3), .real("b", size: 5), .real("c", size: 2)],
                                           hiddenSize: 21, dropout: 0.3, contextSize: 4, rng: &rng)
        randomize(store, prefix: "o.", seed: 300)
        let inputs = (0..<3).map { randomTensor([3, 12, 1], seed: 1 + UInt64($0)) } + [randomTensor([3, 4], seed: 4)]
        assertModuleGradientsMatch(store, inputs: inputs, parameters: parameterNames(store).filter { $0.hasPrefix("o.") },
                                   maxElements: 40) { g, x, p in
            let tape = g.tapeLength
            let (out, weights) = vsn(Array(x[0..<3]), context: x[3], p)
            XCTAssertLessThan(g.tapeLength - tape, 40, "the fused op was not used")
            return g.concat([g.reshape(out, to: [-1]), g.reshape(weights, to: [-1])], axis: 0)
        }
    }

    /// The op itself with every input a leaf, the weights arbitrary (not a softmax), so dα is checked
    /// directly: two GRNs of different widths (3 → 4 → 5 without a skip gate, 2 → 3 → 5 with one), dropout
    /// 0.2 and 0.4, 37 rows.
    func testNarrowGRNSumOpGradients() {
        let n = 5, rows = 37
        func shapes(_ k: Int, _ hd: Int, gate: Bool) -> [[Int]] {
            [[hd, k], [hd], [hd, hd], [hd], [2 * n, hd], [2 * n]] + (gate ? [[n]] : []) + [[n], [n], [n], [n]]
        }
        let first = shapes(3, 4, gate: false), second = shapes(2, 3, gate: true)
        let all = [[rows, 3], [rows, 2], [rows, 2]] + first + second
        let inputs = all.enumerated().map { randomTensor($1, seed: 50 + UInt64($0), low: -0.9, high: 0.9) }
        let projections = [randomTensor([n, 3], seed: 70), randomTensor([n, 2], seed: 71)]
        func layer(_ v: ArraySlice<Var>, _ m: Tensor, gate: Bool, dropout: Float) -> NarrowGRNLayer {
            let w = Array(v)
            let rest = gate ? Array(w[7...]) : Array(w[6...])
            return NarrowGRNLayer(NarrowGRNParameters(
                fc1Weight: w[0], fc1Bias: w[1], fc2Weight: w[2], fc2Bias: w[3], gluWeight: w[4], gluBias: w[5],
                skipGate: gate ? w[6] : nil, skipNormWeight: rest[0], skipNormBias: rest[1], normWeight: rest[2],
                normBias: rest[3]), skipProjection: m, dropout: dropout)
        }
        assertGradientsMatch(inputs, epsilon: 3e-3) { g, v in
            let a = layer(v[3..<(3 + first.count)], projections[0], gate: false, dropout: 0.2)
            let b = layer(v[(3 + first.count)...], projections[1], gate: true, dropout: 0.4)
            return g.weightedSum(g.narrowGRNs([v[0], v[1]], [a, b]), weights: v[2])
        }
    }
}
