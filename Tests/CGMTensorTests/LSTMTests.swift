import CGMTensor
import Foundation
import XCTest
import _TestSupport

// MARK: - Test helpers

/// L = Σ_k Σ vars[k] ⊙ weights[k]: lets one backward seed the gradients of several outputs at once.
private struct WeightedSumBackward: BackwardRule {
    let inputs: [Var], weights: [Tensor]
    func backward(_ d: [Tensor?], _ g: Graph) {
        guard let s = d[0]?.scalar else { return }
        for (v, w) in zip(inputs, weights) where g.needsGrad(v) {
            let gb = g.gradBuffer(v)
            for k in 0..<w.count { gb[k] += s * w.pointer[k] }
        }
    }
}

extension Graph {
    fileprivate func weightedSum(_ vars: [Var], _ weights: [Tensor]) -> Var {
        var s = 0.0
        for (v, w) in zip(vars, weights) {
            precondition(v.shape == w.shape, "weightedSum: \(v.shape) vs \(w.shape)")
            for k in 0..<w.count { s += Double(v.value.pointer[k]) * Double(w.pointer[k]) }
        }
        return record(Tensor(scalar: Float(s)), inputs: vars, rule: WeightedSumBackward(inputs: vars, weights: weights))
    }
}

/// A plain-loop, per-step, Double-precision LSTM (PyTorch semantics) with hand-written BPTT.
private struct NaiveLSTM {
    let B: Int, T: Int, In: Int, H: Int
    var x: [Double], wih: [Double], whh: [Double], bih: [Double], bhh: [Double], h0: [Double], c0: [Double]

    init(_ b: Int, _ t: Int, _ i: Int, _ h: Int, x: Tensor, wih: Tensor, whh: Tensor,
         bih: Tensor?, bhh: Tensor?, h0: Tensor?, c0: Tensor?) {
        (B, T, In, H) = (b, t, i, h)
        func d(_ t: Tensor?, _ n: Int) -> [Double] { t.map { $0.scalars.map(Double.init) } ?? [Double](repeating: 0, count: n) }
        self.x = d(x, 0); self.wih = d(wih, 0); self.whh = d(whh, 0)
        self.bih = d(bih, 4 * h); self.bhh = d(bhh, 4 * h); self.h0 = d(h0, b * h); self.c0 = d(c0, b * h)
    }

    static func sigmoid(_ v: Double) -> Double { 1 / (1 + Foundation.exp(-v)) }

    struct Forward { var out: [Double], hT: [Double], cT: [Double], acts: [[Double]], cs: [[Double]] }

    /// acts[b*T+t] = [i, f, g, o] (4H); cs[b*T+t] = c_t (H).
    func forward() -> Forward {
        var out = [Double](repeating: 0, count: B * T * H), hT = [Double](), cT = [Double]()
        var acts = [[Double]](), cs = [[Double]]()
        for b in 0..<B {
            var h = Array(h0[(b * H)..<((b + 1) * H)]), c = Array(c0[(b * H)..<((b + 1) * H)])
            for t in 0..<T {
                var a = [Double](repeating: 0, count: 4 * H)
                for k in 0..<(4 * H) {
                    var s = bih[k] + bhh[k]
                    for i in 0..<In { s += wih[k * In + i] * x[(b * T + t) * In + i] }
                    for j in 0..<H { s += whh[k * H + j] * h[j] }
                    a[k] = k / H == 2 ? Foundation.tanh(s) : Self.sigmoid(s)
                }
                for j in 0..<H {
                    c[j] = a[H + j] * c[j] + a[j] * a[2 * H + j]
                    h[j] = a[3 * H + j] * Foundation.tanh(c[j])
                    out[(b * T + t) * H + j] = h[j]
                }
                acts.append(a); cs.append(c)
            }
            hT += h; cT += c
        }
        return Forward(out: out, hT: hT, cT: cT, acts: acts, cs: cs)
    }

    struct Grads { var x, wih, whh, b, h0, c0: [Double] }

