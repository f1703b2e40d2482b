// GluFormer network: KV-cache decoding equals full recomputation (logits and chosen tokens), the causal mask
// leaks nothing from later tokens, left padding is invisible, finite-difference gradients of the next-token loss
// for every kind of parameter (post- and pre-LN, ReLU and GELU), deterministic top-k sampling, imputation.

import CGMSchema
import CGMTensor
import Layers
import _TestSupport
import XCTest
@testable import Models

final class GluFormerTests: XCTestCase {
    func tiny(_ norm: GluFormerConfig.Norm = .post, _ activation: GluFormerConfig.Activation = .relu, dropout: Float = 0,
              maxLength: Int = 40, layers: Int = 2) -> GluFormerNetwork {
        let spec = GluFormerSpec(dModel: 16, heads: 2, layers: layers, feedForward: 24, dropout: Double(dropout), norm: norm,
                                 activation: activation, residual: false)
        return GluFormerNetwork(GluFormerConfig(spec: spec, maxLength: maxLength), seed: 3)
    }

    func randomTokens(_ n: Int, seed: UInt64) -> [Int] {
        var rng = PhiloxGenerator(seed: seed, stream: 2)
        var g = 120.0
        return (0 ..< n).map { _ in
            g = min(max(g + Double(rng.nextUniform(-6, 6)), 50), 400)
            return GlucoseTokenizer.token(Float(g))
        }
    }

    /// Logits (S, 461) of one row, full forward.
    func fullLogits(_ net: GluFormerNetwork, _ tokens: [Int]) -> [Float] {
        let g = Graph(training: false, recording: false)
        let b = GluFormerTokenBatch(rows: [tokens])
        return net.logits(tokens: b.tokens, positions: b.positions, padding: b.padding, batch: 1, length: b.length,
                          net.store.bind(g)).value.scalars
    }

    func testKVCacheLogitsEqualFullRecomputation() {
        for norm in GluFormerConfig.Norm.allCases {
            let net = tiny(norm, .gelu, maxLength: 24)
            // Rows of different lengths (left padding), 30 steps: the window restarts (maxLength 24) on the way.
            let contexts = [randomTokens(9, seed: 1), randomTokens(15, seed: 2), randomTokens(4, seed: 3)]
            let cached = GluFormerGenerator(network: net).generate(contexts: contexts, steps: 30, decoding: .greedy,
                                                                   useCache: true, keepLogits: true)
            let full = GluFormerGenerator(network: net).generate(contexts: contexts, steps: 30, decoding: .greedy,
                                                                 useCache: false, keepLogits: true)
            XCTAssertEqual(cached.tokens, full.tokens, "\(norm)-LN: the same continuation")
            var worst: Float = 0
            for r in 0 ..< 3 { for s in 0 ..< 30 { for k in 0 ..< 461 {
                worst = max(worst, abs(cached.logits[r][s][k] - full.logits[r][s][k]))
            } } }
            XCTAssertLessThan(worst, 1e-4, "\(norm)-LN: cached logits vs full recomputation")
            // And the cache's first step equals a plain forward of the context.
            let plain = fullLogits(net, contexts[0])
            let last = Array(plain[(8 * 461) ..< (9 * 461)])
            for k in 0 ..< 461 { XCTAssertEqual(cached.logits[0][0][k], last[k], accuracy: 1e-4) }
        }
    }

    func testCausalMaskLeaksNothingAndPaddingIsInvisible() {
        let net = tiny(.post, .relu)
        let tokens = randomTokens(20, seed: 4)
        let base = fullLogits(net, tokens)
        for k in [5, 12, 19] {
            var changed = tokens
            changed[k] = (changed[k] + 137) % 461
            let other = fullLogits(net, changed)
            for i in 0 ..< k * 461 { XCTAssertEqual(other[i], base[i], "position \(i / 461) < \(k) must not see token \(k)") }
            let after = (k * 461 ..< 20 * 461).map { abs(other[$0] - base[$0]) }.max()!
            XCTAssertGreaterThan(after, 1e-3, "position ≥ \(k) does see token \(k) (else the test could not fail)")
        }
        // A left-padded row has the logits of the unpadded row at its real positions (positions count from the first
        // real token; padding keys are hidden).
        let g = Graph(training: false, recording: false)
        let padded = GluFormerTokenBatch(rows: [tokens, Array(tokens.suffix(13))])
        let both = net.logits(tokens: padded.tokens, positions: padded.positions, padding: padded.padding, batch: 2,
                              length: 20, net.store.bind(g)).value.scalars
        let alone = fullLogits(net, Array(tokens.suffix(13)))
        for i in 0 ..< 13 * 461 { XCTAssertEqual(both[20 * 461 + 7 * 461 + i], alone[i], accuracy: 1e-4) }
    }

