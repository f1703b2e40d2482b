// Reversal of one axis (torch.flip(x, dims=[axis])): the time reversal that turns a forward LSTM into the
// backward direction of a bidirectional one (PyTorch nn.LSTM(bidirectional=True) runs the reverse
// direction over x_T … x_1 and emits its outputs aligned with the original steps).
//
//   x (outer, D, inner) → y[o, d, i] = x[o, D − 1 − d, i]        dx[o, d, i] += dy[o, D − 1 − d, i]

extension Graph {
    /// `x` with axis `axis` reversed (negative axes count from the end); the same shape.
    public func reverse(_ x: Var, axis: Int) -> Var {
        let xs = x.shape
        let k = Shape.axis(axis, rank: xs.count, "reverse")
        let layout = ReverseLayout(shape: xs, axis: k)
        let out = Tensor(uninitialized: xs)
        layout.apply(x.value.pointer, into: out.sharedMutablePointer, accumulate: false)
        return record(out, inputs: [x], rule: ReverseBackward(x: x, layout: layout))
    }
}

/// The (outer, D, inner) view of a reversal.
struct ReverseLayout {
    let outer: Int, length: Int, inner: Int

    init(shape: [Int], axis: Int) {
        outer = Shape.count(Array(shape[..<axis]))
        length = shape[axis]
        inner = Shape.count(Array(shape[(axis + 1)...]))
    }

    /// dst[o, d, i] (+)= src[o, D − 1 − d, i].
    func apply(_ src: UnsafePointer<Float>, into dst: UnsafeMutablePointer<Float>, accumulate: Bool) {
        for o in 0..<outer {
            for d in 0..<length {
                let s = src + (o * length + length - 1 - d) * inner, t = dst + (o * length + d) * inner
                if accumulate { for i in 0..<inner { t[i] += s[i] } } else { t.update(from: s, count: inner) }
            }
        }
    }
}

struct ReverseBackward: BackwardRule {
    let x: Var
    let layout: ReverseLayout
    func backward(_ dOutputs: [Tensor?], _ g: Graph) {
        guard let dY = dOutputs[0], g.needsGrad(x) else { return }
        layout.apply(dY.pointer, into: g.gradBuffer(x), accumulate: true)
    }
}
