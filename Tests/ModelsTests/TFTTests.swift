import CGMSchema
import CGMTensor
import Foundation
import Layers
@testable import Models
import Optim
import _TestSupport
import XCTest

/// A tiny config with every input kind: two past reals, two future reals ("tod" in both, so its
/// prescaler is shared), a static categorical and a static real.
private func tinyConfig(dropout: Float = 0.1) -> TFTConfig {
    TFTConfig(pastNames: ["cgm", "tod"], futureNames: ["tod", "meal"],
              statics: [.categorical("site", cardinality: 3), .real("age")],
              spec: TFTSpec(hidden: 4, heads: 2, lstmLayers: 2, dropout: Double(dropout), hiddenContinuous: 3))
}

final class TFTTests: XCTestCase {
    /// The whole network against pytorch-forecasting's `TemporalFusionTransformer.forward` composed from
    /// its sub-modules and `nn.LSTM` in float64 (see TFTBlocksTests for the fill and input formulas),
    /// eval mode, L = 4, H = 2, hidden 4, 2 heads, 2 LSTM layers, hidden_continuous 3.
    func testMatchesPytorchForecastingForward() {
        let network = TFTNetwork(tinyConfig(), seed: 0)
        XCTAssertEqual(network.store.entries.count, 192, "pytorch-forecasting registers 192 parameter tensors")
        XCTAssertEqual(network.store.count, 1968, "pytorch-forecasting has 1968 parameters for this config")
        fillLikeGolden(network.store)
        let g = Graph(training: false, recording: false)
        let out = network(past: g.constant(goldenInput([2, 4, 2], 0.35)), future: g.constant(goldenInput([2, 2, 2], 0.55)),
                          statics: g.constant(Tensor(shape: [2, 2], scalars: [2, 0.4, 0, -0.6])), network.store.bind(g))
        assertClose(out.prediction.value, Tensor(shape: [2, 2, 3], scalars: [
            0.095408, -0.02248, -0.314781, 0.088639, -0.018307, -0.315876, 0.086582, -0.016481, -0.31726,
            0.059502, 0.013981, -0.347583]), atol: 3e-5, rtol: 1e-4)
        assertClose(out.staticWeights.value, Tensor(shape: [2, 2], scalars: [0.644189, 0.355811, 0.401857, 0.598143]),
                    atol: 3e-5, rtol: 1e-4)
        assertClose(out.encoderWeights.value, Tensor(shape: [2, 4, 2], scalars: [
            0.637085, 0.362915, 0.637079, 0.362921, 0.362529, 0.637471, 0.362529, 0.637471, 0.362529, 0.637471,
            0.362531, 0.637469, 0.637084, 0.362916, 0.637085, 0.362915]), atol: 3e-5, rtol: 1e-4)
        assertClose(out.decoderWeights.value, Tensor(shape: [2, 2, 2], scalars: [
            0.617651, 0.382349, 0.413165, 0.586835, 0.413165, 0.586835, 0.413169, 0.586831]), atol: 3e-5, rtol: 1e-4)
        assertClose(out.attention.value, Tensor(shape: [2, 2, 6], scalars: [
            0.249306, 0.250072, 0.25023, 0.250392, 0, 0, 0.199185, 0.199801, 0.199927, 0.200058, 0.20103, 0,
            0.24927, 0.249382, 0.250576, 0.250773, 0, 0, 0.199319, 0.199417, 0.200232, 0.200369, 0.200664, 0]),
            atol: 3e-5, rtol: 1e-4)
    }