    func testNextTokenLossGradientsMatchFiniteDifferences() {
        for (norm, activation) in [(GluFormerConfig.Norm.post, GluFormerConfig.Activation.relu), (.pre, .gelu)] {
            let net = tiny(norm, activation, layers: 2)
            // Two rows, one left-padded: the loss skips padding targets and targets after padding.
            let batch = GluFormerTokenBatch(rows: [randomTokens(8, seed: 5), randomTokens(5, seed: 6)])
            let (input, targets) = batch.nextTokenPairs()
            XCTAssertEqual(targets.filter { $0 >= 0 }.count, 7 + 4)
            func loss(_ recording: Bool) -> (Graph, Var) {
                let g = Graph(training: true, recording: recording, random: RandomContext(seed: 1))
                let logits = net.logits(tokens: input.tokens, positions: input.positions, padding: input.padding,
                                        batch: 2, length: input.length, net.store.bind(g))
                return (g, g.crossEntropy(logits, targets: targets))
            }
            net.store.zeroGradients()
            let (g, l) = loss(true)
            g.backward(l)
            // Every parameter tensor, three elements each (first, middle, last).
            var checked = 0, worst = ""
            for e in net.store.entries {
                for i in Set([0, e.count / 2, e.count - 1]) {
                    let at = e.offset + i, v = net.store.values.pointer
                    let x0 = v[at], eps: Float = 1e-2
                    v[at] = x0 + eps; let plus = Double(loss(false).1.value.scalar)
                    v[at] = x0 - eps; let minus = Double(loss(false).1.value.scalar)
                    v[at] = x0
                    let numeric = (plus - minus) / Double(2 * eps), analytic = Double(net.store.gradients.pointer[at])
                    if abs(numeric - analytic) > 2e-3 + 2e-2 * max(abs(numeric), abs(analytic)) {
                        worst += "\(e.name)[\(i)]: analytic \(analytic) numeric \(numeric); "
                    }
                    checked += 1
                }
            }
            XCTAssertEqual(worst, "", "\(norm)-LN \(activation): \(checked) parameter elements checked")
            XCTAssertGreaterThan(checked, 40)
        }
    }

    func testTopKSamplingIsSeededAndStaysInTheTopK() {
        let net = tiny()
        let gen = GluFormerGenerator(network: net)
        let ctx = [randomTokens(10, seed: 8)]
        let a = gen.generate(contexts: ctx, steps: 12, decoding: .topK(3, temperature: 1), seed: 1, keepLogits: true)
        let b = gen.generate(contexts: ctx, steps: 12, decoding: .topK(3, temperature: 1), seed: 1)
        let c = gen.generate(contexts: ctx, steps: 12, decoding: .topK(3, temperature: 1), seed: 2)
        XCTAssertEqual(a.tokens, b.tokens, "same seed, same samples")
        XCTAssertNotEqual(a.tokens, c.tokens, "another seed, other samples")
        for (s, token) in a.tokens[0].enumerated() {
            let row = a.logits[0][s]
            XCTAssertLessThan(row.filter { $0 > row[token] }.count, 3, "step \(s): token \(token) is among the 3 most likely")
        }
        // Greedy is top-1.
        let greedy = gen.generate(contexts: ctx, steps: 5, decoding: .greedy, keepLogits: true)
        for s in 0 ..< 5 { XCTAssertEqual(greedy.logits[0][s].max(), greedy.logits[0][s][greedy.tokens[0][s]]) }
    }

    func testPointDecodings() {
        // p ∝ [4, 1, 1] on tokens 0, 1, 460 (others −∞-ish): argmax 0, median 0 (4/6 ≥ ½), mean pulled far up.
        var logits = [Float](repeating: -80, count: 461)
        logits[0] = log(4); logits[1] = 0; logits[460] = 0
        var rng = PhiloxGenerator(seed: 0)
        XCTAssertEqual(GluFormerGenerator.choose(logits, .greedy, &rng).token, 0)
        XCTAssertEqual(GluFormerGenerator.choose(logits, .median, &rng).token, 0)
        let mean = GluFormerGenerator.choose(logits, .expectedValue, &rng)
        let expected: Float = 40 + Float(1 + 460) / 6   // (0·4 + 1·1 + 460·1) / 6 above 40
        XCTAssertEqual(mean.glucose, expected, accuracy: 1e-3)
        XCTAssertEqual(mean.token, GlucoseTokenizer.token(mean.glucose))
        logits[0] = 0; logits[1] = log(3); logits[460] = log(2)   // p = [1, 3, 2] / 6: median token 1 (4/6 ≥ ½)
        XCTAssertEqual(GluFormerGenerator.choose(logits, .median, &rng).token, 1)
    }

    func testImputationFillsGapsFromPrecedingContextOnly() {
        let net = tiny()
        let gen = GluFormerGenerator(network: net)
        var series = (0 ..< 30).map { Float(100 + $0) }
        for k in 10 ..< 16 { series[k] = .nan }
        series[0] = .nan
        let filled = gen.impute(series)
        XCTAssertTrue(filled[0].isNaN, "a leading gap has no context")
        XCTAssertFalse(filled[10 ..< 16].contains { $0.isNaN })
        // Generation from the context alone: the same values as generating from tokens 1 … 9.
        let direct = gen.generate(contexts: [GlucoseTokenizer.tokens(Array(series[1 ..< 10]))], steps: 6,
                                  decoding: .median).glucose[0]
        XCTAssertEqual(Array(filled[10 ..< 16]), direct)
        XCTAssertEqual(Array(filled[16...]), Array(series[16...]))
        let linear = GluFormerGenerator.linearFill(series)
        XCTAssertEqual(linear[12], 112, accuracy: 1e-4)
    }

    func testCountBaselines() {
        var baselines = GluFormerCountBaselines()
        // Training: the sequence 0 1 0 1 …: bigram is sharp, unigram is flat over {0, 1}.
        baselines.fit(GluFormerTokenBatch(rows: [Array(repeating: [0, 1], count: 10).flatMap { $0 }]))
        XCTAssertEqual(baselines.pairs, 19)
        let r = baselines.nll(GluFormerTokenBatch(rows: [[0, 1, 0, 1]]))
        XCTAssertEqual(r.pairs, 3)
        // Unigram: c(1) = 10, c(0) = 9 over 19 pairs; targets 1, 0, 1.
        let u = -(2 * log(11.0 / 480) + log(10.0 / 480)) / 3
        let b = -(2 * log(11.0 / (10 + 461)) + log(10.0 / (9 + 461))) / 3
        XCTAssertEqual(r.unigram, u, accuracy: 1e-9)
        XCTAssertEqual(r.bigram, b, accuracy: 1e-9)
    }
}
