import CGMTensor
import Foundation
import Layers
import XCTest
import _TestSupport

// Golden values marked "pytorch-forecasting" come from running pytorch-forecasting's own
// `temporal_fusion_transformer/sub_modules.py` (torch 2.x, float64, eval mode) with every parameter
// filled by `fillLikeGolden` and inputs from `goldenInput` (the same formulas in Python):
//   p[name][i] = 0.3 sin(0.7 i + 0.1 len(name) + 0.2 (Σ utf8(name) mod 13)),  x[i] = sin(a (i + 1) + 0.5)
// Names are relative to the module, so matching values also proves the parameter names match.

final class TFTBlocksTests: XCTestCase {
    // MARK: Interpolation (ResampleNorm's fixed skip projection)

    /// `F.interpolate(mode="linear", align_corners=True)` values: 2 → 3 points, 3 → 5, 1 → 3, 4 → 1.
    func testResampleInterpolatesLikePyTorchAlignCorners() {
        let store = ParameterStore()
        let norm = ResampleNorm(store, "r", inputSize: 3, outputSize: 5, trainableAdd: false)
        XCTAssertEqual(norm.interpolation!.scalars, [1, 0, 0, 0.5, 0.5, 0, 0, 1, 0, 0, 0.5, 0.5, 0, 0, 1])
        XCTAssertEqual(ResampleNorm(store, "a", inputSize: 2, outputSize: 3).interpolation!.scalars, [1, 0, 0.5, 0.5, 0, 1])
        XCTAssertEqual(ResampleNorm(store, "b", inputSize: 1, outputSize: 3).interpolation!.scalars, [1, 1, 1])
        XCTAssertEqual(ResampleNorm(store, "c", inputSize: 4, outputSize: 1).interpolation!.scalars, [1, 0, 0, 0])
        XCTAssertNil(ResampleNorm(store, "d", inputSize: 4, outputSize: 4).interpolation)
        // 8 → 16 (hidden_continuous 8 to hidden 16): every row sums to 1 and the ends are exact.
        let m = ResampleNorm(store, "e", inputSize: 8, outputSize: 16).interpolation!
        for j in 0..<16 { XCTAssertEqual((0..<8).map { m[j, $0] }.reduce(0, +), 1, accuracy: 1e-6) }
        XCTAssertEqual(m[0, 0], 1)
        XCTAssertEqual(m[15, 7], 1, accuracy: 1e-6)
    }

    // MARK: GLU

    func testGLUValueAndGradients() {
        let store = ParameterStore()
        var rng = PhiloxGenerator(seed: 1, stream: 1)
        let glu = GatedLinearUnit(store, "glu", inputSize: 3, hiddenSize: 2, dropout: nil, rng: &rng)
        XCTAssertEqual(parameterNames(store), ["glu.fc.weight", "glu.fc.bias"])
        XCTAssertEqual(store.value(glu.fc.bias!).scalars, [0, 0, 0, 0], "pytorch-forecasting zeroes GLU biases")
        let x = randomTensor([2, 3], seed: 2)
        let g = Graph(training: false, recording: false)
        let y = glu(g.constant(x), store.bind(g)).value
        let w = store.value(glu.fc.weight)
        for row in 0..<2 {
            for j in 0..<2 {
                let a = (0..<3).reduce(Float(0)) { $0 + w[j, $1] * x[row, $1] }
                let b = (0..<3).reduce(Float(0)) { $0 + w[j + 2, $1] * x[row, $1] }
                XCTAssertEqual(y[row, j], a / (1 + exp(-b)), accuracy: 1e-6)
            }
        }
        assertModuleGradientsMatch(store, inputs: [x]) { g, x, p in glu(x[0], p) }
        // With input dropout (masks are keyed, so both passes drop the same elements).
        let dropped = GatedLinearUnit(store, "glu2", inputSize: 4, dropout: 0.3, rng: &rng)
        assertModuleGradientsMatch(store, inputs: [randomTensor([3, 2, 4], seed: 3)],
                                   parameters: ["glu2.fc.weight", "glu2.fc.bias"]) { g, x, p in dropped(x[0], p) }
    }

    // MARK: GRN

