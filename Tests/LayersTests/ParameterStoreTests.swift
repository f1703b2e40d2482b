import CGMTensor
import Layers
import XCTest

final class ParameterStoreTests: XCTestCase {
    func testFlatLayoutAndGradientsFlowIntoStore() {
        let store = ParameterStore()
        let w = store.add("w", Tensor(shape: [2, 2], scalars: [1, 2, 3, 4]))
        let b = store.add("b", Tensor(shape: [2], scalars: [5, 6]), weightDecay: false)
        XCTAssertEqual(store.count, 6)
        XCTAssertEqual(store.entry(b).offset, 4)
        XCTAssertEqual(Array(UnsafeBufferPointer(start: store.values.pointer, count: 6)), [1, 2, 3, 4, 5, 6])

        let g = Graph()
        let p = store.bind(g)
        let x = g.constant(Tensor(shape: [1, 2], scalars: [1, 1]))
        let y = g.linear(x, weight: p[w], bias: p[b])
        XCTAssertEqual(y.value.scalars, [8, 13])
        g.backward(y, seed: Tensor(shape: [1, 2], scalars: [1, 1]))
        XCTAssertEqual(store.gradient(w).scalars, [1, 1, 1, 1])
        XCTAssertEqual(store.gradient(b).scalars, [1, 1])
        store.zeroGradients()
        XCTAssertEqual(store.gradient(w).scalars, [0, 0, 0, 0])
    }

    func testGrowthKeepsValues() {
        let store = ParameterStore()
        var ids: [ParameterID] = []
        for i in 0..<50 { ids.append(store.add("p\(i)", Tensor(repeating: Float(i), shape: [100]))) }
        for (i, id) in ids.enumerated() { XCTAssertEqual(store.value(id).scalars, Array(repeating: Float(i), count: 100)) }
        XCTAssertEqual(store.id(named: "p7"), ids[7])
    }
}
