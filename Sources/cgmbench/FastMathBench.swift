// The vectorized transcendentals (FastMath) against Foundation's scalar tanhf on 64 Ki elements.

import CGMTensor
import Foundation

enum FastMathBench {
    static func run(harness: Harness) -> String {
        let n = 1 << 16
        var rng = PhiloxGenerator(seed: 1, stream: 7)
        let x = Tensor(shape: [n], scalars: (0..<n).map { _ in rng.nextUniform(-10, 10) })
        let y = Tensor(zeros: [n])
        var table = Table(header: ["FastMath, \(n) elements", "ns/element", "× Foundation.tanhf"])
        let kernels: [(String, () -> Void)] = [
            ("exp", { FastMath.exp(x.pointer, y.sharedMutablePointer, count: n) }),
            ("sigmoid", { FastMath.sigmoid(x.pointer, y.sharedMutablePointer, count: n) }),
            ("tanh", { FastMath.tanh(x.pointer, y.sharedMutablePointer, count: n) }),
            ("Foundation.tanhf (scalar)", {
                let p = x.pointer, q = y.sharedMutablePointer
                for i in 0..<n { q[i] = Foundation.tanh(p[i]) }
            }),
        ]
        let ns = kernels.map { 1e9 / (harness.measure($0.1).median * Double(n)) }
        for (i, (name, _)) in kernels.enumerated() {
            table.rows.append([name, fmt(ns[i], 3), fmt(ns.last! / ns[i], 1) + "×"])
        }
        precondition(y.isFinite, "FastMath produced a non-finite value")
        return table.render()
    }
}