    /// pytorch-forecasting's names, shared prescalers and the parameter count of the benchmark setup
    /// (bench-reference `make_tft`: 10 encoder reals, 4 known reals, a 4-class static categorical,
    /// hidden 128, 8 heads, 4 LSTM layers, hidden_continuous 8): 1,655,321 as counted from the
    /// pytorch-forecasting modules.
    func testParameterNamesAndBenchmarkParameterCount() {
        let names = Set(TFTNetwork(tinyConfig(), seed: 0).store.entries.map(\.name))
        for expected in ["input_embeddings.embeddings.site.weight", "prescalers.tod.weight", "prescalers.age.bias",
                         "static_variable_selection.single_variable_grns.site.mask",
                         "encoder_variable_selection.flattened_grn.context.weight",
                         "decoder_variable_selection.single_variable_grns.meal.fc1.weight",
                         "static_context_initial_cell_lstm.gate_norm.glu.fc.bias", "lstm_decoder.weight_hh_l1",
                         "post_lstm_gate_encoder.fc.weight", "post_lstm_add_norm_encoder.norm.weight",
                         "static_enrichment.context.weight", "multihead_attn.k_layers.1.bias", "multihead_attn.w_h.weight",
                         "post_attn_gate_norm.add_norm.norm.bias", "pos_wise_ff.fc2.weight", "pre_output_gate_norm.glu.fc.weight",
                         "output_layer.bias"] {
            XCTAssertTrue(names.contains(expected), "missing \(expected)")
        }
        XCTAssertFalse(names.contains { $0.contains("variable_selection.prescalers") }, "prescalers must be the shared ones")
        let known = ["tod_sin", "tod_cos", "dow_sin", "dow_cos"]
        let bench = TFTConfig(pastNames: known + ["glucose", "insulin", "carbs", "heart_rate", "steps", "basal"],
                              futureNames: known, statics: [.categorical("subject", cardinality: 4)])
        XCTAssertEqual(TFTModel(bench, seed: 0).store.count, 1_655_321)
    }

    func testEmbeddingSizeRule() {
        XCTAssertEqual(StaticInput.embeddingSize(cardinality: 2, width: 128), 1)
        XCTAssertEqual(StaticInput.embeddingSize(cardinality: 3, width: 128), 3)
        XCTAssertEqual(StaticInput.embeddingSize(cardinality: 4, width: 128), 3)
        XCTAssertEqual(StaticInput.embeddingSize(cardinality: 742, width: 128), 65)   // AI-READI participants + unknown
        XCTAssertEqual(StaticInput.embeddingSize(cardinality: 100_000, width: 128), 100)
        XCTAssertEqual(StaticInput.embeddingSize(cardinality: 742, width: 16), 16)
    }

    func testConfigValidation() {
        XCTAssertEqual(tinyConfig().validationErrors(), [])
        var bad = tinyConfig()
        bad.heads = 9
        bad.pastNames = ["a", "a.b", "a"]
        bad.statics = [.categorical("s", cardinality: 0)]
        bad.spec.quantiles = []
        let errors = bad.validationErrors().joined(separator: "\n")
        for fragment in ["heads = 9", "past feature names repeat", "'a.b'", "cardinality 0", "quantiles []"] {
            XCTAssertTrue(errors.contains(fragment), "no error mentioning \(fragment) in:\n\(errors)")
        }
    }

    /// Shapes, simplex weights, the causal pattern of the attention, and the mg/dL forecast.
    func testForwardShapesInterpretationAndForecast() {
        let config = tinyConfig()
        let model = TFTModel(config, seed: 3)
        let batch = tinyBatch(config)
        let (b, l, h) = (3, 5, 3)
        let g = Graph(training: false, recording: false)
        let out = model.outputs(batch, g)
        XCTAssertEqual(out.prediction.shape, [b, h, 3])
        XCTAssertTrue(out.prediction.value.isFinite)
        let meaning = model.interpret(batch, g)
        XCTAssertEqual(meaning.staticWeights.shape, [b, 2])
        XCTAssertEqual(meaning.encoderWeights.shape, [b, l, 2])
        XCTAssertEqual(meaning.decoderWeights.shape, [b, h, 2])
        XCTAssertEqual(meaning.attention.shape, [b, h, l + h])
        XCTAssertEqual(meaning.pastNames, ["cgm", "tod"])
        for weights in [meaning.staticWeights, meaning.encoderWeights, meaning.decoderWeights, meaning.attention] {
            let n = weights.shape.last!
            for row in 0..<(weights.count / n) {
                XCTAssertEqual((0..<n).reduce(Float(0)) { $0 + weights.pointer[row * n + $1] }, 1, accuracy: 1e-5)
            }
        }
        for batchRow in 0..<b {
            for i in 0..<h {
                for j in (l + i)..<(l + h) { XCTAssertEqual(meaning.attention[batchRow, i, j], 0, "step \(i) attends key \(j)") }
                XCTAssertGreaterThan(meaning.attention[batchRow, i, 0], 0)
            }
        }
        XCTAssertEqual(meaning.meanEncoderImportance.reduce(0, +), 1, accuracy: 1e-5)

        let forecast = model.forecast(batch, Graph(training: false, recording: false))
        XCTAssertEqual(forecast.point.shape, [b, h])
        XCTAssertEqual(forecast.quantiles?.shape, [b, h, 3])
        XCTAssertEqual(forecast.quantileLevels, [0.1, 0.5, 0.9])
        let scaled = out.prediction.value
        for k in 0..<(b * h) {
            XCTAssertEqual(forecast.point.pointer[k], FeatureCatalog.unscaleCGM(scaled.pointer[k * 3 + 1]), accuracy: 1e-3)
            XCTAssertEqual(forecast.quantiles!.pointer[k * 3], FeatureCatalog.unscaleCGM(scaled.pointer[k * 3]), accuracy: 1e-3)
        }
    }

