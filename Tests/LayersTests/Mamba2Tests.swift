import CGMTensor
import Foundation
import Layers
import Optim
import XCTest
import _TestSupport

/// Mamba-2 block, its MES variant, the residual stack and hidden attention.
final class Mamba2Tests: XCTestCase {
    /// The tiny configuration of the gradient checks: d_model 8, d_state 4, headdim 4, expand 2 (H = 4),
    /// d_conv 3, chunk 4 (L = 6 gives a short last chunk).
    private func tiny(_ variant: Mamba2Variant, ngroups: Int = 1, dtLimit: ClosedRange<Float>? = 1e-3...10,
                      initStates: Bool = false) -> Mamba2Config {
        Mamba2Config(dModel: 8, dState: 4, dConv: 3, expand: 2, headdim: 4, ngroups: ngroups, chunk: 4,
                     dtLimit: dtLimit, learnableInitStates: initStates, variant: variant)
    }

    /// Builds the block's weights from `vars` in store order.
    private func weights(_ block: Mamba2Block, _ store: ParameterStore, _ vars: [Var]) -> Mamba2Weights {
        func v(_ id: ParameterID?) -> Var? { id.map { vars[$0.index] } }
        return Mamba2Weights(inProj: v(block.inProj.weight)!, convWeight: v(block.conv.weight)!,
                             convBias: v(block.conv.bias)!, dtBias: v(block.dtBias)!, aLog: v(block.aLog)!,
                             d: v(block.d)!, normWeight: v(block.normWeight)!, outProj: v(block.outProj.weight)!,
                             bScale: v(block.bScale), initStates: v(block.initStates))
    }

    private func parameterValues(_ store: ParameterStore) -> [Tensor] {
        store.entries.map { store.value(store.id(named: $0.name)!).copy() }
    }

    // MARK: Configuration and initialization

    func testSizesAndParameterNamesFollowMambaSSM() {
        let c = Mamba2Config(dModel: 128, dState: 128, dConv: 8, expand: 4, headdim: 64)
        XCTAssertEqual([c.dInner, c.nheads, c.convDim, c.inProjFeatures], [512, 8, 768, 1288])
        let store = ParameterStore()
        var rng = PhiloxGenerator(seed: 1)
        _ = Mamba2Block(store, "mixer", config: c, rng: &rng)
        XCTAssertEqual(store.entries.map(\.name), ["mixer.in_proj.weight", "mixer.conv1d.weight", "mixer.conv1d.bias",
                                                   "mixer.dt_bias", "mixer.A_log", "mixer.D", "mixer.norm.weight",
                                                   "mixer.out_proj.weight"])
        XCTAssertEqual(store.entries.map(\.shape), [[1288, 128], [768, 1, 8], [768], [8], [8], [8], [512], [128, 512]])
        // The PyTorch reference Mamba2Mixer of bench-reference/pytorch_models.py has 237,848 parameters.
        XCTAssertEqual(store.count, 237_848)
        let mes = ParameterStore()
        _ = Mamba2Block(mes, "m", config: .ssmCGM(), rng: &rng)
        XCTAssertEqual(mes.entries.map(\.name).filter { $0.hasSuffix("B_scale") || $0.hasSuffix("init_states") },
                       ["m.B_scale", "m.init_states"])
        XCTAssertEqual(mes.count, 237_848 + 8 + 8 * 64 * 128)
    }