    /// Gradients of L = Σ out⊙dOut + Σ hT⊙dhT + Σ cT⊙dcT.
    func backward(_ f: Forward, dOut: [Double], dhT: [Double], dcT: [Double]) -> Grads {
        var gr = Grads(x: .init(repeating: 0, count: B * T * In), wih: .init(repeating: 0, count: 4 * H * In),
                       whh: .init(repeating: 0, count: 4 * H * H), b: .init(repeating: 0, count: 4 * H),
                       h0: .init(repeating: 0, count: B * H), c0: .init(repeating: 0, count: B * H))
        for b in 0..<B {
            var dhNext = Array(dhT[(b * H)..<((b + 1) * H)]), dcNext = Array(dcT[(b * H)..<((b + 1) * H)])
            for t in stride(from: T - 1, through: 0, by: -1) {
                let a = f.acts[b * T + t], c = f.cs[b * T + t]
                let cPrev = t > 0 ? f.cs[b * T + t - 1] : Array(c0[(b * H)..<((b + 1) * H)])
                let hPrev = t > 0 ? Array(f.out[((b * T + t - 1) * H)..<((b * T + t) * H)]) : Array(h0[(b * H)..<((b + 1) * H)])
                var da = [Double](repeating: 0, count: 4 * H)
                for j in 0..<H {
                    let (i, fg, g, o) = (a[j], a[H + j], a[2 * H + j], a[3 * H + j])
                    let dh = dOut[(b * T + t) * H + j] + dhNext[j]
                    let tc = Foundation.tanh(c[j])
                    let dc = dcNext[j] + dh * o * (1 - tc * tc)
                    da[j] = dc * g * i * (1 - i)
                    da[H + j] = dc * cPrev[j] * fg * (1 - fg)
                    da[2 * H + j] = dc * i * (1 - g * g)
                    da[3 * H + j] = dh * tc * o * (1 - o)
                    dcNext[j] = dc * fg
                }
                for j in 0..<H { dhNext[j] = 0 }
                for k in 0..<(4 * H) {
                    gr.b[k] += da[k]
                    for i in 0..<In {
                        gr.wih[k * In + i] += da[k] * x[(b * T + t) * In + i]
                        gr.x[(b * T + t) * In + i] += da[k] * wih[k * In + i]
                    }
                    for j in 0..<H {
                        gr.whh[k * H + j] += da[k] * hPrev[j]
                        dhNext[j] += da[k] * whh[k * H + j]
                    }
                }
            }
            for j in 0..<H { gr.h0[b * H + j] = dhNext[j]; gr.c0[b * H + j] = dcNext[j] }
        }
        return gr
    }
}

private func tensor(_ a: [Double], _ shape: [Int]) -> Tensor { Tensor(shape: shape, scalars: a.map { Float($0) }) }

// MARK: - Tests

final class LSTMTests: XCTestCase {
    /// Random LSTM inputs; weights scaled like PyTorch's U(−1/√H, 1/√H) but wider so gates are not all ~0.5.
    private func makeInputs(_ b: Int, _ t: Int, _ i: Int, _ h: Int, seed: UInt64) -> [Tensor] {
        [randomTensor([b, t, i], seed: seed, low: -1.5, high: 1.5),
         randomTensor([4 * h, i], seed: seed + 1, low: -0.8, high: 0.8),
         randomTensor([4 * h, h], seed: seed + 2, low: -0.8, high: 0.8),
         randomTensor([4 * h], seed: seed + 3, low: -0.5, high: 0.5),
         randomTensor([4 * h], seed: seed + 4, low: -0.5, high: 0.5),
         randomTensor([b, h], seed: seed + 5),
         randomTensor([b, h], seed: seed + 6)]
    }