    /// Eqs. 4–6 by hand on a 2-dim input with a 2-dim context and a 3-dim output (so the skip is
    /// pytorch-forecasting's ResampleNorm: interpolation [x₀, (x₀ + x₁)/2, x₁], gate 2σ(mask), LayerNorm).
    func testGRNMatchesHandComputationOn2DInputs() {
        let store = ParameterStore()
        var rng = PhiloxGenerator(seed: 3, stream: 1)
        let grn = GatedResidualNetwork(store, "grn", inputSize: 2, hiddenSize: 2, outputSize: 3, dropout: nil,
                                       contextSize: 2, rng: &rng)
        func set(_ name: String, _ v: [Float]) {
            let id = store.id(named: name)!
            store.setValue(id, Tensor(shape: store.entry(id).shape, scalars: v))
        }
        set("grn.resample_norm.mask", [0.5, -1, 0])
        set("grn.resample_norm.norm.weight", [1.1, 0.9, 1])
        set("grn.resample_norm.norm.bias", [0, 0.1, -0.1])
        set("grn.fc1.weight", [0.5, -0.3, 0.2, 0.8])
        set("grn.fc1.bias", [0.1, -0.2])
        set("grn.context.weight", [0.4, 0.1, -0.6, 0.3])
        set("grn.fc2.weight", [0.7, 0.1, -0.4, 0.6])
        set("grn.fc2.bias", [0.05, 0])
        set("grn.gate_norm.glu.fc.weight", [0.3, -0.2, 0.5, 0.4, -0.1, 0.9, 1.0, 0.2, -0.7, 0.6, 0.3, -0.5])
        set("grn.gate_norm.glu.fc.bias", [0, 0.1, -0.1, 0.2, 0, -0.3])
        set("grn.gate_norm.add_norm.norm.weight", [1.2, 0.8, 1])
        set("grn.gate_norm.add_norm.norm.bias", [0.1, -0.1, 0])
        let x: [Double] = [0.3, -0.7], c: [Double] = [1.5, -0.5]

        func sigmoid(_ v: Double) -> Double { 1 / (1 + exp(-v)) }
        func layerNorm(_ v: [Double], _ w: [Double], _ b: [Double]) -> [Double] {
            let mean = v.reduce(0, +) / Double(v.count)
            let variance = v.map { ($0 - mean) * ($0 - mean) }.reduce(0, +) / Double(v.count)
            return v.indices.map { (v[$0] - mean) / (variance + 1e-5).squareRoot() * w[$0] + b[$0] }
        }
        // Skip: interpolate 2 → 3, multiply by 2σ(mask), LayerNorm.
        let interpolated = [x[0], (x[0] + x[1]) / 2, x[1]]
        let mask = [0.5, -1.0, 0.0]
        let skip = layerNorm(interpolated.indices.map { interpolated[$0] * 2 * sigmoid(mask[$0]) }, [1.1, 0.9, 1], [0, 0.1, -0.1])
        // Eq. 4: η₂ = ELU(W₁x + b₁ + W_c c), ẑ = W₂η₂ + b₂.
        let pre = [0.5 * x[0] - 0.3 * x[1] + 0.1 + 0.4 * c[0] + 0.1 * c[1],
                   0.2 * x[0] + 0.8 * x[1] - 0.2 - 0.6 * c[0] + 0.3 * c[1]]
        let eta = pre.map { $0 > 0 ? $0 : exp($0) - 1 }
        let zHat = [0.7 * eta[0] + 0.1 * eta[1] + 0.05, -0.4 * eta[0] + 0.6 * eta[1]]
        // Eq. 5: GLU rows 0–2 are values, rows 3–5 gates.
        let wg: [[Double]] = [[0.3, -0.2], [0.5, 0.4], [-0.1, 0.9], [1.0, 0.2], [-0.7, 0.6], [0.3, -0.5]]
        let bg: [Double] = [0, 0.1, -0.1, 0.2, 0, -0.3]
        let lin = (0..<6).map { wg[$0][0] * zHat[0] + wg[$0][1] * zHat[1] + bg[$0] }
        let gated = (0..<3).map { lin[$0] * sigmoid(lin[$0 + 3]) }
        // Eq. 6: LayerNorm(skip + gated).
        let expected = layerNorm((0..<3).map { skip[$0] + gated[$0] }, [1.2, 0.8, 1], [0.1, -0.1, 0])

        let g = Graph(training: false, recording: false)
        let y = grn(g.constant(Tensor(shape: [1, 2], scalars: x.map(Float.init))),
                    context: g.constant(Tensor(shape: [1, 2], scalars: c.map(Float.init))), store.bind(g)).value
        XCTAssertEqual(y.shape, [1, 3])
        for j in 0..<3 { XCTAssertEqual(Double(y[0, j]), expected[j], accuracy: 1e-5, "output \(j)") }
    }