    func testInitializationMatchesMambaSSM() {
        // 256 heads of width 1 give enough samples for the distribution checks.
        let c = Mamba2Config(dModel: 128, dState: 4, dConv: 4, expand: 2, headdim: 1)
        let store = ParameterStore()
        var rng = PhiloxGenerator(seed: 3)
        let block = Mamba2Block(store, "m", config: c, rng: &rng)
        let dts = store.value(block.dtBias).scalars.map { Mamba2Init.softplus(Double($0)) }
        XCTAssertTrue(dts.allSatisfy { $0 >= 1e-3 * 0.999 && $0 <= 0.1 * 1.001 }, "Δ₀ outside [dt_min, dt_max]")
        let meanLog = dts.map { Foundation.log($0) }.reduce(0, +) / Double(dts.count)
        XCTAssertEqual(meanLog, (Foundation.log(1e-3) + Foundation.log(0.1)) / 2, accuracy: 0.3, "log-uniform Δ₀")
        let a = store.value(block.aLog).scalars.map { Foundation.exp(Double($0)) }
        XCTAssertTrue(a.allSatisfy { $0 >= 1 && $0 <= 16 })
        XCTAssertEqual(a.reduce(0, +) / Double(a.count), 8.5, accuracy: 0.9, "A_log = ln U[1, 16]")
        XCTAssertEqual(Set(store.value(block.d).scalars), [1])
        XCTAssertEqual(Set(store.value(block.normWeight).scalars), [1])
        // PyTorch defaults: Linear U(±1/√fan_in); depthwise Conv1d U(±√(1/K)).
        func bound(_ id: ParameterID) -> Float { store.value(id).scalars.map(abs).max()! }
        XCTAssertLessThanOrEqual(bound(block.inProj.weight), 1 / Float(128).squareRoot())
        XCTAssertGreaterThan(bound(block.inProj.weight), 0.95 / Float(128).squareRoot())
        XCTAssertLessThanOrEqual(bound(block.outProj.weight), 1 / Float(256).squareRoot())
        XCTAssertLessThanOrEqual(bound(block.conv.weight), 0.5)
        XCTAssertGreaterThan(bound(block.conv.weight), 0.45)
        XCTAssertLessThanOrEqual(bound(block.conv.bias!), 0.5)
        // No weight decay on A_log, D, dt_bias (and norm weight); weight decay on the projections and conv.
        let noDecay = Set(store.entries.filter { !$0.weightDecay }.map(\.name))
        XCTAssertEqual(noDecay, ["m.A_log", "m.D", "m.dt_bias", "m.norm.weight"])
        // The floor: with dt_min below it, every Δ₀ is at least dt_init_floor.
        var low = c
        low.dtMin = 1e-7
        low.dtMax = 2e-4
        let s2 = ParameterStore()
        let b2 = Mamba2Block(s2, "m", config: low, rng: &rng)
        let floored = s2.value(b2.dtBias).scalars.map { Mamba2Init.softplus(Double($0)) }
        XCTAssertGreaterThanOrEqual(floored.min()!, 1e-4 * 0.99)
        XCTAssertTrue(floored.contains { abs($0 - 1e-4) < 1e-6 }, "some Δ₀ hit the floor")
    }

    // MARK: Golden values from the PyTorch reference

