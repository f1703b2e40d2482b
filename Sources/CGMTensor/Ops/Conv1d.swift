// 1-D convolution over time, channels-last input, PyTorch weight layout.
//   x: (B, T, Cin), weight: (Cout, Cin/groups, K), bias: (Cout)? → y: (B, T, Cout)
//   y[b, t, o] = bias[o] + Σ_{c ∈ group(o), k} w[o, c − Cin_g·group(o), k] · x[b, t + d·k − P, c]
// with x = 0 outside [0, T). Causal: P = d·(K − 1), so y[t] sees only x[≤ t] (Mamba's conv1d with
// padding K − 1 then truncation; WaveNet-style dilated causal CNNs). Non-causal: "same" padding
// P = d·(K − 1)/2 on both sides (needs d·(K − 1) even).
// Depthwise (groups == Cin == Cout, as in Mamba-2 with K = 4…8) runs a direct loop over a (K, C)
// transposed weight; the dense/grouped path is im2col + one GEMM per group:
//   col[(b, t), c·K + k] = x[b, t + d·k − P, c],   Y_g = col_g · W_gᵀ
// Backward: dW_g += dY_gᵀ col_g, dcol_g = dY_g W_g then col2im into dx, db += Σ dY.

extension Graph {
    /// 1-D convolution of a channels-last sequence `x` (B, T, Cin) with a PyTorch-layout `weight`
    /// (Cout, Cin/groups, K) and optional `bias` (Cout), giving (B, T, Cout).
    ///
    /// `causal: true` pads `dilation·(K−1)` zeros on the left, so output t depends on inputs ≤ t;
    /// `causal: false` pads `dilation·(K−1)/2` on each side ("same"), which needs an even `dilation·(K−1)`.
    public func conv1d(_ x: Var, weight: Var, bias: Var?, dilation: Int = 1, groups: Int = 1,
                       causal: Bool = true) -> Var {
        let sx = x.shape, sw = weight.shape
        precondition(sx.count == 3, "conv1d: input \(sx) must be (B, T, Cin)")
        precondition(sw.count == 3, "conv1d: weight \(sw) must be (Cout, Cin/groups, K)")
        precondition(groups >= 1 && dilation >= 1, "conv1d: groups \(groups) and dilation \(dilation) must be ≥ 1")
        let (bsz, t, cin) = (sx[0], sx[1], sx[2])
        let (cout, cinG, k) = (sw[0], sw[1], sw[2])
        precondition(cin % groups == 0 && cout % groups == 0 && cinG == cin / groups && k >= 1,
                     "conv1d: weight \(sw) does not match input \(sx) with groups \(groups)")
        if let bias { precondition(bias.shape == [cout], "conv1d: bias \(bias.shape) for weight \(sw)") }
        let span = dilation * (k - 1)
        precondition(causal || span % 2 == 0,
                     "conv1d: non-causal 'same' padding needs dilation·(K−1) even (weight \(sw), dilation \(dilation))")
        let geometry = Conv1dGeometry(batch: bsz, time: t, cin: cin, cout: cout, k: k, groups: groups,
                                      dilation: dilation, padLeft: causal ? span : span / 2)
        let out = Tensor(uninitialized: [bsz, t, cout])
        let y = out.sharedMutablePointer, rows = bsz * t
        if let bias {
            let b = bias.value.pointer
            for r in 0..<rows { (y + r * cout).update(from: b, count: cout) }
        } else {
            y.update(repeating: 0, count: rows * cout)
        }
        if geometry.isDepthwise {
            geometry.depthwiseForward(x: x.value.pointer, weight: weight.value.pointer, y: y)
        } else {
            let col = geometry.im2col(x.value.pointer)
            defer { col.deallocate() }
            let wp = weight.value.pointer, coutG = cout / groups, kc = cinG * k
            for g in 0..<groups {   // Y_g (rows × Cout_g) += col_g (rows × Cin_g·K) · W_gᵀ
                BLAS.gemm(transA: false, transB: true, m: rows, n: coutG, k: kc,
                          a: col + g * kc, lda: cin * k, b: wp + g * coutG * kc, ldb: kc,
                          beta: 1, c: y + g * coutG, ldc: cout)
            }
        }
        let inputs = bias.map { [x, weight, $0] } ?? [x, weight]
        return record(out, inputs: inputs, rule: Conv1dBackward(x: x, weight: weight, bias: bias, geometry: geometry))
    }
}

