import CGMTensor
import Layers
import XCTest
import _TestSupport

/// Mean and (population) variance in Double.
private func moments(_ t: Tensor) -> (mean: Double, variance: Double) {
    var s = 0.0, s2 = 0.0
    for i in 0..<t.count {
        let x = Double(t.pointer[i])
        s += x
        s2 += x * x
    }
    let n = Double(t.count), mean = s / n
    return (mean, s2 / n - mean * mean)
}

final class InitializerTests: XCTestCase {
    /// All elements inside [−bound, bound], the range nearly covered, mean 0 and variance bound²/3
    /// within sampling error (n ≥ 10⁴ elements: 5σ bounds).
    private func assertUniform(_ t: Tensor, bound: Float, _ what: String, file: StaticString = #filePath, line: UInt = #line) {
        var maxAbs: Float = 0
        for i in 0..<t.count {
            let x = t.pointer[i]
            XCTAssertTrue(abs(x) <= bound, "\(what): element \(i) = \(x) outside ±\(bound)", file: file, line: line)
            maxAbs = max(maxAbs, abs(x))
        }
        XCTAssertGreaterThan(maxAbs, 0.99 * bound, "\(what): range not covered", file: file, line: line)
        let (mean, variance) = moments(t), b = Double(bound), n = Double(t.count)
        let expectedVariance = b * b / 3
        XCTAssertLessThan(abs(mean), 5 * (expectedVariance / n).squareRoot(), "\(what): mean \(mean)", file: file, line: line)
        // Var of x² for U(−b, b) is 4b⁴/45.
        XCTAssertLessThan(abs(variance - expectedVariance), 5 * (4 * b * b * b * b / 45 / n).squareRoot(),
                          "\(what): variance \(variance) vs \(expectedVariance)", file: file, line: line)
    }

    func testLinearDefaultsAreKaimingUniformSqrt5() {
        var rng = PhiloxGenerator(seed: 1)
        let w = Initializers.linearWeight(outFeatures: 100, inFeatures: 160, rng: &rng)
        XCTAssertEqual(w.shape, [100, 160])
        assertUniform(w, bound: 1 / Float(160).squareRoot(), "linear weight")
        let b = Initializers.linearBias(outFeatures: 20_000, inFeatures: 160, rng: &rng)
        assertUniform(b, bound: 1 / Float(160).squareRoot(), "linear bias")
        // kaiming_uniform with a = √5 is exactly U(±1/√fanIn); with a = 0 the bound is √(6/fanIn).
        let k0 = Initializers.kaimingUniform([160, 120], a: 0, rng: &rng)
        assertUniform(k0, bound: (6 / Float(120)).squareRoot(), "kaiming a=0")
    }

    func testLSTMConvEmbeddingLayerNormDefaults() {
        var rng = PhiloxGenerator(seed: 2)
        assertUniform(Initializers.lstm([4 * 64, 40], hiddenSize: 64, rng: &rng), bound: 0.125, "lstm weight")
        assertUniform(Initializers.lstm([4 * 64 * 50], hiddenSize: 64, rng: &rng), bound: 0.125, "lstm bias")

        let w = Initializers.conv1dWeight(outChannels: 64, inChannels: 32, kernelSize: 5, groups: 1, rng: &rng)
        XCTAssertEqual(w.shape, [64, 32, 5])
        assertUniform(w, bound: (1 / Float(32 * 5)).squareRoot(), "conv1d weight")
        let depthwise = Initializers.conv1dWeight(outChannels: 4096, inChannels: 64, kernelSize: 4, groups: 64, rng: &rng)
        XCTAssertEqual(depthwise.shape, [4096, 1, 4])
        assertUniform(depthwise, bound: 0.5, "depthwise conv1d weight (k = 64/(64·4))")
        assertUniform(Initializers.conv1dBias(outChannels: 20_000, inChannels: 8, kernelSize: 3, rng: &rng),
                      bound: (1 / Float(24)).squareRoot(), "conv1d bias")
        // Conv weight via kaiming(a=√5) with PyTorch's fan rule gives the same bound.
        XCTAssertEqual(Initializers.fans([64, 32, 5]).fanIn, 160)
        XCTAssertEqual(Initializers.fans([64, 32, 5]).fanOut, 320)

        let e = Initializers.embedding(count: 200, dimension: 100, rng: &rng)
        XCTAssertEqual(e.shape, [200, 100])
        let (mean, variance) = moments(e)
        XCTAssertLessThan(abs(mean), 5 / Double(e.count).squareRoot())
        XCTAssertLessThan(abs(variance - 1), 5 * (2 / Double(e.count)).squareRoot())
        var beyond3 = 0
        for i in 0..<e.count where abs(e.pointer[i]) > 3 { beyond3 += 1 }
        XCTAssertGreaterThan(beyond3, 0, "a normal sample of 20000 has tails beyond 3σ")
        XCTAssertLessThan(beyond3, 120, "about 0.27% expected beyond 3σ")

        XCTAssertEqual(Initializers.layerNormWeight(3).scalars, [1, 1, 1])
        XCTAssertEqual(Initializers.layerNormBias(3).scalars, [0, 0, 0])
        XCTAssertEqual(Initializers.ones([2, 2]).scalars, [1, 1, 1, 1])
        XCTAssertEqual(Initializers.zeros([2]).scalars, [0, 0])
    }

