@testable import CGMTensor
import XCTest
import _TestSupport

/// Reference NumPy broadcasting by explicit multi-indices (slow, obviously correct).
func referenceBroadcast(_ a: Tensor, _ b: Tensor, _ f: (Float, Float) -> Float) -> Tensor {
    let out = Shape.broadcast(a.shape, b.shape)!
    let n = out.count
    func offset(_ index: [Int], _ shape: [Int]) -> Int {
        var flat = 0
        for (k, d) in shape.enumerated() {
            let i = index[n - shape.count + k]
            flat = flat * d + (d == 1 ? 0 : i)
        }
        return flat
    }
    var result = [Float]()
    let strides = Shape.strides(out)
    for flat in 0..<Shape.count(out) {
        let index = (0..<n).map { (flat / strides[$0]) % out[$0] }
        result.append(f(a.pointer[offset(index, a.shape)], b.pointer[offset(index, b.shape)]))
    }
    return Tensor(shape: out, scalars: result)
}

/// Moves values away from 0 by `margin` keeping their sign (for denominators and kinks).
func awayFromZero(_ t: Tensor, margin: Float = 0.2) -> Tensor {
    Tensor(shape: t.shape, scalars: t.scalars.map { $0 < 0 ? $0 - margin : $0 + margin })
}

final class ElementwiseTests: XCTestCase {
    /// Shape pairs covering every layout of `StridedPlan`, with the layout each must take.
    let layouts: [([Int], [Int], StridedPlan.Kind)] = [
        ([2, 3], [2, 3], .same),
        ([2, 3], [], .bScalar),
        ([], [2, 3], .aScalar),
        ([1], [3, 4], .aScalar),
        ([3, 4], [1, 1, 1], .bScalar),
        ([3, 4], [4], .bRow),
        ([2, 3, 4], [3, 4], .bRow),
        ([4], [3, 4], .aRow),
        ([3, 4], [3, 1], .bColumn),
        ([2, 3, 4], [2, 3, 1], .bColumn),
        ([3, 1], [3, 4], .aColumn),
        ([3, 1, 4], [2, 1], .general),
        ([4, 1], [1, 5], .general),
        ([2, 3, 4], [3, 1], .general),
        ([2, 1, 3, 1], [4, 1, 5], .general),
        ([], [], .same),
        ([0, 3], [3], .empty),
    ]

    func testPlanKindsCoverEveryFastPath() {
        for (sa, sb, kind) in layouts {
            let plan = StridedPlan(broadcasting: sa, sb, to: Shape.broadcast(sa, sb)!)
            XCTAssertEqual(plan.kind, kind, "\(sa) with \(sb)")
        }
    }

    func testBroadcastValuesMatchReference() {
        for (seed, (sa, sb, _)) in layouts.enumerated() {
            let a = randomTensor(sa, seed: UInt64(seed))
            let b = awayFromZero(randomTensor(sb, seed: UInt64(100 + seed)))
            let g = Graph()
            let va = g.constant(a), vb = g.constant(b)
            let cases: [(String, Var, (Float, Float) -> Float)] = [
                ("add", g.add(va, vb), { $0 + $1 }), ("sub", g.sub(va, vb), { $0 - $1 }),
                ("mul", g.mul(va, vb), { $0 * $1 }), ("div", g.div(va, vb), { $0 / $1 }),
            ]
            for (name, y, f) in cases {
                XCTAssertEqual(y.value, referenceBroadcast(a, b, f), "\(name) \(sa) with \(sb)")
            }
        }
    }

    func testBroadcastGradientsEveryLayoutAndOp() {
        for (seed, (sa, sb, _)) in layouts.enumerated() {
            let a = randomTensor(sa, seed: UInt64(seed))
            let b = awayFromZero(randomTensor(sb, seed: UInt64(100 + seed)), margin: 0.5)
            for op in ["add", "sub", "mul", "div"] {
                // Each operand is used twice, so its gradient must accumulate over both uses.
                assertGradientsMatch([a, b], "\(op) \(sa) with \(sb)") { g, x in
                    func f(_ p: Var, _ q: Var) -> Var {
                        switch op {
                        case "add": return g.add(p, q)
                        case "sub": return g.sub(p, q)
                        case "mul": return g.mul(p, q)
                        default: return g.div(p, q)
                        }
                    }
                    return g.add(f(x[0], x[1]), f(g.scale(x[0], by: 0.5), g.scale(x[1], by: 2)))
                }
            }
        }
    }

