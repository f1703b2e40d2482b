// SSM-CGM (SSMCGMNetwork / SSMCGMModel): shapes and simplex weights, the mg/dL quantile forecast and the
// pytorch-forecasting QuantileLoss, causality (targets never enter; the stack and the head are causal in
// time), finite differences through the whole network, a short fit, the Table 4 defaults, and the
// hidden-attention maps `interpret` returns. (That hidden attention reproduces a block's output,
// z = Σ K x, is Mamba2Tests.testHiddenAttentionReproducesBlockOutput.)

import CGMSchema
import CGMTensor
import Foundation
import Layers
@testable import Models
import Optim
import _TestSupport
import XCTest

/// A tiny config with every input kind: three past reals, three future reals ("tod" in both, so its
/// prescaler is shared), a static categorical and two static reals; 4 stack heads, 2 light heads.
private func tinyConfig(dropout: Float = 0.1, variant: Mamba2Variant = .mes) -> SSMCGMConfig {
    SSMCGMConfig(pastNames: ["cgm", "tod", "hr"], futureNames: ["tod", "meal", "steps"],
                 statics: [.categorical("site", cardinality: 3), .real("age"), .real("bmi")],
                 spec: SSMCGMSpec(dModel: 8, depth: 2, dState: 4, dConv: 3, expand: 2, headdim: 4, ngroups: 1, chunk: 3,
                                  lightExpand: 1, variant: variant, dropout: Double(dropout), hiddenContinuous: 3))
}

final class SSMCGMTests: XCTestCase {
    /// Shapes, simplex selection weights, the mg/dL forecast (median = point), the loss = 2·mean pinball of
    /// the scaled targets (pytorch-forecasting QuantileLoss), for both Mamba variants.
    func testForwardShapesForecastAndLoss() {
        for variant in Mamba2Variant.allCases {
            let config = tinyConfig(variant: variant), (b, l, h) = (3, 5, 3)
            let (model, batch) = (SSMCGMModel(config, seed: 3), tinyBatch(config, count: b, history: l, horizon: h))
            let g = Graph(training: false, recording: false)
            let out = model.outputs(batch, g)
            XCTAssertEqual(out.prediction.shape, [b, h, 3])
            XCTAssertEqual(out.stackOutput.shape, [b, l + h, 8])
            XCTAssertTrue(out.prediction.value.isFinite)
            for weights in [out.staticWeights.value, out.encoderWeights.value, out.decoderWeights.value] {
                let n = weights.shape.last!
                XCTAssertEqual(n, 3)
                for row in 0..<(weights.count / n) {
                    XCTAssertEqual((0..<n).reduce(Float(0)) { $0 + weights.pointer[row * n + $1] }, 1, accuracy: 1e-5)
                }
            }
            let forecast = model.forecast(batch, Graph(training: false, recording: false))
            XCTAssertEqual(forecast.point.shape, [b, h])
            XCTAssertEqual(forecast.quantileLevels, [0.1, 0.5, 0.9])
            let scaled = out.prediction.value
            for k in 0..<(b * h) {
                XCTAssertEqual(forecast.point.pointer[k], FeatureCatalog.unscaleCGM(scaled.pointer[k * 3 + 1]), accuracy: 1e-3)
                XCTAssertEqual(forecast.quantiles!.pointer[k * 3 + 2], FeatureCatalog.unscaleCGM(scaled.pointer[k * 3 + 2]),
                               accuracy: 1e-3)
            }
            var sum = 0.0
            for (k, y) in batch.target.enumerated() {
                for (j, q) in config.quantiles.enumerated() {
                    let e = Double(FeatureCatalog.scaleCGM(y) - scaled.pointer[k * 3 + j])
                    sum += max(Double(q) * e, (Double(q) - 1) * e)
                }
            }
            let loss = model.loss(batch, Graph(training: false, recording: false)).value.scalar
            XCTAssertEqual(Double(loss), 2 * sum / Double(batch.target.count * 3), accuracy: 1e-5, "\(variant)")
        }
    }