/// Sizes and padding of one conv1d call, with the kernels shared by forward and backward.
struct Conv1dGeometry {
    let batch: Int, time: Int, cin: Int, cout: Int, k: Int, groups: Int, dilation: Int, padLeft: Int

    var isDepthwise: Bool { groups == cin && cin == cout }

    /// Input time index read by output `t` through tap `tap`, or nil if it falls in the padding.
    @inline(__always) func source(_ t: Int, _ tap: Int) -> Int? {
        let s = t + tap * dilation - padLeft
        return s >= 0 && s < time ? s : nil
    }

    /// col[(b, t), c·K + k] = x[b, t + d·k − P, c] (0 in the padding); caller deallocates.
    func im2col(_ x: UnsafePointer<Float>) -> UnsafeMutablePointer<Float> {
        let width = cin * k
        let col = UnsafeMutablePointer<Float>.allocate(capacity: max(batch * time * width, 1))
        for b in 0..<batch {
            for t in 0..<time {
                let row = col + (b * time + t) * width
                for tap in 0..<k {
                    if let s = source(t, tap) {
                        let xs = x + (b * time + s) * cin
                        for c in 0..<cin { row[c * k + tap] = xs[c] }
                    } else {
                        for c in 0..<cin { row[c * k + tap] = 0 }
                    }
                }
            }
        }
        return col
    }

    /// dx[b, t + d·k − P, c] += dcol[(b, t), c·K + k].
    func col2im(_ dcol: UnsafePointer<Float>, into dx: UnsafeMutablePointer<Float>) {
        let width = cin * k
        for b in 0..<batch {
            for t in 0..<time {
                let row = dcol + (b * time + t) * width
                for tap in 0..<k {
                    guard let s = source(t, tap) else { continue }
                    let dxs = dx + (b * time + s) * cin
                    for c in 0..<cin { dxs[c] += row[c * k + tap] }
                }
            }
        }
    }

    /// The (C, 1, K) depthwise weight as (K, C), so the channel loop is contiguous.
    func transposedDepthwise(_ w: UnsafePointer<Float>) -> UnsafeMutablePointer<Float> {
        let wt = UnsafeMutablePointer<Float>.allocate(capacity: k * cin)
        for c in 0..<cin { for tap in 0..<k { wt[tap * cin + c] = w[c * k + tap] } }
        return wt
    }

    /// y[b, t, c] += Σ_k w[c, 0, k] · x[b, t + d·k − P, c].
    func depthwiseForward(x: UnsafePointer<Float>, weight: UnsafePointer<Float>, y: UnsafeMutablePointer<Float>) {
        let wt = transposedDepthwise(weight)
        defer { wt.deallocate() }
        let c = cin
        for b in 0..<batch {
            for t in 0..<time {
                let yr = y + (b * time + t) * c
                for tap in 0..<k {
                    guard let s = source(t, tap) else { continue }
                    let xs = x + (b * time + s) * c, wk = wt + tap * c
                    for ch in 0..<c { yr[ch] += wk[ch] * xs[ch] }
                }
            }
        }
    }
}

struct Conv1dBackward: BackwardRule {
    let x: Var, weight: Var, bias: Var?
    let geometry: Conv1dGeometry