    /// GRN 3 → 5 (ResampleNorm skip) with a static context broadcast over time, against pytorch-forecasting.
    func testGRNMatchesPytorchForecasting() {
        let store = ParameterStore()
        var rng = PhiloxGenerator(seed: 4, stream: 1)
        let grn = GatedResidualNetwork(store, "grn", inputSize: 3, hiddenSize: 2, outputSize: 5, dropout: 0.1,
                                       contextSize: 4, rng: &rng)
        XCTAssertEqual(parameterNames(store, prefix: "grn."), [
            "resample_norm.mask", "resample_norm.norm.weight", "resample_norm.norm.bias", "fc1.weight", "fc1.bias",
            "context.weight", "fc2.weight", "fc2.bias", "gate_norm.glu.fc.weight", "gate_norm.glu.fc.bias",
            "gate_norm.add_norm.norm.weight", "gate_norm.add_norm.norm.bias"])
        fillLikeGolden(store, prefix: "grn.")
        let g = Graph(training: false, recording: false)
        let y = grn(g.constant(goldenInput([2, 3, 3], 0.9)), context: g.constant(goldenInput([2, 4], 1.3)), store.bind(g))
        assertClose(y.value, Tensor(shape: [2, 3, 5], scalars: [
            -0.119747, 0.062957, -0.07303, 0.01025, 0.460802, -0.106609, 0.002419, -0.199148, 0.003391, 0.56696,
            -0.425418, -0.17749, 0.109317, 0.004786, 0.472866, -0.039204, 0.085337, -0.172083, 0.009451, 0.464613,
            -0.353507, -0.136659, 0.035859, 0.003183, 0.54056, -0.070933, 0.078819, -0.128118, 0.009971, 0.46176]),
            atol: 2e-5, rtol: 1e-4)

        // Same input and output width: identity skip, no resample parameters.
        let same = GatedResidualNetwork(store, "same", inputSize: 4, hiddenSize: 3, outputSize: 4, dropout: nil, rng: &rng)
        XCTAssertEqual(parameterNames(store, prefix: "same."), [
            "fc1.weight", "fc1.bias", "fc2.weight", "fc2.bias", "gate_norm.glu.fc.weight", "gate_norm.glu.fc.bias",
            "gate_norm.add_norm.norm.weight", "gate_norm.add_norm.norm.bias"])
        fillLikeGolden(store, prefix: "same.")
        let z = same(g.constant(goldenInput([3, 4], 0.8)), store.bind(g))
        assertClose(z.value, Tensor(shape: [3, 4], scalars: [
            -0.551722, -0.492269, -0.13552, -0.002501, -0.028533, -0.029243, -0.240022, 0.012733,
            -0.570962, -0.477147, -0.121669, -0.002245]), atol: 2e-5, rtol: 1e-4)
    }

    /// pytorch-forecasting's initialization: fc1/fc2 kaiming-normal (std √(2/fanIn)), zero biases.
    func testGRNInitialization() {
        let store = ParameterStore()
        var rng = PhiloxGenerator(seed: 5, stream: 1)
        let grn = GatedResidualNetwork(store, "g", inputSize: 64, hiddenSize: 64, outputSize: 64, dropout: nil,
                                       contextSize: 32, rng: &rng)
        let w = store.value(grn.fc1.weight).scalars
        let std = (w.map { Double($0 * $0) }.reduce(0, +) / Double(w.count)).squareRoot()
        XCTAssertEqual(std, (2.0 / 64).squareRoot(), accuracy: 0.01)
        XCTAssertTrue(store.value(grn.fc1.bias!).scalars.allSatisfy { $0 == 0 })
        XCTAssertTrue(store.value(grn.fc2.bias!).scalars.allSatisfy { $0 == 0 })
        let bound = Float((6.0 / (32 + 64)).squareRoot())   // xavier for the context weight (64, 32)
        let cw = store.value(grn.context!.weight).scalars
        XCTAssertTrue(cw.allSatisfy { abs($0) <= bound })
        XCTAssertGreaterThan(cw.map(abs).max()!, bound * 0.9)
        XCTAssertNil(grn.context!.bias)
    }