    /// Fused op vs the per-step Double reference: forward values and all seven gradients, for hidden sizes
    /// below, at and above one SIMD width, with and without the optional inputs, and with gradients
    /// entering through every subset of the three outputs.
    func testMatchesNaivePerStepImplementation() {
        let configs: [(b: Int, t: Int, i: Int, h: Int, optionals: Bool, outs: [Bool])] = [
            (3, 5, 4, 6, true, [true, true, true]),
            (2, 4, 3, 8, true, [true, false, false]),
            (2, 3, 5, 11, true, [false, true, false]),
            (1, 6, 2, 3, true, [false, false, true]),
            (3, 4, 4, 5, false, [true, true, true]),
            (1, 1, 1, 1, true, [true, true, true]),
        ]
        for (n, cfg) in configs.enumerated() {
            let (B, T, In, H) = (cfg.b, cfg.t, cfg.i, cfg.h)
            let v = makeInputs(B, T, In, H, seed: UInt64(10 * n + 1))
            let opt = cfg.optionals
            let g = Graph()
            let x = g.variable(v[0]), wih = g.variable(v[1]), whh = g.variable(v[2])
            let bih = opt ? g.variable(v[3]) : nil, bhh = opt ? g.variable(v[4]) : nil
            let h0 = opt ? g.variable(v[5]) : nil, c0 = opt ? g.variable(v[6]) : nil
            let r = g.lstm(x, h0: h0, c0: c0, weightIH: wih, weightHH: whh, biasIH: bih, biasHH: bhh)
            XCTAssertEqual(r.output.shape, [B, T, H]); XCTAssertEqual(r.hT.shape, [B, H]); XCTAssertEqual(r.cT.shape, [B, H])

            let seeds = [randomTensor([B, T, H], seed: 91), randomTensor([B, H], seed: 92), randomTensor([B, H], seed: 93)]
            let used = zip([r.output, r.hT, r.cT], seeds).enumerated().filter { cfg.outs[$0.offset] }.map(\.element)
            g.backward(g.weightedSum(used.map(\.0), used.map(\.1)))

            let ref = NaiveLSTM(B, T, In, H, x: v[0], wih: v[1], whh: v[2], bih: opt ? v[3] : nil, bhh: opt ? v[4] : nil,
                                h0: opt ? v[5] : nil, c0: opt ? v[6] : nil)
            let f = ref.forward()
            let what = "config \(n) \(cfg)"
            assertClose(r.output.value, tensor(f.out, [B, T, H]), atol: 2e-6, rtol: 1e-5, what)
            assertClose(r.hT.value, tensor(f.hT, [B, H]), atol: 2e-6, rtol: 1e-5, what)
            assertClose(r.cT.value, tensor(f.cT, [B, H]), atol: 2e-6, rtol: 1e-5, what)

            func seed(_ k: Int, _ n: Int) -> [Double] {
                cfg.outs[k] ? seeds[k].scalars.map(Double.init) : [Double](repeating: 0, count: n)
            }
            let gr = ref.backward(f, dOut: seed(0, B * T * H), dhT: seed(1, B * H), dcT: seed(2, B * H))
            let expected: [(Var?, [Double])] = [(x, gr.x), (wih, gr.wih), (whh, gr.whh), (bih, gr.b), (bhh, gr.b),
                                                (h0, gr.h0), (c0, gr.c0)]
            for (k, (variable, want)) in expected.enumerated() {
                guard let variable else { continue }
                let got = g.gradient(of: variable) ?? Tensor(zeros: variable.shape)
                assertClose(got, tensor(want, variable.shape), atol: 5e-6, rtol: 1e-4, "\(what) gradient \(k)")
            }
        }
    }