    // Generated (float64) by Fixtures/mamba2_golden.py, which holds the reference mixer it runs; the block here
    // runs without its dt clamp to match it: `python3 Tests/LayersTests/Fixtures/mamba2_golden.py`.
    private let goldenOut: [Float] = [
        1.23169079, 0.886230235, -0.87187269, -1.24021903, 0.3683317, 1.38976528, 0.195926523, -1.31021721,
        -0.685513677, -1.29790844, 0.158550226, 1.36228137, 0.394549262, -1.20209053, -0.882609712, 0.843742404,
        0.0477256832, 0.518143886, 0.162645775, -0.452108119, -0.346206069, 0.311545087, 0.472696405, -0.119625749,
        0.157619274, 0.0832618399, -0.123814157, -0.133531592, 0.0695990314, 0.161789476, -0.0039109304, -0.163377351,
        0.627188605, -0.685282937, -0.905420144, 0.317673551, 1.0343987, 0.102302382, -0.992862933, -0.505414391,
        -0.200995332, -0.407378929, 0.0355955238, 0.421831058, 0.135671989, -0.366746911, -0.284574803, 0.251206773,
        -0.639697465, -1.41765707, 0.0641149032, 1.44368835, 0.52203661, -1.23173641, -1.02213357, 0.816740233,
        -0.172924498, 1.14223311, 0.636682253, -0.883733922, -0.995486822, 0.479556589, 1.19019146, 0.00367272217,
        0.81938907, 0.120802791, -0.770341962, -0.433569121, 0.594308681, 0.674864227, -0.32030724, -0.804912082,
        -0.509325062, -1.28203511, -0.0111936629, 1.27749037, 0.529867181, -1.06235914, -0.961195326, 0.672104489,
        -0.203774242, 0.335425223, 0.339960145, -0.197398097, -0.420105693, 0.0268310992, 0.43099938, 0.148158842,
        -0.6285752, -0.377060986, 0.475484772, 0.570112429, -0.24401358, -0.669184316, -0.0276817619, 0.657945251,
    ]
    private let goldenDu: [Float] = [
        -0.0622633594, 0.311695268, 0.539058741, 0.512894465, 0.245507908, -0.137344855, -0.455602186, -0.55958269,
        0.244167807, 0.136787391, -0.034926273, -0.190213565, -0.256040445, -0.201447503, -0.0521106528, 0.121734652,
        0.0917513525, 0.12148466, 0.094081834, 0.0224308512, -0.0597697115, -0.113859645, -0.114399608, -0.0611356483,
        0.608458891, 0.673097609, 0.421168003, -0.0288434949, -0.465289447, -0.682902501, -0.579335839, -0.203298479,
        0.329010338, 0.6147372, 0.611343551, 0.320425478, -0.121193704, -0.505813594, -0.652541446, -0.492368861,
        0.703843661, 0.109759528, -0.535946227, -0.929588096, -0.886030159, -0.425758393, 0.234754197, 0.784858221,
        -0.559767329, -0.270200562, 0.146445751, 0.494216339, 0.609549261, 0.43820164, 0.0607609417, -0.345256577,
        -0.35892005, -0.078506246, 0.238830273, 0.443841182, 0.440106648, 0.229383081, -0.0892229333, -0.365866008,
        -0.0234926095, -0.179887874, -0.251679061, -0.205101652, -0.0620617322, 0.11016679, 0.23058215, 0.242551122,
        0.164311808, -0.321886602, -0.656696714, -0.6826521, -0.387545537, 0.0898297481, 0.524956699, 0.713188312,
        -0.143088102, -0.147916112, -0.0831768625, 0.0206817648, 0.114813435, 0.154946553, 0.122205885, 0.0319898809,
        0.772397209, 0.742030947, 0.362675937, -0.187251234, -0.649111223, -0.805684062, -0.583331097, -0.0866284024,
    ]
    /// Σ_i ∂ℓ/∂θ_i · cos(0.13 i) per parameter.
    private let goldenGradientChecksums: [String: Double] = [
        "m.dt_bias": 0.000942156189, "m.A_log": 0.00280540092, "m.D": -0.112045944,
        "m.in_proj.weight": -19.9754383, "m.conv1d.weight": 1.63447492, "m.conv1d.bias": 2.27585423,
        "m.norm.weight": 0.828688725, "m.out_proj.weight": 0.845665447,
    ]

