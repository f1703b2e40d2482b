// Mamba-2 selective scan, naive sequential form: the reference twin of the chunked SSD op (tests only).
//   x: (B, L, H, P)  dt (Δ): (B, L, H)  A: (H)  Bm, Cm: (B, L, G, N)  D: (H)?  h₀: (B, H, P, N)?
//   → y: (B, L, H, P) [, h_L: (B, H, P, N)]
//
//   h_t = ā_t h_{t−1} + Δ_t x_t B_tᵀ,   ā_t = e^{Δ_t A},   y_t = h_t C_t + D x_t      (t = 0 … L−1)
//
// Every state h_t is stored (O(L·H·P·N) memory), which is why this is a test twin and not the training
// path. Backward, t from L−1 down to 0, carrying dh = ∂ℓ/∂h_t (initially ∂ℓ/∂h_L or 0):
//   dh += dy_t C_tᵀ,  dC_t += h_tᵀ dy_t,  dx_t += D dy_t,  dD += dy_t · x_t
//   dΔ_t += Σ dh ⊙ (x_t B_tᵀ) + (Σ dh ⊙ h_{t−1}) ā_t A,   dA += (Σ dh ⊙ h_{t−1}) ā_t Δ_t
//   dx_t += Δ_t dh B_t,  dB_t += Δ_t dhᵀ x_t,  then dh ← ā_t dh  (= ∂ℓ/∂h_{t−1}; at t = 0 it is ∂ℓ/∂h₀)

import Foundation

extension Graph {
    /// The selective scan of `selectiveScan`, computed one step at a time (reference for tests).
    /// Same operands and result; `returnFinalState` adds h_L (B, H, P, N) as the second element.
    public func selectiveScanSequential(_ x: Var, dt: Var, A: Var, B: Var, C: Var, D: Var? = nil,
                                        initialState: Var? = nil, returnFinalState: Bool = false) -> [Var] {
        let sh = SelectiveScanShape(x: x.shape, dt: dt.shape, A: A.shape, B: B.shape, C: C.shape, D: D?.shape,
                                    initialState: initialState?.shape, op: "selectiveScanSequential")
        let (l, hs, p, n, gn, hg, sz) = (sh.length, sh.heads, sh.headdim, sh.dstate, sh.gn, sh.headsPerGroup,
                                         sh.stateSize)
        let y = Tensor(uninitialized: x.shape)
        // states[(b·(L+1) + t + 1)·sz …] = h_t; slot t = −1 holds h₀.
        let states = Tensor(zeros: [sh.batch * (l + 1) * sz])
        let xp = x.value.pointer, dtp = dt.value.pointer, ap = A.value.pointer
        let bp = B.value.pointer, cp = C.value.pointer, dp = D?.value.pointer
        let yp = y.sharedMutablePointer, st = states.sharedMutablePointer
        for b in 0..<sh.batch {
            if let h0 = initialState?.value.pointer { (st + b * (l + 1) * sz).update(from: h0 + b * sz, count: sz) }
            for t in 0..<l {
                let prev = st + (b * (l + 1) + t) * sz, cur = prev + sz
                let row = b * l + t
                for h in 0..<hs {
                    let g = h / hg, delta = dtp[row * hs + h], decay = Foundation.exp(delta * ap[h])
                    let bt = bp + row * gn + g * n, ct = cp + row * gn + g * n
                    let xt = xp + row * sh.hp + h * p, yt = yp + row * sh.hp + h * p
                    for i in 0..<p {
                        let hp0 = prev + (h * p + i) * n, hc = cur + (h * p + i) * n
                        var acc: Float = 0
                        for k in 0..<n {
                            hc[k] = decay * hp0[k] + delta * xt[i] * bt[k]
                            acc += hc[k] * ct[k]
                        }
                        yt[i] = acc + (dp?[h] ?? 0) * xt[i]
                    }
                }
            }
        }
        var outputs = [y]
        if returnFinalState {
            let final = Tensor(uninitialized: sh.stateShape)
            for b in 0..<sh.batch {
                final.sharedMutablePointer.advanced(by: b * sz).update(from: st + (b * (l + 1) + l) * sz, count: sz)
            }
            outputs.append(final)
        }
        var inputs = [x, dt, A, B, C]
        if let D { inputs.append(D) }
        if let initialState { inputs.append(initialState) }
        return record(outputs, inputs: inputs, rule: SequentialScanBackward(
            shape: sh, x: x, dt: dt, A: A, B: B, C: C, D: D, initialState: initialState, states: states))
    }
}

