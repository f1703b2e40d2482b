// GluFormer diet tokens: the summed lookup's values and finite-difference gradients (empty slots add nothing),
// quantile bins and token numbering, a network given only empty diet slots equals the glucose-only forward, the
// next-token loss gradient reaches the diet rows, and diet-aware generation with the KV cache equals recomputation,
// is seeded, and changes with the meal.

import CGMSchema
import CGMTensor
import Layers
import _TestSupport
import XCTest
@testable import Models

final class GluFormerDietTests: XCTestCase {
    func testGatherSumValuesAndGradients() {
        let table = randomTensor([5, 3], seed: 1)
        let indices = [0, -1, 2, 2, -1, -1, 4, 1]   // 4 positions × 2 slots
        let g = Graph(training: false, recording: false)
        let y = g.gatherSum(table: g.constant(table), indices: indices, slots: 2, shape: [2, 2]).value
        XCTAssertEqual(y.shape, [2, 2, 3])
        let t = table.scalars
        for j in 0 ..< 3 {
            XCTAssertEqual(y.scalars[j], t[j], accuracy: 1e-7)
            XCTAssertEqual(y.scalars[3 + j], 2 * t[6 + j], accuracy: 1e-7)
            XCTAssertEqual(y.scalars[6 + j], 0)
            XCTAssertEqual(y.scalars[9 + j], t[12 + j] + t[3 + j], accuracy: 1e-7)
        }
        assertGradientsMatch([table], "gatherSum") { g, v in g.tanh(g.gatherSum(table: v[0], indices: indices, slots: 2)) }
    }

    func testQuantileBinsAndTokenNumbering() {
        let bins = DietBins.fit(nutrients: ["carbs_g", "fat_g"], amounts: [(1 ... 17).map(Float.init) + [0, .nan], []])
        XCTAssertEqual(bins.edges[0], [3, 5, 7, 9, 11, 13, 15], "k/8 quantiles of 1…17 (linear interpolation)")
        XCTAssertEqual(bins.vocabulary, 16)
        XCTAssertEqual(bins.token(0, grams: 1), 462)
        XCTAssertEqual(bins.token(0, grams: 3), 463, "an amount on an edge goes to the upper bin")
        XCTAssertEqual(bins.token(0, grams: 100), 469)
        XCTAssertEqual(bins.token(1, grams: 20), 470, "a nutrient never seen in training: its bin 0")
        XCTAssertEqual(bins.token(0, grams: 0), -1)
        XCTAssertEqual(bins.token(0, grams: .nan), -1)
    }

    func net(slots: Int) -> GluFormerNetwork {
        var c = GluFormerConfig(spec: GluFormerSpec(dModel: 16, heads: 2, layers: 2, feedForward: 24, dropout: 0,
                                                    residual: false), maxLength: 12)
        c.dietSlots = slots
        c.dietVocabulary = slots * DietBins.binsPerNutrient
        let network = GluFormerNetwork(c, seed: 9)
        // Diet rows start at 0 (the model starts as the glucose-only one); give them values as training would.
        let id = network.store.id(named: "embedding.weight")!
        let table = network.store.value(id).scalars
        let diet = randomTensor([c.dietVocabulary * 16], seed: 12).scalars
        network.store.setValue(id, Tensor(shape: [462 + c.dietVocabulary, 16], scalars: Array(table[0 ..< 462 * 16]) + diet))
        return network
    }

    func testDietModelStartsAsTheGlucoseOnlyModel() {
        var c = GluFormerConfig(spec: GluFormerSpec(dModel: 16, heads: 2, layers: 2, feedForward: 24, dropout: 0,
                                                    residual: false), maxLength: 12)
        let plain = GluFormerNetwork(c, seed: 9)
        c.dietSlots = 2
        c.dietVocabulary = 16
        let diet = GluFormerNetwork(c, seed: 9)
        let table = diet.store.value(diet.store.id(named: "embedding.weight")!).scalars
        XCTAssertEqual(Array(table[0 ..< 462 * 16]), plain.store.value(plain.store.id(named: "embedding.weight")!).scalars)
        XCTAssertTrue(table[(462 * 16)...].allSatisfy { $0 == 0 })
        XCTAssertEqual(diet.store.value(diet.store.id(named: "head.weight")!), plain.store.value(plain.store.id(named: "head.weight")!))
    }

