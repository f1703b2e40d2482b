// Mamba-2 mixer (Dao & Gu 2024; `mamba_ssm.modules.mamba2.Mamba2`, reference path without fused kernels)
// and SSM-CGM's MES-style variant (appendix A.8).
//   u: (B, L, d_model) → (B, L, d_model)
//
//   [z | xBC | dt] = u W_inᵀ                                   z: d_inner, xBC: d_inner + 2GN, dt: H
//   xBC = SiLU(causal depthwise conv1d(xBC, d_conv) + bias)  →  x (B, L, H, P), B, C (B, L, G, N)
//   Δ = clamp(softplus(dt + dt_bias), dt_limit)               (B, L, H)
//   A = −exp(A_log)                                             (H)
//   standard:  y_h = SSM_h(x_h; Δ_h, A_h, B_g(h), C_g(h)) + D_h x_h          (selectiveScan, eqs. 15–16)
//   MES (A.8): v = (1/H) Σ_h x_h                               (shared value, eq. 19 with V = head mean)
//              y_h = SSM_h(v; Δ_h, A_h, s_h B, C) + D_h v                     (eqs. 20–21 per head)
//              where s_h is a learned per-head scale of the shared B ("B_scale", init 1; B^(h) = s_h B),
//              C = C_sh is shared (ngroups 1). Since the state is linear in B_t x_t, head h's state under
//              B^(h) = s_h B is s_h times its state under B, so the block computes ŷ_h = SSM_h(v; B, C) once
//              with v shared by all heads (`selectiveScanSharedValue`) and y_h = s_h ŷ_h + D_h v
//              (`mesCombine`); the skip uses the unscaled v. With learnable initial states, `init_states`
//              is the initial state of the unscaled system (head h starts from s_h h₀^(h)).
//              Heads stay concatenated (d_inner = H·P) into the gated norm and out_proj: eq. 21's sum
//              z = Σ_h z^(h) is the special case out_proj = [W, …, W]; out_proj, being linear, realizes
//              any per-head weighting of that sum, and the per-head maps of eq. 24 are unchanged.
//   out = RMSNorm(y ⊙ SiLU(z)) W_outᵀ   (gated RMSNorm, norm_before_gate = false, groups of d_inner/G)
//
// Optional learned initial state h₀ (H, P, N) shared by the batch (Table 4 "learnable init states").
//
// Execution: the convolution + SiLU (`depthwiseCausalConvSiLU`) and the gated norm (`gatedRMSNorm`) read
// their columns of the in-projection output in place, and the standard scan reads x, B, C in place from
// the convolution output (`selectiveScanPacked`); the tests check these fused paths against the plain
// ops (slice, conv1d, silu, rmsNormGated) and the block against the PyTorch reference mixer.

import CGMTensor
import Layers

/// The bound parameters of one `Mamba2Block` (lets tests and callers pass plain `Var`s).
public struct Mamba2Weights {
    /// in_proj (d_in_proj, d_model), conv1d weight (conv_dim, 1, d_conv) and bias (conv_dim),
    /// dt_bias, A_log, D (H each).
    public var inProj: Var, convWeight: Var, convBias: Var, dtBias: Var, aLog: Var, d: Var
    /// norm weight (d_inner), out_proj (d_model, d_inner).
    public var normWeight: Var, outProj: Var
    /// MES only: per-head scale of B, (H).
    public var bScale: Var?
    /// With learnable initial states: (H, P, N).
    public var initStates: Var?

    /// Collects the weights (shapes as documented on the properties).
    public init(inProj: Var, convWeight: Var, convBias: Var, dtBias: Var, aLog: Var, d: Var, normWeight: Var,
                outProj: Var, bScale: Var? = nil, initStates: Var? = nil) {
        (self.inProj, self.convWeight, self.convBias, self.dtBias, self.aLog, self.d) =
            (inProj, convWeight, convBias, dtBias, aLog, d)
        (self.normWeight, self.outProj, self.bScale, self.initStates) = (normWeight, outProj, bScale, initStates)
    }
}

/// Intermediate values of one `Mamba2Block.forward`, captured for hidden attention (`forward(trace:)`).
public final class Mamba2Trace {
    /// The value sequence each head's kernel multiplies, (B, L, H, P): x (standard) or v repeated (MES).
    public internal(set) var values: Tensor?
    /// Δ after softplus and clamp, (B, L, H).
    public internal(set) var dt: Tensor?
    /// A = −exp(A_log), (H).
    public internal(set) var A: Tensor?
    /// B, (B, L, G, N).
    public internal(set) var B: Tensor?
    /// C, (B, L, G, N).
    public internal(set) var C: Tensor?
    /// D, (H).
    public internal(set) var D: Tensor?
    /// B_scale (H), MES only.
    public internal(set) var bScale: Tensor?
    /// Per-head SSM output y_h including the D skip (the input of the gated norm), (B, L, H, P).
    public internal(set) var y: Tensor?

