import CGMTensor
import Layers
import XCTest
import _TestSupport

/// The fused narrow GRN (`Graph.narrowGRN`, taken by `GatedResidualNetwork` for a VSN's per-variable GRNs)
/// against the unfused composition of the same modules, and against finite differences.
final class NarrowGRNTests: XCTestCase {
    /// The unfused GRN (TFT eqs. 2–4): LN₂(GLU(dropout(fc2(ELU(fc1 x)))) + ResampleNorm(x)), built from the
    /// GRN's own modules, i.e. what `GatedResidualNetwork.callAsFunction` computed before the fused op.
    private func unfused(_ grn: GatedResidualNetwork, _ x: Var, _ p: BoundParameters) -> Var {
        let residual = grn.resampleNorm!(x, p)
        let h = grn.fc2(x.graph.elu(grn.fc1(x, p)), p)
        return grn.gateNorm(h, skip: residual, p)
    }

    /// Random parameter values (every bias, mask and norm non-trivial), so every path carries signal.
    private func randomize(_ store: ParameterStore, prefix: String, seed: UInt64) {
        for (i, entry) in store.entries.enumerated() where entry.name.hasPrefix(prefix) {
            store.setValue(store.id(named: entry.name)!, randomNormalTensor(entry.shape, seed: seed &+ UInt64(i), scale: 0.5))
        }
    }

    /// Runs `f` on a training graph with a fixed random context and returns the output, dx, every parameter
    /// gradient under `prefix`, the tape length and the call counter after the forward pass.
    private func run(_ store: ParameterStore, prefix: String, x: Tensor, training: Bool,
                     _ f: (Var, BoundParameters) -> Var)
        -> (out: Tensor, dx: Tensor, grads: [String: Tensor], tape: Int, calls: UInt32) {
        let g = Graph(training: training, random: RandomContext(seed: 23, step: 4, sampleIndices: [7, 3, 11]))
        let xv = g.variable(x)
        let out = f(xv, store.bind(g))
        let tape = g.tapeLength, calls = g.random.callCounter
        store.zeroGradients()
        g.backward(out, seed: randomTensor(out.shape, seed: 41))
        var grads: [String: Tensor] = [:]
        for entry in store.entries where entry.name.hasPrefix(prefix) {
            grads[entry.name] = store.gradient(store.id(named: entry.name)!).copy()
        }
        return (out.value, g.gradient(of: xv)!.copy(), grads, tape, calls)
    }

    /// Fused and unfused GRNs (8 → 8 → 128 as in the TFT benchmark's VSNs, 3 × 13 rows) agree: outputs to
    /// 1e-5 relative, dx and every parameter gradient to 1e-4 relative; with dropout 0 and with dropout
    /// 0.3 in training, where equal values also prove that both draw the same mask bits. The fused path
    /// must actually be taken (a shorter tape) and use exactly one random call site, as the unfused one.
    func testFusedMatchesUnfusedComposition() {
        for (dropout, training) in [(Float(0), true), (0.3, true), (0.3, false)] {
            let store = ParameterStore()
            var rng = PhiloxGenerator(seed: 12, stream: 1)
            let grn = GatedResidualNetwork(store, "g", inputSize: 8, hiddenSize: 8, outputSize: 128, dropout: dropout, rng: &rng)
            randomize(store, prefix: "g.", seed: 100)
            let x = randomNormalTensor([3, 13, 8], seed: 5)
            let fused = run(store, prefix: "g.", x: x, training: training) { x, p in grn(x, p) }
            let plain = run(store, prefix: "g.", x: x, training: training) { x, p in unfused(grn, x, p) }
            let what = "dropout \(dropout), training \(training)"
            XCTAssertLessThan(fused.tape, plain.tape, "the fused op was not used (\(what))")
            XCTAssertEqual(fused.calls, plain.calls, "random call sites (\(what))")
            assertClose(fused.out, plain.out, atol: 1e-6, rtol: 1e-5, "output, \(what)")
            assertClose(fused.dx, plain.dx, atol: 1e-5, rtol: 1e-4, "dx, \(what)")
            XCTAssertEqual(fused.grads.count, 11)
            for (name, grad) in plain.grads {
                let scale = grad.scalars.map(abs).max()!
                XCTAssertGreaterThan(scale, 0, "\(name) has no gradient (\(what))")
                assertClose(fused.grads[name]!, grad, atol: 1e-5 * scale, rtol: 1e-4, "\(name), \(what)")
            }
            if dropout > 0 && training {   // the mask really drops: the output differs from the eval-mode one
                let eval = run(store, prefix: "g.", x: x, training: false) { x, p in grn(x, p) }
                XCTAssertGreaterThan(zip(eval.out.scalars, fused.out.scalars).map { abs($0 - $1) }.max()!, 1e-3)
            }
        }
    }

    /// Finite differences through the GRN's fused path with dropout on: the benchmark's widths (8 → 8 → 128,
    /// 15 rows, parameters sampled) and odd widths (3 → 2 → 21, 14 rows) that exercise every SIMD tail.
    func testFusedGRNGradientsWithDropout() {
        let store = ParameterStore()
        var rng = PhiloxGenerator(seed: 13, stream: 1)
        let wide = GatedResidualNetwork(store, "w", inputSize: 8, hiddenSize: 8, outputSize: 128, dropout: 0.3, rng: &rng)
        randomize(store, prefix: "w.", seed: 200)
        assertModuleGradientsMatch(store, inputs: [randomTensor([3, 5, 8], seed: 1)],
                                   parameters: parameterNames(store).filter { $0.hasPrefix("w.") }, maxElements: 48) { _, x, p in
            wide(x[0], p)
        }
        let odd = GatedResidualNetwork(store, "o", inputSize: 3, hiddenSize: 2, outputSize: 21, dropout: 0.25, rng: &rng)
        randomize(store, prefix: "o.", seed: 300)
        assertModuleGradientsMatch(store, inputs: [randomTensor([2, 7, 3], seed: 2)],
                                   parameters: parameterNames(store).filter { $0.hasPrefix("o.") }) { _, x, p in
            odd(x[0], p)
        }
    }

    /// The op itself with every input a leaf, without a skip gate, Hd ≠ In (3 → 4 → 5), dropout 0.2, 11 rows.
    func testNarrowGRNOpGradients() {
        let (k, hd, n) = (3, 4, 5)
        let shapes = [[11, k], [hd, k], [hd], [hd, hd], [hd], [2 * n, hd], [2 * n], [n], [n], [n], [n]]
        let inputs = shapes.enumerated().map { randomTensor($1, seed: 50 + UInt64($0), low: -0.9, high: 0.9) }
        let projection = randomTensor([n, k], seed: 70)
        assertGradientsMatch(inputs, epsilon: 3e-3) { g, v in
            g.narrowGRN(v[0], NarrowGRNParameters(
                fc1Weight: v[1], fc1Bias: v[2], fc2Weight: v[3], fc2Bias: v[4], gluWeight: v[5], gluBias: v[6],
                skipGate: nil, skipNormWeight: v[7], skipNormBias: v[8], normWeight: v[9], normBias: v[10]),
                skipProjection: projection, dropout: 0.2)
        }
    }
}