    /// Targets never enter the forward pass; a future covariate at decoder step i changes nothing at
    /// earlier steps (stack rows < L + i, predictions < i); a past input at step t changes nothing at
    /// stack rows < t (and does change row t) — with dropout active (same random keys).
    func testCausality() {
        let config = tinyConfig()
        let model = SSMCGMModel(config, seed: 4)
        let (l, h, d) = (5, 3, 8)
        let batch = tinyBatch(config)
        func run(_ batch: Batch) -> SSMCGMOutput {
            model.outputs(batch, Graph(training: true, recording: false, random: RandomContext(seed: 2, sampleIndices: batch.indices)))
        }
        func rows(_ t: Tensor, _ range: Range<Int>, width: Int) -> [Float] {   // (B, T, width) rows `range` of every sample
            let steps = t.shape[1]
            return (0..<t.shape[0]).flatMap { b in range.flatMap { r in (0..<width).map { t.pointer[(b * steps + r) * width + $0] } } }
        }
        let base = run(batch)

        var changedTarget = batch
        changedTarget.target = changedTarget.target.map { $0 + 37 }
        let targetRun = run(changedTarget)
        XCTAssertEqual(targetRun.prediction.value, base.prediction.value)
        XCTAssertEqual(targetRun.stackOutput.value, base.stackOutput.value)
        XCTAssertEqual(targetRun.enriched.value, base.enriched.value)

        for i in 0..<h {   // future covariates of decoder step i, every sample and feature
            var changed = batch
            for b in 0..<3 { for f in 0..<3 { changed.future[(b * h + i) * 3 + f] += 0.8 } }
            let o = run(changed)
            XCTAssertEqual(rows(o.stackOutput.value, 0..<(l + i), width: d), rows(base.stackOutput.value, 0..<(l + i), width: d),
                           "future step \(i) changed earlier stack rows")
            XCTAssertEqual(rows(o.prediction.value, 0..<i, width: 3), rows(base.prediction.value, 0..<i, width: 3),
                           "future step \(i) changed earlier predictions")
            XCTAssertNotEqual(rows(o.prediction.value, i..<(i + 1), width: 3), rows(base.prediction.value, i..<(i + 1), width: 3))
        }
        for t in 0..<l {   // past covariates at step t
            var changed = batch
            for b in 0..<3 { for f in 0..<3 { changed.past[(b * l + t) * 3 + f] += 0.8 } }
            let o = run(changed)
            XCTAssertEqual(rows(o.stackOutput.value, 0..<t, width: d), rows(base.stackOutput.value, 0..<t, width: d),
                           "past step \(t) changed earlier stack rows")
            XCTAssertEqual(rows(o.enriched.value, 0..<t, width: d), rows(base.enriched.value, 0..<t, width: d))
            XCTAssertNotEqual(rows(o.stackOutput.value, t..<(t + 1), width: d), rows(base.stackOutput.value, t..<(t + 1), width: d))
            XCTAssertNotEqual(o.prediction.value, base.prediction.value, "past step \(t) must reach the forecast")
        }
    }