    /// An empty trace for `Mamba2Block.forward(_:_:trace:)` to fill.
    public init() {}
}

/// One Mamba-2 mixer whose parameters live in a `ParameterStore` under `mamba_ssm` names.
public struct Mamba2Block {
    /// The block's hyper-parameters.
    public let config: Mamba2Config
    /// "name.in_proj" (d_in_proj, d_model), no bias.
    public let inProj: Linear
    /// "name.conv1d" (conv_dim, 1, d_conv) depthwise with bias.
    public let conv: Conv1d
    /// "name.dt_bias", "name.A_log", "name.D": (H) each, no weight decay.
    public let dtBias: ParameterID, aLog: ParameterID, d: ParameterID
    /// MES only: "name.B_scale" (H), ones, no weight decay.
    public let bScale: ParameterID?
    /// Learnable initial states only: "name.init_states" (H, P, N), zeros, no weight decay.
    public let initStates: ParameterID?
    /// "name.norm.weight" (d_inner), ones, no weight decay.
    public let normWeight: ParameterID
    /// "name.out_proj" (d_model, d_inner), no bias.
    public let outProj: Linear

    /// Registers the parameters under `name` and initializes them as `mamba_ssm` does (see `Mamba2Init`):
    /// in_proj/out_proj and conv1d with the PyTorch defaults, dt_bias, A_log, D, norm weight 1.
    public init(_ store: ParameterStore, _ name: String, config: Mamba2Config, rng: inout PhiloxGenerator) {
        config.validate("Mamba2Block '\(name)'")
        self.config = config
        let c = config, h = c.nheads
        inProj = Linear(store, "\(name).in_proj", inFeatures: c.dModel, outFeatures: c.inProjFeatures, bias: false,
                        rng: &rng)
        conv = Conv1d(store, "\(name).conv1d", inChannels: c.convDim, outChannels: c.convDim, kernelSize: c.dConv,
                      groups: c.convDim, bias: true, causal: true, rng: &rng)
        dtBias = store.add("\(name).dt_bias", Mamba2Init.dtBias(heads: h, dtMin: c.dtMin, dtMax: c.dtMax,
                                                                floor: c.dtInitFloor, rng: &rng), weightDecay: false)
        aLog = store.add("\(name).A_log", Mamba2Init.aLog(heads: h, range: c.aInitRange, rng: &rng), weightDecay: false)
        d = store.add("\(name).D", Tensor(repeating: 1, shape: [h]), weightDecay: false)
        bScale = c.variant == .mes
            ? store.add("\(name).B_scale", Tensor(repeating: 1, shape: [h]), weightDecay: false) : nil
        initStates = c.learnableInitStates
            ? store.add("\(name).init_states", Tensor(zeros: [h, c.headdim, c.dState]), weightDecay: false) : nil
        normWeight = store.add("\(name).norm.weight", Tensor(repeating: 1, shape: [c.dInner]), weightDecay: false)
        outProj = Linear(store, "\(name).out_proj", inFeatures: c.dInner, outFeatures: c.dModel, bias: false, rng: &rng)
    }

    /// This block's parameters bound to `p`'s graph.
    public func weights(_ p: BoundParameters) -> Mamba2Weights {
        Mamba2Weights(inProj: p[inProj.weight], convWeight: p[conv.weight], convBias: p[conv.bias!],
                      dtBias: p[dtBias], aLog: p[aLog], d: p[d], normWeight: p[normWeight],
                      outProj: p[outProj.weight], bScale: bScale.map { p[$0] }, initStates: initStates.map { p[$0] })
    }

    /// u (B, L, d_model) → (B, L, d_model).
    public func callAsFunction(_ u: Var, _ p: BoundParameters) -> Var { forward(u, weights(p)) }