    /// The Double reference's hand-written BPTT agrees with central differences of its own forward,
    /// so the comparison above is against a verified reference.
    func testNaiveReferenceBackwardMatchesDoubleFiniteDifferences() {
        let (B, T, In, H) = (2, 3, 2, 3)
        let v = makeInputs(B, T, In, H, seed: 500)
        let base = NaiveLSTM(B, T, In, H, x: v[0], wih: v[1], whh: v[2], bih: v[3], bhh: v[4], h0: v[5], c0: v[6])
        let r = [randomTensor([B, T, H], seed: 1), randomTensor([B, H], seed: 2), randomTensor([B, H], seed: 3)]
            .map { $0.scalars.map(Double.init) }
        func loss(_ m: NaiveLSTM) -> Double {
            let f = m.forward()
            return zip(f.out, r[0]).map(*).reduce(0, +) + zip(f.hT, r[1]).map(*).reduce(0, +)
                + zip(f.cT, r[2]).map(*).reduce(0, +)
        }
        let gr = base.backward(base.forward(), dOut: r[0], dhT: r[1], dcT: r[2])
        let fields: [(WritableKeyPath<NaiveLSTM, [Double]>, [Double])] = [
            (\.x, gr.x), (\.wih, gr.wih), (\.whh, gr.whh), (\.bih, gr.b), (\.bhh, gr.b), (\.h0, gr.h0), (\.c0, gr.c0)]
        let eps = 1e-6
        for (path, analytic) in fields {
            for k in 0..<analytic.count {
                var p = base, m = base
                p[keyPath: path][k] += eps; m[keyPath: path][k] -= eps
                let numeric = (loss(p) - loss(m)) / (2 * eps)
                XCTAssertEqual(analytic[k], numeric, accuracy: 1e-7 + 1e-6 * abs(numeric), "\(path) element \(k)")
            }
        }
    }

    /// Finite differences through all three outputs, into x, h0, c0, both weights and both biases.
    func testGradientCheckAllInputsAllOutputs() {
        let (B, T, In, H) = (2, 3, 3, 4)
        let v = makeInputs(B, T, In, H, seed: 77)
        let w = [randomTensor([B, T, H], seed: 81), randomTensor([B, H], seed: 82), randomTensor([B, H], seed: 83)]
        assertGradientsMatch(v) { g, p in
            let r = g.lstm(p[0], h0: p[5], c0: p[6], weightIH: p[1], weightHH: p[2], biasIH: p[3], biasHH: p[4])
            return g.weightedSum([r.output, r.hT, r.cT], w)
        }
    }

    /// With one weight frozen (a constant), the other weight's gradient is the one computed when both train
    /// (backward forms [dW_ih | dW_hh] in one GEMM when both are needed, each half alone otherwise), with
    /// and without h0.
    func testSingleTrainableWeightMatchesJointGradient() {
        let (B, T, In, H) = (2, 4, 3, 5)
        let v = makeInputs(B, T, In, H, seed: 41)
        let w = randomTensor([B, T, H], seed: 42)
        for withH0 in [false, true] {
            func gradients(trainIH: Bool, trainHH: Bool) -> (ih: Tensor?, hh: Tensor?, x: Tensor?) {
                let g = Graph()
                let x = g.variable(v[0])
                let wih = trainIH ? g.variable(v[1]) : g.constant(v[1]), whh = trainHH ? g.variable(v[2]) : g.constant(v[2])
                let r = g.lstm(x, h0: withH0 ? g.constant(v[5]) : nil, weightIH: wih, weightHH: whh)
                g.backward(g.weightedSum([r.output], [w]))
                return (trainIH ? g.gradient(of: wih) : nil, trainHH ? g.gradient(of: whh) : nil, g.gradient(of: x))
            }
            let both = gradients(trainIH: true, trainHH: true)
            let onlyIH = gradients(trainIH: true, trainHH: false), onlyHH = gradients(trainIH: false, trainHH: true)
            assertClose(onlyIH.ih!, both.ih!, atol: 1e-6, rtol: 1e-5, "dW_ih alone, h0 \(withH0)")
            assertClose(onlyHH.hh!, both.hh!, atol: 1e-6, rtol: 1e-5, "dW_hh alone, h0 \(withH0)")
            assertClose(onlyIH.x!, both.x!, atol: 1e-6, rtol: 1e-5)
            XCTAssertGreaterThan(both.hh!.scalars.map(abs).max()!, 1e-3)
        }
    }