    /// Finite differences through the whole network (dropout on, L + H = 7 not a multiple of chunk 3) for
    /// parameters of every stage and the inputs.
    func testWholeModelGradientCheck() {
        let network = SSMCGMNetwork(tinyConfig(dropout: 0.2), seed: 6)
        let statics = Tensor(shape: [2, 3], scalars: [1, 0.3, -0.2, 2, -0.8, 0.9])
        let checked = ["input_embeddings.embeddings.site.weight", "prescalers.tod.weight", "prescalers.bmi.bias",
                       "static_variable_selection.flattened_grn.fc1.weight",
                       "encoder_variable_selection.single_variable_grns.cgm.fc1.weight",
                       "decoder_variable_selection.flattened_grn.context.weight",
                       "static_context_sequence.fc2.weight", "static_context_enrichment.gate_norm.glu.fc.bias",
                       "mamba_stack.layers.0.norm.weight", "mamba_stack.layers.0.mixer.in_proj.weight",
                       "mamba_stack.layers.1.mixer.conv1d.weight", "mamba_stack.layers.1.mixer.A_log",
                       "mamba_stack.layers.0.mixer.dt_bias", "mamba_stack.layers.1.mixer.B_scale",
                       "mamba_stack.layers.0.mixer.init_states", "mamba_stack.layers.1.mixer.out_proj.weight",
                       "mamba_stack.norm_f.bias", "post_mamba_gate.fc.weight", "static_enrichment.context.weight",
                       "light_mamba.in_proj.weight", "light_mamba.D", "light_mamba.norm.weight",
                       "post_light_mamba_gate_norm.glu.fc.weight", "pos_wise_ff.fc1.bias",
                       "pre_output_gate_norm.add_norm.norm.weight", "output_layer.weight"]
        let inputs = [randomTensor([2, 4, 3], seed: 1), randomTensor([2, 3, 3], seed: 2)]
        assertModuleGradientsMatch(network.store, inputs: inputs, parameters: checked, maxElements: 4) { g, x, p in
            network(past: x[0], future: x[1], statics: g.constant(statics), p).prediction
        }
    }

    /// Without known-future features (or statics) the decoder steps read the learned `decoder_query`:
    /// its gradient matches finite differences, and every past step reaches every horizon step's forecast
    /// (a zero decoder input would close every block's gate SiLU(z) there and cut the history off).
    func testNoFutureFeaturesDecoderQueryReadsHistory() {
        let config = SSMCGMConfig(pastNames: ["cgm", "hr"], futureNames: [],
                                  spec: SSMCGMSpec(dModel: 8, depth: 2, dState: 4, dConv: 3, expand: 2, headdim: 4,
                                                   chunk: 3, dropout: 0, hiddenContinuous: 3))
        let network = SSMCGMNetwork(config, seed: 8)
        XCTAssertNotNil(network.decoderQuery)
        XCTAssertNil(SSMCGMNetwork(tinyConfig(), seed: 8).decoderQuery, "only without future features")
        let (b, l, h) = (2, 5, 3)
        let past = randomTensor([b, l, 2], seed: 3)
        func predict(_ x: Tensor) -> Tensor {
            let g = Graph(training: false, recording: false)
            let p = network.store.bind(g)
            return network(past: g.constant(x), future: g.constant(Tensor(zeros: [b, h, 0])),
                           statics: g.constant(Tensor(zeros: [b, 0])), p).prediction.value
        }
        let base = predict(past)
        for t in 0..<l {
            var scalars = past.scalars
            for s in 0..<b { scalars[(s * l + t) * 2] += 0.8 }
            let moved = predict(Tensor(shape: past.shape, scalars: scalars))
            for i in 0..<h {   // sample 0's quantiles at horizon step i
                let range = (i * 3)..<(i * 3 + 3)
                let delta = range.map { abs(moved.pointer[$0] - base.pointer[$0]) }.max()!
                // Exactly 0 with a zero decoder input (bit-identical path); small but nonzero at random init.
                XCTAssertGreaterThan(delta, 0, "past step \(t) does not reach horizon step \(i)")
            }
        }
        assertModuleGradientsMatch(network.store, inputs: [past], parameters: ["decoder_query", "mamba_stack.layers.1.mixer.in_proj.weight"],
                                   maxElements: 8) { g, x, p in
            network(past: x[0], future: g.constant(Tensor(zeros: [b, h, 0])), statics: g.constant(Tensor(zeros: [b, 0])), p).prediction
        }
    }