    /// The loss is pytorch-forecasting's QuantileLoss of the eq. 11-scaled targets: 2·mean pinball.
    func testLossIsPytorchForecastingQuantileLossOfScaledTargets() {
        let config = tinyConfig()
        let model = TFTModel(config, seed: 4)
        let batch = tinyBatch(config)
        let g = Graph(training: false, recording: false)
        let loss = model.loss(batch, g).value.scalar
        let pred = model.outputs(batch, g).prediction.value
        var sum = 0.0
        for (k, y) in batch.target.enumerated() {
            for (j, q) in config.quantiles.enumerated() {
                let e = Double(FeatureCatalog.scaleCGM(y) - pred.pointer[k * 3 + j])
                sum += max(Double(q) * e, (Double(q) - 1) * e)
            }
        }
        XCTAssertEqual(Double(loss), 2 * sum / Double(batch.target.count * 3), accuracy: 1e-5)
    }

    /// Finite differences through the whole network (dropout on) for a few elements of parameters in
    /// every stage and of the inputs, with gradients from the prediction and the interpretation outputs.
    func testWholeModelGradientCheck() {
        // Three variables per selection network: with two, the selection logits pass a LayerNorm over two
        // values, which is ±1 almost everywhere, so nothing before it gets a usable gradient.
        let config = TFTConfig(pastNames: ["cgm", "tod", "hr"], futureNames: ["tod", "meal", "steps"],
                               statics: [.categorical("site", cardinality: 3), .real("age"), .real("bmi")],
                               spec: TFTSpec(hidden: 4, heads: 2, lstmLayers: 2, dropout: 0.2, hiddenContinuous: 3))
        let network = TFTNetwork(config, seed: 6)
        let statics = Tensor(shape: [2, 3], scalars: [1, 0.3, -0.2, 2, -0.8, 0.9])
        let checked = ["input_embeddings.embeddings.site.weight", "prescalers.tod.weight", "prescalers.bmi.bias",
                       "static_variable_selection.flattened_grn.fc1.weight",
                       "encoder_variable_selection.single_variable_grns.cgm.fc1.weight",
                       "decoder_variable_selection.flattened_grn.context.weight",
                       "static_context_initial_hidden_lstm.fc2.weight", "static_context_initial_cell_lstm.gate_norm.glu.fc.bias",
                       "lstm_encoder.weight_hh_l0", "lstm_decoder.weight_ih_l1", "post_lstm_gate_encoder.fc.weight",
                       "static_enrichment.context.weight", "multihead_attn.q_layers.1.weight", "multihead_attn.v_layer.bias",
                       "post_attn_gate_norm.glu.fc.weight", "pos_wise_ff.fc1.bias", "pre_output_gate_norm.add_norm.norm.weight",
                       "output_layer.weight"]
        let inputs = [randomTensor([2, 4, 3], seed: 1), randomTensor([2, 2, 3], seed: 2)]
        // The prediction alone (the interpretation outputs' direct gradients would dwarf small errors in
        // the paths through the selection weights into the prediction).
        assertModuleGradientsMatch(network.store, inputs: inputs, parameters: checked, maxElements: 4) { g, x, p in
            network(past: x[0], future: x[1], statics: g.constant(statics), p).prediction
        }
        // The interpretation outputs.
        assertModuleGradientsMatch(network.store, inputs: inputs, parameters: Array(checked.prefix(13)), maxElements: 2) { g, x, p in
            let out = network(past: x[0], future: x[1], statics: g.constant(statics), p)
            return g.concat([out.attention, out.encoderWeights, out.decoderWeights, out.staticWeights].map { g.reshape($0, to: [-1]) },
                            axis: 0)
        }
    }

