// Shared helpers of the selective-scan tests (CGMTensorTests) and the Mamba-2 kernel tests (LayersTests).

import CGMTensor
import XCTest

/// Random operands of one scan: x, Δ > 0, A < 0, B, C, D and an optional initial state.
public struct SelectiveScanOperands {
    public var x, dt, a, b, c, d: Tensor
    public var h0: Tensor?

    public init(batch: Int, length: Int, heads: Int, headdim: Int, groups: Int, dstate: Int, seed: UInt64,
                initialState: Bool = false, dtRange: (Float, Float) = (0.05, 0.9), aRange: (Float, Float) = (-1.5, -0.2)) {
        x = randomTensor([batch, length, heads, headdim], seed: seed)
        dt = randomTensor([batch, length, heads], seed: seed + 1, low: dtRange.0, high: dtRange.1)
        a = randomTensor([heads], seed: seed + 2, low: aRange.0, high: aRange.1)
        b = randomTensor([batch, length, groups, dstate], seed: seed + 3)
        c = randomTensor([batch, length, groups, dstate], seed: seed + 4)
        d = randomTensor([heads], seed: seed + 5)
        h0 = initialState ? randomTensor([batch, heads, headdim, dstate], seed: seed + 6) : nil
    }

    /// [x, dt, A, B, C, D, h0?] in the order the ops take them.
    public var list: [Tensor] { [x, dt, a, b, c, d] + (h0.map { [$0] } ?? []) }
}

/// Compares values and gradients of two graph functions of the same inputs.
public func assertSameFunction(_ inputs: [Tensor], _ message: String, file: StaticString = #filePath, line: UInt = #line,
                               _ f: (Graph, [Var]) -> Var, _ reference: (Graph, [Var]) -> Var) {
    func run(_ h: (Graph, [Var]) -> Var) -> (Tensor, [Tensor?]) {
        let g = Graph()
        let v = inputs.map { g.variable($0) }
        let out = h(g, v)
        g.backward(out, seed: randomTensor(out.shape, seed: 31))
        return (out.value, v.map { g.gradient(of: $0) })
    }
    let (a, ga) = run(f), (b, gb) = run(reference)
    assertClose(a, b, atol: 1e-5, rtol: 1e-4, message + " value", file: file, line: line)
    for k in inputs.indices {
        guard let x = ga[k], let y = gb[k] else { XCTFail("\(message): missing gradient \(k)", file: file, line: line); continue }
        assertClose(x, y, atol: 2e-5, rtol: 2e-4, message + " gradient \(k)", file: file, line: line)
    }
}