    func testXavierUniformAndNormalScaling() {
        var rng = PhiloxGenerator(seed: 3)
        let x = Initializers.xavierUniform([150, 100], gain: 2, rng: &rng)
        assertUniform(x, bound: 2 * (6 / Float(250)).squareRoot(), "xavier")
        let n = Initializers.normal([20_000], mean: 3, std: 0.5, rng: &rng)
        let (mean, variance) = moments(n)
        XCTAssertEqual(mean, 3, accuracy: 5 * 0.5 / Double(n.count).squareRoot())
        XCTAssertEqual(variance, 0.25, accuracy: 5 * 0.25 * (2 / Double(n.count)).squareRoot())
    }

    func testSameSeedSameBits() {
        func draw(_ seed: UInt64, stream: UInt64 = 0) -> [UInt32] {
            var rng = PhiloxGenerator(seed: seed, stream: stream)
            let a = Initializers.linearWeight(outFeatures: 7, inFeatures: 5, rng: &rng)
            let b = Initializers.embedding(count: 3, dimension: 5, rng: &rng)
            let c = Initializers.conv1dWeight(outChannels: 4, inChannels: 2, kernelSize: 3, rng: &rng)
            return (a.scalars + b.scalars + c.scalars).map(\.bitPattern)
        }
        XCTAssertEqual(draw(9), draw(9))
        XCTAssertNotEqual(draw(9), draw(10))
        XCTAssertNotEqual(draw(9), draw(9, stream: 1))
    }
}

final class LinearTests: XCTestCase {
    func testRegistersPyTorchLayoutInDrawOrder() {
        var rng = PhiloxGenerator(seed: 5)
        let store = ParameterStore()
        let fc = Linear(store, "head", inFeatures: 4, outFeatures: 3, rng: &rng)
        XCTAssertEqual(store.entries.map(\.name), ["head.weight", "head.bias"])
        XCTAssertEqual(store.value(fc.weight).shape, [3, 4])
        XCTAssertEqual(store.value(fc.bias!).shape, [3])

        var replay = PhiloxGenerator(seed: 5)   // weight first, then bias, from the same generator
        XCTAssertEqual(store.value(fc.weight), Initializers.linearWeight(outFeatures: 3, inFeatures: 4, rng: &replay))
        XCTAssertEqual(store.value(fc.bias!), Initializers.linearBias(outFeatures: 3, inFeatures: 4, rng: &replay))

        let noBias = Linear(store, "proj", inFeatures: 2, outFeatures: 2, bias: false, rng: &rng)
        XCTAssertNil(noBias.bias)
        XCTAssertEqual(store.entries.map(\.name), ["head.weight", "head.bias", "proj.weight"])
    }

    /// Forward y = x Wᵀ + b on a (2, 3, 4) input, and gradients into the store: with L = Σ y ⊙ R,
    /// dW = Σ Rᵀ x, db = Σ_rows R.
    func testForwardAndGradientsIntoStore() {
        var rng = PhiloxGenerator(seed: 6)
        let store = ParameterStore()
        let fc = Linear(store, "fc", inFeatures: 4, outFeatures: 2, rng: &rng)
        let x = Initializers.normal([2, 3, 4], rng: &rng), r = Initializers.normal([2, 3, 2], rng: &rng)
        let w = store.value(fc.weight), b = store.value(fc.bias!)
        let graph = Graph()
        let y = fc(graph.constant(x), store.bind(graph))
        XCTAssertEqual(y.shape, [2, 3, 2])
        var expected = [Float](repeating: 0, count: 12)
        var dW = [Float](repeating: 0, count: 8), db = [Float](repeating: 0, count: 2)
        for row in 0..<6 {
            for o in 0..<2 {
                var acc = b[o]
                for i in 0..<4 { acc += x[flat: row * 4 + i] * w[o, i] }
                expected[row * 2 + o] = acc
                let ro = r[flat: row * 2 + o]
                db[o] += ro
                for i in 0..<4 { dW[o * 4 + i] += ro * x[flat: row * 4 + i] }
            }
        }
        assertClose(y.value, Tensor(shape: [2, 3, 2], scalars: expected), atol: 1e-6, rtol: 1e-5)
        graph.backward(y, seed: r)
        assertClose(store.gradient(fc.weight), Tensor(shape: [2, 4], scalars: dW), atol: 1e-6, rtol: 1e-5)
        assertClose(store.gradient(fc.bias!), Tensor(shape: [2], scalars: db), atol: 1e-6, rtol: 1e-5)
    }

    func testGradientCheck() {
        let x = randomTensor([3, 5], seed: 1), w = randomTensor([2, 5], seed: 2), b = randomTensor([2], seed: 3)
        assertGradientsMatch([x, w, b]) { g, v in g.linear(v[0], weight: v[1], bias: v[2]) }
    }
}