    func testMatchesPyTorchReferenceMixer() {
        let store = ParameterStore()
        var rng = PhiloxGenerator(seed: 0)
        let block = Mamba2Block(store, "m", config: tiny(.standard, dtLimit: nil), rng: &rng)
        func fill(_ id: ParameterID, _ off: Double, _ scale: Double, plus: Float = 0) {
            let e = store.entry(id)
            store.setValue(id, Tensor(shape: e.shape, scalars: (0..<e.count).map { Float(scale * sin(0.7 * Double($0) + off)) + plus }))
        }
        fill(block.inProj.weight, 0.1, 0.35); fill(block.conv.weight, 0.2, 0.5); fill(block.conv.bias!, 0.3, 0.2)
        fill(block.normWeight, 0.4, 0.1, plus: 1); fill(block.outProj.weight, 0.5, 0.25)
        store.setValue(block.dtBias, Tensor(shape: [4], scalars: [-4, -3, -2.5, -5]))
        store.setValue(block.aLog, Tensor(shape: [4], scalars: [1, 2, 4, 8].map { Foundation.log(Float($0)) }))
        store.setValue(block.d, Tensor(shape: [4], scalars: [1, 0.5, -0.3, 2]))
        let u = Tensor(shape: [2, 6, 8], scalars: (0..<96).map { Float(sin(0.3 * Double($0) + 0.1)) })
        let g = Graph()
        let uv = g.variable(u)
        let out = block(uv, store.bind(g))
        assertClose(out.value, Tensor(shape: [2, 6, 8], scalars: goldenOut), atol: 2e-5, rtol: 1e-4, "mixer output")
        store.zeroGradients()
        g.backward(out, seed: Tensor(shape: [2, 6, 8], scalars: (0..<96).map { Float(cos(0.11 * Double($0))) }))
        assertClose(g.gradient(of: uv)!, Tensor(shape: [2, 6, 8], scalars: goldenDu), atol: 2e-5, rtol: 1e-4, "du")
        for e in store.entries {
            let grad = store.gradient(store.id(named: e.name)!)
            var s = 0.0
            for k in 0..<grad.count { s += Double(grad[flat: k]) * cos(0.13 * Double(k)) }
            let want = goldenGradientChecksums[e.name]!
            XCTAssertEqual(s, want, accuracy: 2e-5 + 2e-4 * abs(want), "gradient checksum of \(e.name)")
        }
    }

    // MARK: Gradient checks

    func testConv1dAndGatedNormGradientsAtMambaShapes() {
        // Depthwise causal conv1d with bias (d_conv 3) over a sequence shorter than and longer than the kernel.
        for t in [2, 6] {
            let x = randomTensor([2, t, 6], seed: 1), w = randomTensor([6, 1, 3], seed: 2), b = randomTensor([6], seed: 3)
            assertGradientsMatch([x, w, b], "depthwise conv1d T \(t)") { g, v in
                g.silu(g.conv1d(v[0], weight: v[1], bias: v[2], groups: 6, causal: true))
            }
        }
        // Gated RMSNorm, norm after gate (Mamba-2), whole width and two groups.
        let y = randomNormalTensor([2, 3, 8], seed: 4), z = randomNormalTensor([2, 3, 8], seed: 5)
        let w = randomTensor([8], seed: 6, low: 0.5, high: 1.5)
        for gs in [8, 4] {
            assertGradientsMatch([y, z, w], "rmsNormGated group \(gs)") { g, v in
                g.rmsNormGated(v[0], gate: v[1], weight: v[2], normBeforeGate: false, groupSize: gs)
            }
        }
    }

    /// Finite differences through the whole block, every parameter and the input.
    func testBlockGradientCheck() {
        // The dt limit sits outside the values reached here, so no kink lies inside ±ε.
        let configs: [(String, Mamba2Config)] = [
            ("standard G 2", tiny(.standard, ngroups: 2, dtLimit: 1e-5...50)),
            ("MES", tiny(.mes, dtLimit: 1e-5...50)),
            ("standard, learnable initial states", tiny(.standard, dtLimit: nil, initStates: true)),
            ("MES, learnable initial states", tiny(.mes, dtLimit: nil, initStates: true)),
        ]
        for (name, config) in configs {
            let store = ParameterStore()
            var rng = PhiloxGenerator(seed: 11)
            let block = Mamba2Block(store, "m", config: config, rng: &rng)
            var params = parameterValues(store)
            // Move away from the special initial values (B_scale = 1, h₀ = 0) so every term is exercised.
            for (i, e) in store.entries.enumerated() where e.name.hasSuffix("B_scale") || e.name.hasSuffix("init_states") {
                params[i] = randomTensor(e.shape, seed: UInt64(20 + i), low: 0.5, high: 1.5)
            }
            let u = randomNormalTensor([2, 6, 8], seed: 12)
            assertGradientsMatch([u] + params, atol: 3e-3, rtol: 2e-2, name) { g, v in
                block.forward(v[0], weights(block, store, Array(v.dropFirst())))
            }
        }
    }

