import CGMTensor
import Layers
import XCTest
import _TestSupport

/// Conv1d, Embedding and LayerNorm modules: PyTorch parameter names, shapes, initialization bounds,
/// and gradients flowing into the store.
final class LayerModuleTests: XCTestCase {
    func testConv1dShapesInitAndGradients() {
        let store = ParameterStore()
        var rng = PhiloxGenerator(seed: 1)
        let conv = Conv1d(store, "conv", inChannels: 4, outChannels: 6, kernelSize: 3, dilation: 2, rng: &rng)
        XCTAssertEqual(store.entry(conv.weight).shape, [6, 4, 3])
        let bound = (1 / Float(4 * 3)).squareRoot()
        XCTAssert(store.value(conv.weight).scalars.allSatisfy { abs($0) <= bound })
        XCTAssertGreaterThan(store.value(conv.weight).scalars.map(abs).max()!, bound * 0.8)
        let g = Graph()
        let y = conv(g.constant(randomTensor([2, 7, 4], seed: 2)), store.bind(g))
        XCTAssertEqual(y.shape, [2, 7, 6])
        g.backward(y, seed: Tensor(repeating: 1, shape: y.shape))
        XCTAssert(store.gradient(conv.weight).scalars.contains { $0 != 0 })
        XCTAssertEqual(store.gradient(conv.bias!).scalars, Array(repeating: 14, count: 6))  // B·T ones per channel
    }

    func testEmbeddingLooksUpRowsAndScattersGradients() {
        let store = ParameterStore()
        var rng = PhiloxGenerator(seed: 3)
        let emb = Embedding(store, "subject", count: 5, dimension: 3, rng: &rng)
        let g = Graph()
        let y = emb([4, 0, 4], store.bind(g))
        XCTAssertEqual(y.shape, [3, 3])
        XCTAssertEqual(Array(y.value.scalars[0..<3]), Array(store.value(emb.table).scalars[12..<15]))
        g.backward(y, seed: Tensor(repeating: 1, shape: [3, 3]))
        XCTAssertEqual(Array(store.gradient(emb.table).scalars[12..<15]), [2, 2, 2])   // row 4 used twice
        XCTAssertEqual(Array(store.gradient(emb.table).scalars[3..<6]), [0, 0, 0])
    }

    func testLayerNormIsUnitNormalizedAndExcludedFromDecay() {
        let store = ParameterStore()
        let ln = LayerNorm(store, "norm", dimension: 8)
        XCTAssertFalse(store.entry(ln.weight).weightDecay)
        let g = Graph()
        let y = ln(g.constant(randomTensor([3, 8], seed: 4, low: -5, high: 5)), store.bind(g)).value
        for r in 0..<3 {
            let row = Array(y.scalars[r * 8..<(r + 1) * 8])
            let mean = row.reduce(0, +) / 8
            let variance = row.map { ($0 - mean) * ($0 - mean) }.reduce(0, +) / 8
            XCTAssertEqual(mean, 0, accuracy: 1e-5)
            XCTAssertEqual(variance, 1, accuracy: 1e-3)
        }
    }
}