    func testGRNGradients() {
        let store = ParameterStore()
        var rng = PhiloxGenerator(seed: 6, stream: 1)
        // Context (broadcast over time), ResampleNorm skip 3 → 4, dropout.
        let withContext = GatedResidualNetwork(store, "a", inputSize: 3, hiddenSize: 2, outputSize: 4, dropout: 0.25,
                                               contextSize: 2, rng: &rng)
        fillLikeGolden(store, prefix: "a.")   // non-zero biases and masks exercise every path
        assertModuleGradientsMatch(store, inputs: [randomTensor([2, 3, 3], seed: 1), randomTensor([2, 2], seed: 2)],
                                   parameters: parameterNames(store).filter { $0.hasPrefix("a.") }) { g, x, p in
            withContext(x[0], context: x[1], p)
        }
        // No context, equal widths (identity skip).
        let plain = GatedResidualNetwork(store, "b", inputSize: 3, hiddenSize: 3, outputSize: 3, dropout: nil, rng: &rng)
        assertModuleGradientsMatch(store, inputs: [randomTensor([4, 3], seed: 3)],
                                   parameters: parameterNames(store).filter { $0.hasPrefix("b.") }) { g, x, p in plain(x[0], p) }
        // Learned linear skip (the paper's W_skip), context of the same rank as the input.
        let linear = GatedResidualNetwork(store, "c", inputSize: 2, hiddenSize: 3, outputSize: 3, dropout: nil,
                                          contextSize: 2, skip: .linear, rng: &rng)
        XCTAssertNotNil(linear.skipLayer)
        XCTAssertNil(linear.resampleNorm)
        assertModuleGradientsMatch(store, inputs: [randomTensor([2, 2, 2], seed: 4), randomTensor([2, 2, 2], seed: 5)],
                                   parameters: parameterNames(store).filter { $0.hasPrefix("c.") }) { g, x, p in
            linear(x[0], context: x[1], p)
        }
    }

    // MARK: VSN

    func testTemporalVSNMatchesPytorchForecasting() {
        let store = ParameterStore()
        var rng = PhiloxGenerator(seed: 7, stream: 1)
        let vsn = VariableSelectionNetwork(store, "v", inputs: [.real("a", size: 4), .real("b", size: 4), .real("c", size: 2)],
                                           hiddenSize: 6, dropout: 0.1, contextSize: 5, rng: &rng)
        XCTAssertEqual(Array(parameterNames(store, prefix: "v.").prefix(13)), [
            "flattened_grn.resample_norm.mask", "flattened_grn.resample_norm.norm.weight",
            "flattened_grn.resample_norm.norm.bias", "flattened_grn.fc1.weight", "flattened_grn.fc1.bias",
            "flattened_grn.context.weight", "flattened_grn.fc2.weight", "flattened_grn.fc2.bias",
            "flattened_grn.gate_norm.glu.fc.weight", "flattened_grn.gate_norm.glu.fc.bias",
            "flattened_grn.gate_norm.add_norm.norm.weight", "flattened_grn.gate_norm.add_norm.norm.bias",
            "single_variable_grns.a.resample_norm.mask"])
        XCTAssertTrue(parameterNames(store).contains("v.prescalers.c.weight"))
        fillLikeGolden(store, prefix: "v.")
        let g = Graph(training: false, recording: false)
        let xs = [goldenInput([2, 3, 1], 0.7), goldenInput([2, 3, 1], 1.1), goldenInput([2, 3, 1], 1.7)].map { g.constant($0) }
        let (out, weights) = vsn(xs, context: g.constant(goldenInput([2, 5], 0.4)), store.bind(g))
        assertClose(out.value, Tensor(shape: [2, 3, 6], scalars: [
            0.049411, 0.53755, 0.696065, 0.197062, 0.00492, 0.064834, 0.049618, 0.537058, 0.695836, 0.197334, 0.00469,
            0.065812, 0.04978, 0.537065, 0.695863, 0.197044, 0.004722, 0.065818, 0.050683, 0.521459, 0.694798, 0.207816,
            0.003925, 0.076137, 0.050021, 0.53766, 0.695693, 0.196518, 0.00497, 0.065332, 0.059576, 0.486577, 0.66462,
            0.232838, 0.00407, 0.1062]), atol: 2e-5, rtol: 1e-4)
        assertClose(weights.value, Tensor(shape: [2, 3, 3], scalars: [
            0.26157, 0.29766, 0.440771, 0.261302, 0.296908, 0.441791, 0.260966, 0.29597, 0.443064, 0.26113, 0.296428,
            0.442442, 0.260021, 0.29336, 0.446619, 0.24986, 0.267351, 0.482788]), atol: 2e-5, rtol: 1e-4)
    }