    func testBlockAppliesDtLimit() {
        let store = ParameterStore()
        var rng = PhiloxGenerator(seed: 5)
        let block = Mamba2Block(store, "m", config: tiny(.standard, dtLimit: 0.02...0.05), rng: &rng)
        let trace = Mamba2Trace()
        let g = Graph(training: false, recording: false)
        _ = block.forward(g.constant(randomNormalTensor([2, 6, 8], seed: 1, scale: 3)), block.weights(store.bind(g)), trace: trace)
        let dt = trace.dt!.scalars
        XCTAssertTrue(dt.allSatisfy { $0 >= 0.02 && $0 <= 0.05 })
        XCTAssertTrue(dt.contains(0.02) && dt.contains { $0 > 0.02 && $0 < 0.05 }, "limit active and inactive somewhere")
    }

    /// The scan's chunk length is an implementation detail: the block output must not depend on it.
    func testBlockOutputIndependentOfChunk() {
        for variant in Mamba2Variant.allCases {
            var outs: [Tensor] = []
            for chunk in [1, 4, 64] {
                var c = tiny(variant)
                c.chunk = chunk
                let store = ParameterStore()
                var rng = PhiloxGenerator(seed: 9)
                let block = Mamba2Block(store, "m", config: c, rng: &rng)
                let g = Graph(training: false, recording: false)
                outs.append(block(g.constant(randomNormalTensor([2, 7, 8], seed: 2)), store.bind(g)).value)
            }
            assertClose(outs[0], outs[2], atol: 1e-5, rtol: 1e-4, "\(variant) chunk 1 vs 64")
            assertClose(outs[1], outs[2], atol: 1e-5, rtol: 1e-4, "\(variant) chunk 4 vs 64")
        }
    }

    // MARK: Hidden attention

    /// z = Σ_j K_ℓj x_j (plus the D skip) reproduces the block's SSM output, per head, both variants.
    func testHiddenAttentionReproducesBlockOutput() {
        for variant in Mamba2Variant.allCases {
            let store = ParameterStore()
            var rng = PhiloxGenerator(seed: 13)
            let block = Mamba2Block(store, "m", config: tiny(variant), rng: &rng)
            if let s = block.bScale { store.setValue(s, randomTensor([4], seed: 3, low: 0.5, high: 2)) }
            // Larger Δ than at init, so the kernel decays visibly within the window.
            store.setValue(block.dtBias, Tensor(shape: [4], scalars: [-1, 0, 0.5, -2]))
            let u = randomNormalTensor([2, 9, 8], seed: 14)
            let trace = Mamba2Trace()
            let g = Graph(training: false, recording: false)
            _ = block.forward(g.constant(u), block.weights(store.bind(g)), trace: trace)
            let att = block.hiddenAttention(u, store)
            let (values, y, d) = (trace.values!, trace.y!, trace.D!)
            let (l, h, p) = (9, 4, 4)
            let z = Tensor(zeros: y.shape)
            let zp = z.sharedMutablePointer
            for b in 0..<2 {
                for hh in 0..<h {
                    for ell in 0..<l {
                        for c in 0..<p {
                            var acc = d[flat: hh] * values[b, ell, hh, c]
                            for j in 0...ell { acc += att.kernel[b, hh, ell, j] * values[b, j, hh, c] }
                            zp[((b * l + ell) * h + hh) * p + c] = acc
                        }
                    }
                }
            }
            assertClose(z, y, atol: 1e-5, rtol: 1e-4, "\(variant): Σ K x + D x = y")
            if variant == .mes {   // shared value: every head's kernel multiplies the same v
                XCTAssertEqual(values[0, 3, 0, 1], values[0, 3, 2, 1])
            }
        }
    }

