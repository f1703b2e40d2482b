// GluFormer's residual head (GluFormerRelativeBias): the op adds r[k − t + 460] and its gradients match central
// differences (logits and bias; padding rows get nothing); an untrained residual model decodes persistence (the
// median of the symmetric prior around the current token), on the full and the KV-cache path alike.

import CGMSchema
import CGMTensor
import Foundation
import Layers
@testable import Models
import _TestSupport
import XCTest

final class GluFormerResidualTests: XCTestCase {
    func testRelativeBiasForwardAndGradients() {
        let v = GlucoseTokenizer.glucoseVocabulary, tokens = [0, 230, GlucoseTokenizer.padding, 460]
        let logits = randomTensor([2, 2, v], seed: 1), bias = randomTensor([GluFormerRelativeBias.offsets], seed: 2)
        let g = Graph(training: false, recording: false)
        let out = GluFormerRelativeBias.apply(g.constant(logits), tokens: tokens, bias: g.constant(bias), g).value
        for (p, t) in tokens.enumerated() {
            for k in [0, 7, 230, 460] {
                let expected = logits[flat: p * v + k] + (t < v ? bias[flat: k - t + 460] : 0)
                XCTAssertEqual(out[flat: p * v + k], expected, "position \(p), token \(k)")
            }
        }
        // A weighted sum makes every output element matter; checked at a few hundred elements of each input.
        let weights = randomTensor([2, 2, v], seed: 3)
        assertGradientsMatch([logits, bias], epsilon: 1e-2, atol: 1e-3, rtol: 1e-3) { g, x in
            g.sum(g.mul(GluFormerRelativeBias.apply(x[0], tokens: tokens, bias: x[1], g), g.constant(weights)))
        }
    }

    func testUntrainedResidualModelContinuesTheLastValue() {
        var config = GluFormerConfig(spec: GluFormerSpec(dModel: 16, heads: 2, layers: 2, feedForward: 24, dropout: 0),
                                     maxLength: 40)
        config.residual = true
        let net = GluFormerNetwork(config, seed: 3)
        let contexts = [[100, 104, 109, 112], [60, 58, 57]]
        for cache in [true, false] {
            let out = GluFormerGenerator(network: net).generate(contexts: contexts, steps: 6, decoding: .median, useCache: cache)
            XCTAssertEqual(out.tokens, [[Int]](repeating: [], count: 2).enumerated().map { i, _ in
                [Int](repeating: contexts[i].last!, count: 6) }, "cache \(cache)")
        }
        var plain = config
        plain.residual = false
        let reference = GluFormerNetwork(plain, seed: 3)
        XCTAssertNil(reference.store.id(named: "relative_bias"))
        XCTAssertEqual(net.store.entries.count, reference.store.entries.count + 1)
        let blockWeight = "blocks.0.linear1.weight"
        XCTAssertEqual(net.store.value(net.store.id(named: blockWeight)!).scalars,
                       reference.store.value(reference.store.id(named: blockWeight)!).scalars, "same draws for the rest")
    }
}