    /// Static VSN with a categorical embedding (ResampleNorm transform, no prescaler) and a real.
    func testStaticVSNWithEmbeddingMatchesPytorchForecasting() {
        let store = ParameterStore()
        var rng = PhiloxGenerator(seed: 8, stream: 1)
        let vsn = VariableSelectionNetwork(store, "s", inputs: [.embedding("cat", size: 3), .real("r", size: 4)],
                                           hiddenSize: 6, dropout: 0.1, rng: &rng)
        let names = parameterNames(store, prefix: "s.")
        XCTAssertEqual(names.filter { $0.contains("cat") }, [
            "single_variable_grns.cat.mask", "single_variable_grns.cat.norm.weight", "single_variable_grns.cat.norm.bias"])
        XCTAssertEqual(names.suffix(2), ["prescalers.r.weight", "prescalers.r.bias"])
        fillLikeGolden(store, prefix: "s.")
        let g = Graph(training: false, recording: false)
        let (out, weights) = vsn([g.constant(goldenInput([2, 3], 0.6)), g.constant(goldenInput([2, 1], 1.9))], store.bind(g))
        assertClose(out.value, Tensor(shape: [2, 6], scalars: [
            0.229259, 0.390583, 0.076131, -0.114958, -0.023102, 0.146481, -0.000725, 0.125439, 0.06537, -0.038455,
            -0.106014, -0.004837]), atol: 2e-5, rtol: 1e-4)
        assertClose(weights.value, Tensor(shape: [2, 2], scalars: [0.43957, 0.56043, 0.43957, 0.56043]), atol: 2e-5, rtol: 1e-4)
    }

    /// One variable: no selection (weights 1), the context is unused, as in pytorch-forecasting.
    func testSingleVariableVSNMatchesPytorchForecasting() {
        let store = ParameterStore()
        var rng = PhiloxGenerator(seed: 9, stream: 1)
        let vsn = VariableSelectionNetwork(store, "one", inputs: [.real("a", size: 3)], hiddenSize: 5, dropout: 0.1,
                                           contextSize: 4, rng: &rng)
        XCTAssertNil(vsn.flattenedGRN)
        fillLikeGolden(store, prefix: "one.")
        let g = Graph(training: false, recording: false)
        let (out, weights) = vsn([g.constant(goldenInput([2, 3, 1], 0.5))], context: g.constant(goldenInput([2, 4], 0.3)),
                                 store.bind(g))
        assertClose(out.value, Tensor(shape: [2, 3, 5], scalars: [
            -0.024321, 0.392635, 0.716304, 0.260776, 0.005749, -0.024413, 0.392998, 0.716129, 0.260403, 0.005831,
            -0.024361, 0.392793, 0.716228, 0.260614, 0.005785, -0.024176, 0.392063, 0.716575, 0.261364, 0.005622,
            -0.023899, 0.390965, 0.717082, 0.262492, 0.005379, -0.023601, 0.389723, 0.717622, 0.263769, 0.005118]),
            atol: 2e-5, rtol: 1e-4)
        XCTAssertEqual(weights.shape, [2, 3, 1])
        XCTAssertTrue(weights.value.scalars.allSatisfy { $0 == 1 })
    }