struct SequentialScanBackward: BackwardRule {
    let shape: SelectiveScanShape
    let x: Var, dt: Var, A: Var, B: Var, C: Var, D: Var?, initialState: Var?
    /// h_{−1} … h_{L−1} per batch element.
    let states: Tensor

    func backward(_ dOutputs: [Tensor?], _ g: Graph) {
        let sh = shape
        let (l, hs, p, n, gn, hg, sz) = (sh.length, sh.heads, sh.headdim, sh.dstate, sh.gn, sh.headsPerGroup,
                                         sh.stateSize)
        let dY = dOutputs[0]?.pointer, dFinal = dOutputs.count > 1 ? dOutputs[1]?.pointer : nil
        func grad(_ v: Var?) -> UnsafeMutablePointer<Float>? {
            guard let v, g.needsGrad(v) else { return nil }
            return g.gradBuffer(v)
        }
        let dx = grad(x), ddt = grad(dt), dA = grad(A), dB = grad(B), dC = grad(C), dD = grad(D)
        let dh0 = grad(initialState)
        let xp = x.value.pointer, dtp = dt.value.pointer, ap = A.value.pointer
        let bp = B.value.pointer, cp = C.value.pointer, dp = D?.value.pointer, st = states.pointer
        let dh = UnsafeMutablePointer<Float>.allocate(capacity: sz)
        defer { dh.deallocate() }
        for b in 0..<sh.batch {
            if let dFinal { dh.update(from: dFinal + b * sz, count: sz) } else { dh.update(repeating: 0, count: sz) }
            for t in stride(from: l - 1, through: 0, by: -1) {
                let prev = st + (b * (l + 1) + t) * sz, cur = prev + sz
                let row = b * l + t
                for h in 0..<hs {
                    let gi = h / hg, delta = dtp[row * hs + h], a = ap[h], decay = Foundation.exp(delta * a)
                    let bt = bp + row * gn + gi * n, ct = cp + row * gn + gi * n
                    let xt = xp + row * sh.hp + h * p
                    var dDecay: Float = 0, dDelta: Float = 0, dDh: Float = 0
                    for i in 0..<p {
                        let dhr = dh + (h * p + i) * n, hc = cur + (h * p + i) * n, hpv = prev + (h * p + i) * n
                        if let dY {
                            let dyi = dY[row * sh.hp + h * p + i]
                            for k in 0..<n {
                                dhr[k] += dyi * ct[k]
                                dC?[row * gn + gi * n + k] += dyi * hc[k]
                            }
                            dDh += dyi * xt[i]
                            dx?[row * sh.hp + h * p + i] += (dp?[h] ?? 0) * dyi
                        }
                        var dxi: Float = 0
                        for k in 0..<n {
                            dDecay += dhr[k] * hpv[k]
                            dDelta += dhr[k] * xt[i] * bt[k]
                            dxi += dhr[k] * bt[k]
                            dB?[row * gn + gi * n + k] += delta * dhr[k] * xt[i]
                            dhr[k] *= decay
                        }
                        dx?[row * sh.hp + h * p + i] += delta * dxi
                    }
                    ddt?[row * hs + h] += dDelta + dDecay * decay * a
                    dA?[h] += dDecay * decay * delta
                    dD?[h] += dDh
                }
            }
            if let dh0 { for k in 0..<sz { dh0[b * sz + k] += dh[k] } }
        }
    }
}
