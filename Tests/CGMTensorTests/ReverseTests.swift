import CGMTensor
import XCTest
import _TestSupport

final class ReverseTests: XCTestCase {
    /// torch.flip(x, dims=[1]) on a (2, 3, 2) tensor, written out by hand, and its gradient.
    func testReverseMatchesHandWorkedFlipAndGradients() {
        let x = Tensor(shape: [2, 3, 2], scalars: (0..<12).map(Float.init))
        let g = Graph()
        XCTAssertEqual(g.reverse(g.constant(x), axis: 1).value.scalars, [4, 5, 2, 3, 0, 1, 10, 11, 8, 9, 6, 7])
        XCTAssertEqual(g.reverse(g.constant(x), axis: -1).value.scalars, [1, 0, 3, 2, 5, 4, 7, 6, 9, 8, 11, 10])
        XCTAssertEqual(g.reverse(g.constant(x), axis: 0).value.scalars, [6, 7, 8, 9, 10, 11, 0, 1, 2, 3, 4, 5])
        for axis in 0..<3 {
            assertGradientsMatch([randomTensor([2, 3, 4], seed: UInt64(40 + axis))], "axis \(axis)") { g, v in
                g.reverse(v[0], axis: axis)
            }
        }
        // Used twice, gradients add up (backward accumulates).
        assertGradientsMatch([randomTensor([3, 5], seed: 44)]) { g, v in g.mul(g.reverse(v[0], axis: 1), v[0]) }
    }
}