    // MARK: Stack

    func testStackTrainsAndIsDeterministic() {
        let config = tiny(.mes)
        func run() -> (Float, Tensor) {
            let store = ParameterStore()
            var rng = PhiloxGenerator(seed: 21)
            let stack = MambaStack(store, "encoder", config: config, depth: 2, dropout: 0.2, rng: &rng)
            XCTAssertEqual(store.entries.first?.name, "encoder.layers.0.norm.weight")
            XCTAssertEqual(store.entries.last?.name, "encoder.norm_f.weight")
            let adam = Adam(store, lr: 3e-3)
            let x = randomNormalTensor([3, 7, 8], seed: 1), target = randomNormalTensor([3, 7, 8], seed: 2)
            var losses: [Float] = []
            for step in 0..<30 {
                let g = Graph(training: true, random: RandomContext(seed: 4, step: UInt64(step)))
                let loss = g.mseLoss(stack(g.constant(x), store.bind(g)), g.constant(target))
                store.zeroGradients()
                g.backward(loss)
                if step == 0 {
                    for e in store.entries {
                        let grad = store.gradient(store.id(named: e.name)!)
                        XCTAssertTrue(grad.scalars.contains { $0 != 0 } && grad.isFinite, "no gradient reached \(e.name)")
                    }
                }
                adam.step()
                losses.append(loss.value.scalar)
            }
            XCTAssertLessThan(losses.last!, 0.8 * losses.first!, "loss \(losses.first!) → \(losses.last!)")
            let g = Graph(training: false, recording: false)
            return (losses.last!, stack(g.constant(x), store.bind(g)).value)
        }
        let (a, b) = (run(), run())
        XCTAssertEqual(a.0, b.0)
        XCTAssertEqual(a.1, b.1)
    }

    /// A training step's graph (and with it every cached activation of the scan) must be freed.
    func testTrainingStepFreesItsGraph() {
        let store = ParameterStore()
        var rng = PhiloxGenerator(seed: 6)
        let stack = MambaStack(store, "s", config: tiny(.standard, initStates: true), depth: 2, dropout: 0.1, rng: &rng)
        let adam = Adam(store, lr: 1e-3)
        weak var lastGraph: Graph?
        for step in 1...3 {
            do {
                let g = Graph(training: true, random: RandomContext(seed: 0, step: UInt64(step)))
                lastGraph = g
                let loss = g.mean(g.square(stack(g.constant(randomNormalTensor([2, 9, 8], seed: 1)), store.bind(g))))
                store.zeroGradients()
                g.backward(loss)
                adam.step()
            }
            XCTAssertNil(lastGraph, "step \(step): the graph leaked")
        }
    }

    func testStackHiddenAttentionPerLayer() {
        let store = ParameterStore()
        var rng = PhiloxGenerator(seed: 2)
        let stack = MambaStack(store, "s", config: tiny(.standard), depth: 3, norm: .layerNorm, rng: &rng)
        let maps = stack.hiddenAttention(randomNormalTensor([1, 5, 8], seed: 3), store)
        XCTAssertEqual(maps.count, 3)
        XCTAssertEqual(maps[2].alphaMean.shape, [1, 5, 5])
        XCTAssertEqual(maps[0].alpha[0, 1, 4, 0] + maps[0].alpha[0, 1, 4, 1] + maps[0].alpha[0, 1, 4, 2]
                       + maps[0].alpha[0, 1, 4, 3] + maps[0].alpha[0, 1, 4, 4], 1, accuracy: 1e-5)
    }
}