    func tokens(_ n: Int) -> [Int] { (0 ..< n).map { GlucoseTokenizer.token(Float(110 + 9 * ($0 % 5))) } }

    func testEmptySlotsEqualGlucoseOnlyAndGradientReachesDietRows() {
        let network = net(slots: 2)
        let b = GluFormerTokenBatch(rows: [tokens(8)])
        let run = { (diet: [Int]?) -> [Float] in
            network.logits(tokens: b.tokens, positions: b.positions, padding: b.padding, diet: diet, batch: 1, length: 8,
                           network.store.bind(Graph(training: false, recording: false))).value.scalars
        }
        XCTAssertEqual(run(nil), run([Int](repeating: -1, count: 16)))
        var meal = [Int](repeating: -1, count: 16)
        meal[6] = 462 + 5      // carbs bin 5 at step 3
        meal[7] = 462 + 8 + 2  // slot-2 nutrient bin 2
        let withMeal = run(meal), without = run(nil)
        XCTAssertEqual(Array(withMeal[0 ..< 3 * 461]), Array(without[0 ..< 3 * 461]), "causal: no effect before the meal")
        XCTAssertNotEqual(Array(withMeal[3 * 461 ..< 4 * 461]), Array(without[3 * 461 ..< 4 * 461]))

        let batch = GluFormerTokenBatch(tokens: tokens(8), batch: 1, length: 8, diet: meal, slots: 2)
        let (input, targets) = batch.nextTokenPairs()
        XCTAssertEqual(input.diet, Array(meal[0 ..< 14]))
        let g = Graph(training: true)
        let loss = g.crossEntropy(network.logits(tokens: input.tokens, positions: input.positions, padding: input.padding,
                                                 diet: input.diet, batch: 1, length: 7, network.store.bind(g)),
                                  targets: targets, ignoreIndex: -100)
        network.store.zeroGradients()
        g.backward(loss)
        let grad = network.store.gradient(network.store.id(named: "embedding.weight")!).scalars
        XCTAssertTrue((0 ..< 16).contains { grad[467 * 16 + $0] != 0 }, "the carbs row gets a gradient")
        XCTAssertTrue((0 ..< 16).allSatisfy { grad[463 * 16 + $0] == 0 }, "an unused diet row gets none")
    }

    func testDietGenerationCacheEqualsRecomputationAndDependsOnTheMeal() {
        let network = net(slots: 1), generator = GluFormerGenerator(network: network)
        let contexts = [tokens(7), tokens(4)]
        func diet(_ carbs: Int) -> GluFormerDiet {
            var c = contexts.map { [Int](repeating: -1, count: $0.count) }
            c[0][6] = carbs
            var future = [[Int]](repeating: [Int](repeating: -1, count: 20), count: 2)
            future[1][3] = 462 + 7   // a logged meal during generation (step 4)
            return GluFormerDiet(slots: 1, context: c, future: future)
        }
        // 20 steps with maxLength 12: the window restarts on the way.
        let cached = generator.generate(contexts: contexts, steps: 20, decoding: .topK(5, temperature: 1), seed: 3, diet: diet(462 + 7))
        let recomputed = generator.generate(contexts: contexts, steps: 20, decoding: .topK(5, temperature: 1), seed: 3,
                                            useCache: false, diet: diet(462 + 7))
        XCTAssertEqual(cached.tokens, recomputed.tokens)
        XCTAssertEqual(cached, generator.generate(contexts: contexts, steps: 20, decoding: .topK(5, temperature: 1), seed: 3,
                                                  diet: diet(462 + 7)), "seeded")
        let small = generator.generate(contexts: contexts, steps: 20, decoding: .greedy, diet: diet(462))
        let large = generator.generate(contexts: contexts, steps: 20, decoding: .greedy, diet: diet(462 + 7))
        XCTAssertNotEqual(small.tokens[0], large.tokens[0], "a different meal, a different continuation")
        XCTAssertEqual(small.tokens[1], large.tokens[1], "row 1's meal did not change")
    }
}