    func testVSNGradients() {
        let store = ParameterStore()
        var rng = PhiloxGenerator(seed: 10, stream: 1)
        // Temporal, three reals, static context broadcast over time, dropout.
        let temporal = VariableSelectionNetwork(store, "t", inputs: [.real("a", size: 3), .real("b", size: 4), .real("c", size: 3)],
                                                hiddenSize: 3, dropout: 0.2, contextSize: 2, rng: &rng)
        fillLikeGolden(store, prefix: "t.")
        assertModuleGradientsMatch(
            store, inputs: [randomTensor([2, 3, 1], seed: 1), randomTensor([2, 3, 1], seed: 2), randomTensor([2, 3, 1], seed: 3),
                            randomTensor([2, 2], seed: 4)],
            parameters: parameterNames(store).filter { $0.hasPrefix("t.") }) { g, x, p in
            let (out, weights) = temporal(Array(x[0..<3]), context: x[3], p)
            return g.concat([g.reshape(out, to: [-1]), g.reshape(weights, to: [-1])], axis: 0)   // both outputs checked
        }
        // Static: an embedding (fed as a variable) and two reals. (With exactly two variables the selection
        // logits pass a LayerNorm over 2 values, which is ±1 almost everywhere and a near-step where the two
        // are close: finite differences cannot follow it, so the check uses three.)
        let statik = VariableSelectionNetwork(store, "s", inputs: [.embedding("e", size: 3), .real("r", size: 2),
                                                                   .real("q", size: 2)],
                                              hiddenSize: 4, dropout: nil, rng: &rng)
        assertModuleGradientsMatch(store, inputs: [randomTensor([3, 3], seed: 5), randomTensor([3, 1], seed: 6),
                                                   randomTensor([3, 1], seed: 8)],
                                   parameters: parameterNames(store).filter { $0.hasPrefix("s.") }) { g, x, p in
            let (out, weights) = statik([x[0], x[1], x[2]], p)
            return g.concat([g.reshape(out, to: [-1]), g.reshape(weights, to: [-1])], axis: 0)
        }
        // Single variable, temporal.
        let single = VariableSelectionNetwork(store, "u", inputs: [.real("a", size: 2)], hiddenSize: 3, dropout: 0.2, rng: &rng)
        assertModuleGradientsMatch(store, inputs: [randomTensor([2, 2, 1], seed: 7)],
                                   parameters: parameterNames(store).filter { $0.hasPrefix("u.") }) { g, x, p in single(x, p).output }
    }

    /// Shared prescalers: the VSN uses the given Linear and registers no prescaler of its own.
    func testVSNUsesSharedPrescalers() {
        let store = ParameterStore()
        var rng = PhiloxGenerator(seed: 11, stream: 1)
        let shared = Linear(store, "prescalers.x", inFeatures: 1, outFeatures: 2, rng: &rng)
        let vsn = VariableSelectionNetwork(store, "v", inputs: [.real("x", size: 2), .real("y", size: 2)], hiddenSize: 3,
                                           dropout: nil, prescalers: ["x": shared], rng: &rng)
        XCTAssertEqual(vsn.prescalers[0]?.weight, shared.weight)
        XCTAssertFalse(parameterNames(store).contains("v.prescalers.x.weight"))
        XCTAssertTrue(parameterNames(store).contains("v.prescalers.y.weight"))
    }

    // MARK: Interpretable attention

    /// Two heads, decoder queries over [encoder; decoder] with pytorch-forecasting's causal mask.
    func testInterpretableAttentionMatchesPytorchForecasting() {
        let store = ParameterStore()
        var rng = PhiloxGenerator(seed: 12, stream: 1)
        let attention = InterpretableMultiHeadAttention(store, "att", heads: 2, modelSize: 6, dropout: 0.1, rng: &rng)
        XCTAssertEqual(parameterNames(store, prefix: "att."), [
            "v_layer.weight", "v_layer.bias", "q_layers.0.weight", "q_layers.0.bias", "q_layers.1.weight", "q_layers.1.bias",
            "k_layers.0.weight", "k_layers.0.bias", "k_layers.1.weight", "k_layers.1.bias", "w_h.weight"])
        fillLikeGolden(store, prefix: "att.")
        let g = Graph(training: false, recording: false)
        let x = g.constant(goldenInput([2, 5, 6], 0.45))
        let (out, weights) = attention(q: g.slice(x, axis: 1, range: 3..<5), k: x, v: x, mask: .causalExcludingSelf, store.bind(g))
        assertClose(out.value, Tensor(shape: [2, 2, 6], scalars: [
            0.075052, -0.092091, 0.017931, 0.073986, -0.092634, 0.019546, 0.035757, -0.083393, 0.048444, 0.034479,
            -0.083257, 0.049585, 0.030156, -0.037315, 0.007521, 0.029722, -0.03753, 0.008172, 0.109838, -0.174672,
            0.066527, 0.1075, -0.175069, 0.069266]), atol: 2e-5, rtol: 1e-4)
        assertClose(weights.value, Tensor(shape: [2, 2, 5], scalars: [
            0.172764, 0.617197, 0.210038, 0, 0, 0.347449, 0.144019, 0.33137, 0.177163, 0,
            0.194693, 0.578871, 0.226436, 0, 0, 0.370047, 0.130563, 0.32019, 0.179199, 0]), atol: 2e-5, rtol: 1e-4)
    }