    func testBroadcastEdgeCaseShapesAndValues() {
        let g = Graph()
        let a = g.constant(Tensor(shape: [3, 1, 4], scalars: (0..<12).map(Float.init)))
        let b = g.constant(Tensor(shape: [2, 1], scalars: [100, 200]))
        let y = g.add(a, b).value
        XCTAssertEqual(y.shape, [3, 2, 4])
        XCTAssertEqual(y[2, 1, 3], 11 + 200)
        XCTAssertEqual(y[1, 0, 2], 6 + 100)
        let s = g.mul(g.constant(Tensor(scalar: 3)), g.constant(Tensor(shape: [2, 2], scalars: [1, 2, 3, 4])))
        XCTAssertEqual(s.value.shape, [2, 2])
        XCTAssertEqual(s.value.scalars, [3, 6, 9, 12])
    }

    /// Broadcast gradients are sums over the broadcast axes: d/db Σ (x + b) over (N, C) is N per column.
    func testBroadcastGradientIsSumOverBroadcastAxes() {
        let g = Graph()
        let x = g.variable(randomTensor([5, 3], seed: 1)), b = g.variable(Tensor(zeros: [3]))
        let s = g.variable(Tensor(scalar: 2))
        g.backward(g.sum(g.mul(g.add(x, b), s)))
        XCTAssertEqual(g.gradient(of: b)!.scalars, [10, 10, 10])
        XCTAssertEqual(g.gradient(of: x)!.scalars, [Float](repeating: 2, count: 15))
        let expected = x.value.scalars.reduce(0, +)
        XCTAssertEqual(g.gradient(of: s)!.scalar, expected, accuracy: 1e-5)
    }

    func testSameVarOnBothSidesAccumulates() {
        let x = randomTensor([2, 3], seed: 4)
        assertGradientsMatch([x]) { g, v in g.mul(v[0], v[0]) }
        assertGradientsMatch([awayFromZero(x, margin: 0.5)]) { g, v in g.div(g.add(v[0], v[0]), v[0]) }
        let g = Graph()
        let v = g.variable(x)
        g.backward(g.sum(g.mul(v, v)))
        assertClose(g.gradient(of: v)!, Tensor(shape: x.shape, scalars: x.scalars.map { 2 * $0 }))
    }

    func testScalarAffineOps() {
        let x = randomTensor([2, 3], seed: 5)
        let g = Graph()
        let v = g.constant(x)
        XCTAssertEqual(g.scale(v, by: 3).value.scalars, x.scalars.map { 3 * $0 })
        XCTAssertEqual(g.addScalar(v, 1.5).value.scalars, x.scalars.map { $0 + 1.5 })
        XCTAssertEqual(g.neg(v).value.scalars, x.scalars.map { -$0 })
        XCTAssertEqual(g.affine(v, scale: 2, shift: -1).value.scalars, x.scalars.map { 2 * $0 - 1 })
        assertGradientsMatch([x]) { g, v in g.scale(v[0], by: -2.5) }
        assertGradientsMatch([x]) { g, v in g.addScalar(v[0], 4) }
        assertGradientsMatch([x]) { g, v in g.affine(v[0], scale: 0.5, shift: 3) }
    }

    func testOperators() {
        let a = randomTensor([2, 3], seed: 6), b = awayFromZero(randomTensor([3], seed: 7), margin: 0.5)
        let g = Graph()
        let va = g.constant(a), vb = g.constant(b)
        XCTAssertEqual((va + vb).value, referenceBroadcast(a, b, +))
        XCTAssertEqual((va - vb).value, referenceBroadcast(a, b, -))
        XCTAssertEqual((va * vb).value, referenceBroadcast(a, b, *))
        XCTAssertEqual((va / vb).value, referenceBroadcast(a, b, /))
        XCTAssertEqual((va + 2).value.scalars, a.scalars.map { $0 + 2 })
        XCTAssertEqual((2 + va).value.scalars, a.scalars.map { 2 + $0 })
        XCTAssertEqual((va - 2).value.scalars, a.scalars.map { $0 - 2 })
        XCTAssertEqual((2 - va).value.scalars, a.scalars.map { 2 - $0 })
        XCTAssertEqual((va * 3).value.scalars, a.scalars.map { $0 * 3 })
        XCTAssertEqual((3 * va).value.scalars, a.scalars.map { 3 * $0 })
        XCTAssertEqual((va / 3).value.scalars, a.scalars.map { $0 / 3 })
        XCTAssertEqual((3 / vb).value.scalars, b.scalars.map { 3 / $0 })
        XCTAssertEqual((-va).value.scalars, a.scalars.map { -$0 })
        assertGradientsMatch([a, b]) { g, x in
            let (p, q) = (x[0], x[1])
            let t1: Var = (2 - p * q) / 3
            let t2: Var = 1.5 / q
            let t3: Var = (-p + 1) * 0.5
            let t4: Var = (4 + p) - q / g.constant(Tensor(scalar: 2))
            return t1 + t2 - t3 + 2 * t4
        }
    }
}