    func backward(_ dOutputs: [Tensor?], _ g: Graph) {
        guard let dY = dOutputs[0] else { return }
        let geo = geometry, rows = geo.batch * geo.time, cout = geo.cout
        let dy = dY.pointer
        if let bias, g.needsGrad(bias) {   // db += Σ_rows dY
            let db = g.gradBuffer(bias)
            for r in 0..<rows {
                let dr = dy + r * cout
                for o in 0..<cout { db[o] += dr[o] }
            }
        }
        let needX = g.needsGrad(x), needW = g.needsGrad(weight)
        guard needX || needW else { return }
        if geo.isDepthwise {
            depthwiseBackward(dy: dy, g, needX: needX, needW: needW)
        } else {
            denseBackward(dy: dy, g, needX: needX, needW: needW)
        }
    }

    private func depthwiseBackward(dy: UnsafePointer<Float>, _ g: Graph, needX: Bool, needW: Bool) {
        let geo = geometry, c = geo.cin, k = geo.k
        let xp = x.value.pointer
        let wt = geo.transposedDepthwise(weight.value.pointer)
        let dwt = UnsafeMutablePointer<Float>.allocate(capacity: k * c)
        dwt.initialize(repeating: 0, count: k * c)
        defer { wt.deallocate(); dwt.deallocate() }
        let dx = needX ? g.gradBuffer(x) : nil
        for b in 0..<geo.batch {
            for t in 0..<geo.time {
                let dyr = dy + (b * geo.time + t) * c
                for tap in 0..<k {
                    guard let s = geo.source(t, tap) else { continue }
                    let off = (b * geo.time + s) * c
                    if let dx {   // dx[s] += w[:, k] ⊙ dy[t]
                        let dxs = dx + off, wk = wt + tap * c
                        for ch in 0..<c { dxs[ch] += wk[ch] * dyr[ch] }
                    }
                    if needW {    // dw[:, k] += x[s] ⊙ dy[t]
                        let xs = xp + off, dwk = dwt + tap * c
                        for ch in 0..<c { dwk[ch] += xs[ch] * dyr[ch] }
                    }
                }
            }
        }
        if needW {
            let dw = g.gradBuffer(weight)
            for ch in 0..<c { for tap in 0..<k { dw[ch * k + tap] += dwt[tap * c + ch] } }
        }
    }

    private func denseBackward(dy: UnsafePointer<Float>, _ g: Graph, needX: Bool, needW: Bool) {
        let geo = geometry, rows = geo.batch * geo.time, cin = geo.cin, cout = geo.cout, k = geo.k
        let coutG = cout / geo.groups, kc = (cin / geo.groups) * k, width = cin * k
        let wp = weight.value.pointer
        if needW {   // dW_g (Cout_g × Cin_g·K) += dY_gᵀ (Cout_g × rows) · col_g (rows × Cin_g·K)
            let col = geo.im2col(x.value.pointer)
            defer { col.deallocate() }
            let dw = g.gradBuffer(weight)
            for grp in 0..<geo.groups {
                BLAS.gemm(transA: true, transB: false, m: coutG, n: kc, k: rows,
                          a: dy + grp * coutG, lda: cout, b: col + grp * kc, ldb: width,
                          beta: 1, c: dw + grp * coutG * kc, ldc: kc)
            }
        }
        if needX {   // dcol_g (rows × Cin_g·K) = dY_g (rows × Cout_g) · W_g (Cout_g × Cin_g·K), then col2im
            let dcol = UnsafeMutablePointer<Float>.allocate(capacity: max(rows * width, 1))
            defer { dcol.deallocate() }
            for grp in 0..<geo.groups {
                BLAS.gemm(transA: false, transB: false, m: rows, n: kc, k: coutG,
                          a: dy + grp * coutG, lda: cout, b: wp + grp * coutG * kc, ldb: kc,
                          beta: 0, c: dcol + grp * kc, ldc: width)
            }
            geo.col2im(dcol, into: g.gradBuffer(x))
        }
    }
}