    /// Table 4 defaults: d_model 128, depth 4, d_state 128, d_conv 8, expand 4, headdim 64 → 8 heads,
    /// ngroups 1, chunk 128, dropout 0.2, MES, learnable initial states, dt limit (1e-3, 10); parameter names.
    func testPaperDefaultsAndParameterNames() {
        let config = SSMCGMConfig(pastNames: ["cgm_scaled", "hour_sin"], futureNames: ["hour_sin"],
                                  statics: [.categorical("subject_id", cardinality: 5), .real("age")])
        XCTAssertEqual([config.dModel, config.depth, config.dState, config.dConv, config.expand, config.headdim,
                        config.ngroups, config.chunk], [128, 4, 128, 8, 4, 64, 1, 128])
        XCTAssertEqual(config.dropout, 0.2)
        XCTAssertEqual(config.stackMamba, Mamba2Config.ssmCGM(dModel: 128, variant: .mes))
        XCTAssertEqual(config.stackMamba.nheads, 8)
        XCTAssertEqual(config.lightMamba.nheads, 2)
        let network = SSMCGMNetwork(config, seed: 0)
        let names = Set(network.store.entries.map(\.name))
        for name in ["mamba_stack.layers.3.mixer.B_scale", "mamba_stack.layers.0.norm.bias", "mamba_stack.norm_f.weight",
                     "light_mamba.init_states", "static_context_sequence.fc1.weight", "post_mamba_add_norm.norm.weight"] {
            XCTAssertTrue(names.contains(name), name)
        }
        XCTAssertFalse(names.contains { $0.hasPrefix("lstm") || $0.hasPrefix("multihead_attn") })
        // One stack block: in_proj 128·(2·512 + 2·128 + 8), conv 768·8 + 768, dt_bias/A_log/D/B_scale 4·8,
        // norm 512, out_proj 512·128, init_states 8·64·128, pre-LayerNorm 2·128.
        let block = 128 * 1288 + 768 * 9 + 32 + 512 + 512 * 128 + 8 * 64 * 128 + 256
        let stack = network.store.entries.filter { $0.name.hasPrefix("mamba_stack.layers.0.") }.reduce(0) { $0 + $1.count }
        XCTAssertEqual(stack, block)
        let invalid = SSMCGMConfig(pastNames: ["a"], futureNames: [],
                                   spec: SSMCGMSpec(dModel: 8, headdim: 3, ngroups: 2)).validationErrors()
        XCTAssertTrue(invalid.contains { $0.contains("headdim must divide expand · d_model = 32 (got 3)") }, "\(invalid)")
        XCTAssertTrue(invalid.contains { $0.contains("ngroups must be 1") }, "\(invalid)")
    }

    /// `interpret`: selection weights and, per stack layer and for the light Mamba, hidden attention over
    /// the L + H steps whose rows are distributions over earlier steps (eqs. 18, 24, 25).
    func testInterpretationHiddenAttention() {
        let config = tinyConfig()
        let model = SSMCGMModel(config, seed: 8)
        let batch = tinyBatch(config, count: 2)
        let meaning = model.interpret(batch)
        XCTAssertEqual(meaning.stackAttention.count, 2)
        XCTAssertEqual(meaning.pastNames, ["cgm", "tod", "hr"])
        let t = 8
        for (maps, heads) in zip(meaning.stackAttention + [meaning.lightAttention], [4, 4, 2]) {
            XCTAssertEqual(maps.alpha.shape, [2, heads, t, t])
            XCTAssertEqual(maps.alphaMean.shape, [2, t, t])
            for row in 0..<(2 * t) {
                let (b, i) = (row / t, row % t)
                var sum: Float = 0
                for j in 0..<t {
                    let a = maps.alphaMean[b, i, j]
                    if j > i { XCTAssertEqual(a, 0) }
                    sum += a
                }
                XCTAssertEqual(sum, 1, accuracy: 1e-5)
            }
        }
    }
}