    /// Which keys each mask lets a decoder query see, and that the head-averaged weights are a simplex.
    func testAttentionMasks() {
        let store = ParameterStore()
        var rng = PhiloxGenerator(seed: 13, stream: 1)
        let attention = InterpretableMultiHeadAttention(store, "att", heads: 3, modelSize: 6, rng: &rng)
        let (l, h) = (4, 3)
        let g = Graph(training: false, recording: false)
        let x = g.constant(randomTensor([2, l + h, 6], seed: 1))
        let q = g.slice(x, axis: 1, range: l..<(l + h))
        for (mask, lastVisible) in [(InterpretableMultiHeadAttention.Mask.causalExcludingSelf, { (i: Int) in l + i - 1 }),
                                    (.causal, { (i: Int) in l + i }), (.none, { (_: Int) in l + h - 1 })] {
            let w = attention(q: q, k: x, v: x, mask: mask, store.bind(g)).weights.value
            XCTAssertEqual(w.shape, [2, h, l + h])
            for b in 0..<2 {
                for i in 0..<h {
                    var sum: Float = 0
                    for j in 0..<(l + h) {
                        sum += w[b, i, j]
                        if j > lastVisible(i) { XCTAssertEqual(w[b, i, j], 0, "\(mask): query \(i) sees key \(j)") }
                        else { XCTAssertGreaterThan(w[b, i, j], 0, "\(mask): query \(i) misses key \(j)") }
                    }
                    XCTAssertEqual(sum, 1, accuracy: 1e-5)
                }
            }
        }
    }

    func testAttentionGradients() {
        let store = ParameterStore()
        var rng = PhiloxGenerator(seed: 14, stream: 1)
        let two = InterpretableMultiHeadAttention(store, "a", heads: 2, modelSize: 4, dropout: 0.2, rng: &rng)
        for mask in [InterpretableMultiHeadAttention.Mask.causalExcludingSelf, .causal, .none] {
            // Decoder queries (a slice of the keys' sequence) so gradients from q, k and v meet in one input.
            assertModuleGradientsMatch(store, inputs: [randomTensor([2, 5, 4], seed: 1)],
                                       parameters: parameterNames(store).filter { $0.hasPrefix("a.") }) { g, x, p in
                let (out, weights) = two(q: g.slice(x[0], axis: 1, range: 3..<5), k: x[0], v: x[0], mask: mask, p)
                return g.concat([g.reshape(out, to: [-1]), g.reshape(weights, to: [-1])], axis: 0)
            }
        }
        // One head (no averaging), distinct q, k, v inputs.
        let one = InterpretableMultiHeadAttention(store, "b", heads: 1, modelSize: 3, rng: &rng)
        assertModuleGradientsMatch(store, inputs: [randomTensor([2, 2, 3], seed: 2), randomTensor([2, 4, 3], seed: 3),
                                                   randomTensor([2, 4, 3], seed: 4)],
                                   parameters: parameterNames(store).filter { $0.hasPrefix("b.") }) { g, x, p in
            let (out, weights) = one(q: x[0], k: x[1], v: x[2], mask: .causalExcludingSelf, p)
            return g.concat([g.reshape(out, to: [-1]), g.reshape(weights, to: [-1])], axis: 0)
        }
    }

    // MARK: Stacked LSTM
}

// MARK: - Golden generator
//
// The pytorch-forecasting goldens here and in TFTTests come from Fixtures/tft_golden.py (run it as
// `python3 Tests/LayersTests/Fixtures/tft_golden.py grn|grn_same|vsn_temporal|vsn_static|vsn_single|attention|tft|bench_count`
// with pytorch-forecasting installed).