    /// Size-1 axes and the nil optionals (zero initial state, no biases).
    func testGradientCheckSizeOneAxesWithoutOptionals() {
        for (B, T, In, H) in [(1, 1, 1, 1), (1, 4, 2, 2), (3, 1, 2, 3)] {
            let v = makeInputs(B, T, In, H, seed: UInt64(B * 100 + T * 10 + H))
            let w = [randomTensor([B, T, H], seed: 5), randomTensor([B, H], seed: 6), randomTensor([B, H], seed: 7)]
            assertGradientsMatch(Array(v[0..<3]), "B \(B) T \(T) In \(In) H \(H)") { g, p in
                let r = g.lstm(p[0], weightIH: p[1], weightHH: p[2])
                return g.weightedSum([r.output, r.hT, r.cT], w)
            }
        }
    }

    /// One hidden unit, two steps, computed by hand:
    ///   step 1 (x = 0.5, h0 = 0.1, c0 = 0.2, W_ih = [.1 .2 .3 .4], W_hh = [.5 .6 .7 .8],
    ///           b_ih = [.01 .02 .03 .04], b_hh = [.05 .06 .07 .08]):
    ///     pre-activations i .16, f .24, g .32, o .40
    ///     i = σ(.16) = .539915, f = σ(.24) = .559714, g = tanh(.32) = .309507, o = σ(.40) = .598688
    ///     c1 = f·0.2 + i·g = .111943 + .167107 = .279050,  h1 = o·tanh(c1) = .598688 · .272027 = .162858
    ///   step 2 (x = −0.3): pre-activations .1 (−.3) + .5 h1 + .06, … → c2 = .212845, h2 = .111665.
    func testGoldenOneUnitTwoSteps() {
        let g = Graph()
        let r = g.lstm(g.constant(Tensor(shape: [1, 2, 1], scalars: [0.5, -0.3])),
                       h0: g.constant(Tensor(shape: [1, 1], scalars: [0.1])),
                       c0: g.constant(Tensor(shape: [1, 1], scalars: [0.2])),
                       weightIH: g.constant(Tensor(shape: [4, 1], scalars: [0.1, 0.2, 0.3, 0.4])),
                       weightHH: g.constant(Tensor(shape: [4, 1], scalars: [0.5, 0.6, 0.7, 0.8])),
                       biasIH: g.constant(Tensor(shape: [4], scalars: [0.01, 0.02, 0.03, 0.04])),
                       biasHH: g.constant(Tensor(shape: [4], scalars: [0.05, 0.06, 0.07, 0.08])))
        XCTAssertEqual(r.output.value[0, 0, 0], 0.162_858_44, accuracy: 3e-7)
        XCTAssertEqual(r.output.value[0, 1, 0], 0.111_664_51, accuracy: 3e-7)
        XCTAssertEqual(r.hT.value[0, 0], 0.111_664_51, accuracy: 3e-7)
        XCTAssertEqual(r.cT.value[0, 0], 0.212_845_50, accuracy: 3e-7)
        XCTAssertEqual(g.tapeLength, 0, "constants only: nothing recorded")
    }

    /// A non-recording graph gives bitwise the same outputs.
    func testInferenceGraphGivesSameOutputs() {
        let v = makeInputs(2, 3, 4, 9, seed: 3)
        func run(_ g: Graph) -> [Tensor] {
            let p = v.map { g.variable($0) }
            let r = g.lstm(p[0], h0: p[5], c0: p[6], weightIH: p[1], weightHH: p[2], biasIH: p[3], biasHH: p[4])
            return [r.output.value, r.hT.value, r.cT.value]
        }
        let train = Graph(), infer = Graph(training: false, recording: false)
        XCTAssertEqual(run(train), run(infer))
        XCTAssertEqual(train.tapeLength, 1, "one fused tape node for the whole sequence")
        XCTAssertEqual(infer.tapeLength, 0)
    }
}