    /// The mixer on explicit weights; with a `trace`, intermediate values are recorded into it.
    public func forward(_ u: Var, _ w: Mamba2Weights, trace: Mamba2Trace? = nil) -> Var {
        let c = config, g = u.graph
        precondition(u.shape.count == 3 && u.shape[2] == c.dModel,
                     "Mamba2Block: input \(u.shape) must be (B, L, d_model = \(c.dModel))")
        let (nb, l) = (u.shape[0], u.shape[1])
        let (di, h, p, gs, n) = (c.dInner, c.nheads, c.headdim, c.ngroups, c.dState)
        let zxbcdt = g.linear(u, weight: w.inProj, bias: nil)
        // x, B, C = SiLU(conv1d(xBC)), read in place from the in-projection (fused, no slice copies).
        let xBC = g.depthwiseCausalConvSiLU(zxbcdt, columns: di..<(di + c.convDim), weight: w.convWeight,
                                            bias: w.convBias)
        let dtRaw = g.slice(zxbcdt, axis: 2, range: (di + c.convDim)..<c.inProjFeatures)
        var dt = g.softplus(g.add(dtRaw, w.dtBias))
        if let limit = c.dtLimit { dt = g.clamp(dt, min: limit.lowerBound, max: limit.upperBound) }
        let a = g.neg(g.exp(w.aLog))
        let h0 = w.initStates.map { s in
            g.concat(Array(repeating: g.reshape(s, to: [1, h, p, n]), count: nb), axis: 0)
        }
        let y: Var
        var mesValue: Var?
        switch c.variant {
        case .standard:
            y = g.selectiveScanPacked(xBC, heads: h, headdim: p, groups: gs, dstate: n, dt: dt, A: a, D: w.d,
                                      initialState: h0, chunk: c.chunk)
        case .mes:
            guard let bScale = w.bScale else { preconditionFailure("Mamba2Block: the MES variant needs B_scale") }
            let v = g.headMean(xBC, columns: 0..<di, heads: h)                 // (B, L, P), eq. 19
            mesValue = v
            let bm = g.reshape(g.slice(xBC, axis: 2, range: di..<(di + n)), to: [nb, l, 1, n])
            let cm = g.reshape(g.slice(xBC, axis: 2, range: (di + n)..<c.convDim), to: [nb, l, 1, n])
            // ŷ_h = SSM_h(v; B, C): one shared value for all heads; then y_h = s_h ŷ_h + D_h v, since the
            // scan is linear in B_t x_t (B^(h) = s_h B scales head h's SSM output by s_h).
            let yHat = g.selectiveScanSharedValue(v, heads: h, dt: dt, A: a, B: bm, C: cm, D: nil,
                                                  initialState: h0, chunk: c.chunk)
            y = g.mesCombine(yHat, value: v, scale: bScale, skip: w.d)
        }
        if let trace { record(trace, xBC: xBC.value, mesValue: mesValue?.value, dt: dt.value, A: a.value, w: w, y: y.value) }
        let normed = g.gatedRMSNorm(g.reshape(y, to: [nb, l, di]), gateSource: zxbcdt, gateColumns: 0..<di,
                                    weight: w.normWeight, eps: c.normEps, groupSize: di / gs)
        return g.linear(normed, weight: w.outProj, bias: nil)
    }

    /// Copies the scan's operands out of the packed conv output into `trace`.
    private func record(_ trace: Mamba2Trace, xBC: Tensor, mesValue: Tensor?, dt: Tensor, A: Tensor,
                        w: Mamba2Weights, y: Tensor) {
        let c = config, (nb, l) = (xBC.shape[0], xBC.shape[1])
        let (di, h, p, gn) = (c.dInner, c.nheads, c.headdim, c.ngroups * c.dState)
        func columns(_ lo: Int, _ count: Int, _ shape: [Int]) -> Tensor {
            let t = Tensor(uninitialized: shape)
            let src = xBC.pointer, dst = t.sharedMutablePointer
            for r in 0..<(nb * l) { (dst + r * count).update(from: src + r * c.convDim + lo, count: count) }
            return t
        }
        if let v = mesValue {   // the shared value, repeated over the heads
            let rep = Tensor(uninitialized: [nb, l, h, p])
            let src = v.pointer, dst = rep.sharedMutablePointer
            for r in 0..<(nb * l) { for hh in 0..<h { (dst + (r * h + hh) * p).update(from: src + r * p, count: p) } }
            trace.values = rep
        } else {
            trace.values = columns(0, di, [nb, l, h, p])
        }
        trace.B = columns(di, gn, [nb, l, c.ngroups, c.dState])
        trace.C = columns(di + gn, gn, [nb, l, c.ngroups, c.dState])
        (trace.dt, trace.A, trace.D, trace.bScale, trace.y) = (dt, A, w.d.value, w.bScale?.value, y)
    }

    /// Hidden attention (SSM-CGM eqs. 17–18, 22–25) of this block on input `u` (B, L, d_model): runs the
    /// block without recording and unrolls its scan. Assumes a zero initial state (with learnable initial
    /// states, their contribution is not attributed to any lag).
    public func hiddenAttention(_ u: Tensor, _ store: ParameterStore, tau: Double = 1,
                                epsilon: Double = 1e-9) -> HiddenAttention {
        let g = Graph(training: false, recording: false)
        let trace = Mamba2Trace()
        _ = forward(g.constant(u), weights(store.bind(g)), trace: trace)
        return SelectiveScanAnalysis.hiddenAttention(dt: trace.dt!, A: trace.A!, B: trace.B!, C: trace.C!,
                                                     headdim: config.headdim, bScale: trace.bScale,
                                                     tau: tau, epsilon: epsilon)
    }
}