    /// No statics (zero static embedding) and no known-future features (zero decoder input) still train;
    /// a single static real takes the VSN's one-variable path.
    func testWithoutStaticsOrFutureFeatures() {
        for config in [TFTConfig(pastReals: 2, futureReals: 0,
                                 spec: TFTSpec(hidden: 4, heads: 1, lstmLayers: 1, hiddenContinuous: 2)),
                       TFTConfig(pastReals: 1, futureReals: 1, staticReals: 1,
                                 spec: TFTSpec(hidden: 4, heads: 2, lstmLayers: 1, hiddenContinuous: 2))] {
            let model = TFTModel(config, seed: 7)
            let batch = tinyBatch(config, count: 2, history: 3, horizon: 2)
            let g = Graph(training: true, random: RandomContext(seed: 1, sampleIndices: batch.indices))
            let out = model.outputs(batch, g)
            XCTAssertEqual(out.prediction.shape, [2, 2, 3])
            XCTAssertEqual(out.decoderWeights.shape, [2, 2, config.futureNames.count])
            XCTAssertEqual(out.staticWeights.shape, [2, config.statics.count])
            let loss = g.quantileLoss(out.prediction, g.constant(batch.scaledTarget), quantiles: config.quantiles)
            model.store.zeroGradients()
            g.backward(loss)
            let gradient = model.store.gradient(model.store.id(named: "lstm_encoder.weight_ih_l0")!)
            XCTAssertGreaterThan(gradient.scalars.map(abs).max()!, 0)
            XCTAssertTrue(loss.value.isFinite)
        }
    }

    /// Layer ℓ > 0 reads layer ℓ − 1's output; final states per layer; gradients through the stack.
    func testLSTMStack() {
        let store = ParameterStore()
        var rng = PhiloxGenerator(seed: 15, stream: 1)
        let stack = TFTLSTMStack(store, "lstm", inputSize: 3, hiddenSize: 2, layers: 2, dropout: 0.3, rng: &rng)
        XCTAssertEqual(parameterNames(store), ["lstm.weight_ih_l0", "lstm.weight_hh_l0", "lstm.bias_ih_l0", "lstm.bias_hh_l0",
                                               "lstm.weight_ih_l1", "lstm.weight_hh_l1", "lstm.bias_ih_l1", "lstm.bias_hh_l1"])
        XCTAssertEqual(store.entry(store.id(named: "lstm.weight_ih_l1")!).shape, [8, 2])
        let x = randomTensor([2, 4, 3], seed: 1)
        let g = Graph(training: false, recording: false)
        let p = store.bind(g)
        let r = stack(g.constant(x), p)
        let w = stack.layers
        let first = g.lstm(g.constant(x), h0: nil, c0: nil, weightIH: p[w[0].weightIH], weightHH: p[w[0].weightHH],
                           biasIH: p[w[0].biasIH], biasHH: p[w[0].biasHH])
        let second = g.lstm(first.output, h0: nil, c0: nil, weightIH: p[w[1].weightIH], weightHH: p[w[1].weightHH],
                            biasIH: p[w[1].biasIH], biasHH: p[w[1].biasHH])
        XCTAssertEqual(r.output.value, second.output.value)
        XCTAssertEqual(r.h[0].value, first.hT.value)
        XCTAssertEqual(r.c[1].value, second.cT.value)
        assertModuleGradientsMatch(store, inputs: [x, randomTensor([2, 2], seed: 2), randomTensor([2, 2], seed: 3)]) { g, v, p in
            let out = stack(v[0], h0: [v[1], v[1]], c0: [v[2], v[2]], p)
            return g.concat([g.reshape(out.output, to: [-1]), out.h[0], out.c[1]].map { g.reshape($0, to: [-1]) }, axis: 0)
        }
    }
}
