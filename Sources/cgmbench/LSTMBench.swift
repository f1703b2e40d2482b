// The fused LSTM op alone at the Seq2Seq encoder's shape (B 64, T 37, 12 inputs, hidden 64): forward on a
// non-recording graph, and backward re-run on one recorded graph (so freed buffers are reused and fresh
// pages are not timed).

import CGMTensor

enum LSTMBench {
    static func run(harness: Harness) -> String {
        let (B, T, In, H) = (64, 37, 12, 64)
        var rng = PhiloxGenerator(seed: 1, stream: 7)
        func tensor(_ shape: [Int], _ bound: Float) -> Tensor {
            Tensor(shape: shape, scalars: (0..<Shape.count(shape)).map { _ in rng.nextUniform(-bound, bound) })
        }
        let inputs = [tensor([B, T, In], 1.5), tensor([4 * H, In], 0.8), tensor([4 * H, H], 0.8), tensor([4 * H], 0.5),
                      tensor([4 * H], 0.5), tensor([B, H], 1), tensor([B, H], 1)]
        let seed = tensor([B, T, H], 1)
        func lstm(_ g: Graph) -> (Var, [Var]) {
            let p = inputs.map { g.variable($0) }
            let r = g.lstm(p[0], h0: p[5], c0: p[6], weightIH: p[1], weightHH: p[2], biasIH: p[3], biasHH: p[4])
            return (r.output, p)
        }
        let forward = harness.measure { _ = lstm(Graph(training: true, recording: false)) }
        let g = Graph()
        let (out, p) = lstm(g)
        let backward = harness.measure { g.backward(out, seed: seed) }
        precondition(g.gradient(of: p[1])!.isFinite, "LSTM gradient is not finite")
        let fwd = 1e3 / forward.median, bwd = 1e3 / backward.median
        var table = Table(header: ["LSTM B=\(B) T=\(T) In=\(In) H=\(H)", "ms per batch", "samples/s"])
        table.rows.append(["forward", fmt(fwd, 3), fmt(Double(B) / fwd * 1e3, 0)])
        table.rows.append(["backward", fmt(bwd, 3), fmt(Double(B) / bwd * 1e3, 0)])
        table.rows.append(["forward + backward", fmt(fwd + bwd, 3), fmt(Double(B) / (fwd + bwd) * 1e3, 0)])
        return table.render()
    }
}
