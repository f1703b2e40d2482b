// Hyper-parameters of one Mamba-2 mixer (Dao & Gu 2024; `mamba_ssm.modules.mamba2.Mamba2`) and its
// MES-style variant (SSM-CGM appendix A.8).
//   d_inner = expand · d_model,  H = d_inner / headdim,  conv_dim = d_inner + 2·G·N
//   in_proj: d_model → [z (d_inner) | x (d_inner) | B (G·N) | C (G·N) | dt (H)]   (mamba_ssm order)

/// Which Mamba-2 mixer to build.
public enum Mamba2Variant: String, Sendable, Codable, CaseIterable {
    /// Mamba-2 as in `mamba_ssm`: per-head x, grouped B and C.
    case standard
    /// SSM-CGM's MES-style mixer (appendix A.8): one value v = mean over heads of x shared by all heads,
    /// one readout C shared by all heads (ngroups 1), per-head dynamics (B scaled by a learned per-head
    /// scalar, A, Δ) and per-head D.
    case mes
}

/// Configuration of a Mamba-2 mixer. Defaults are `mamba_ssm`'s except `dtLimit` and `chunk`, which follow
/// SSM-CGM Table 4; `Mamba2Config.ssmCGM` is the whole of Table 4.
public struct Mamba2Config: Sendable, Equatable {
    /// Model width d_model (input and output features).
    public var dModel: Int
    /// SSM state size N (d_state).
    public var dState: Int
    /// Depthwise causal convolution width (d_conv).
    public var dConv: Int
    /// d_inner = expand · d_model.
    public var expand: Int
    /// Channels per head P.
    public var headdim: Int
    /// Groups G of B and C (must be 1 for `.mes`).
    public var ngroups: Int
    /// Chunk length of the SSD scan (any positive value; need not divide L).
    public var chunk: Int
    /// Δ at initialization is log-uniform in [dtMin, dtMax], floored at dtInitFloor.
    public var dtMin: Float
    /// Upper end of the initial Δ range.
    public var dtMax: Float
    /// Lower bound applied to the initial Δ (mamba_ssm `dt_init_floor`).
    public var dtInitFloor: Float
    /// Δ = softplus(dt + dt_bias) is clamped to this range (nil: no clamp, mamba_ssm's (0, ∞) default).
    public var dtLimit: ClosedRange<Float>?
    /// A_log = ln U[aInitRange] at initialization.
    public var aInitRange: ClosedRange<Float>
    /// ε of the gated RMSNorm.
    public var normEps: Float
    /// Learned initial SSM state per head (`mamba2_simple.Mamba2Simple.learnable_init_states`), zero at init.
    public var learnableInitStates: Bool
    /// Standard Mamba-2 or the MES-style variant.
    public var variant: Mamba2Variant

    /// A configuration; every default is mamba_ssm's except `chunk` (128) and `dtLimit` (1e-3…10).
    public init(dModel: Int, dState: Int = 128, dConv: Int = 4, expand: Int = 2, headdim: Int = 64,
                ngroups: Int = 1, chunk: Int = 128, dtMin: Float = 1e-3, dtMax: Float = 0.1,
                dtInitFloor: Float = 1e-4, dtLimit: ClosedRange<Float>? = 1e-3...10,
                aInitRange: ClosedRange<Float> = 1...16, normEps: Float = 1e-5,
                learnableInitStates: Bool = false, variant: Mamba2Variant = .standard) {
        self.dModel = dModel
        self.dState = dState
        self.dConv = dConv
        self.expand = expand
        self.headdim = headdim
        self.ngroups = ngroups
        self.chunk = chunk
        self.dtMin = dtMin
        self.dtMax = dtMax
        self.dtInitFloor = dtInitFloor
        self.dtLimit = dtLimit
        self.aInitRange = aInitRange
        self.normEps = normEps
        self.learnableInitStates = learnableInitStates
        self.variant = variant
    }

    /// SSM-CGM Table 4: d_model 128, d_state 128, d_conv 8, expand 4, headdim 64 (8 heads), ngroups 1,
    /// chunk 128, dt limit (1e-3, 10), learnable initial states, MES-style heads.
    public static func ssmCGM(dModel: Int = 128, variant: Mamba2Variant = .mes) -> Mamba2Config {
        Mamba2Config(dModel: dModel, dState: 128, dConv: 8, expand: 4, headdim: 64, ngroups: 1, chunk: 128,
                     dtLimit: 1e-3...10, learnableInitStates: true, variant: variant)
    }

    /// d_inner = expand · d_model.
    public var dInner: Int { expand * dModel }
    /// Number of heads H = d_inner / headdim.
    public var nheads: Int { dInner / headdim }
    /// Channels of the convolution: x, B and C.
    public var convDim: Int { dInner + 2 * ngroups * dState }
    /// Output features of in_proj: z, x, B, C, dt.
    public var inProjFeatures: Int { 2 * dInner + 2 * ngroups * dState + nheads }

    /// What is wrong with the configuration (empty when valid), each as the setting and the problem, e.g.
    /// ("headdim", "must divide expand · d_model = 64 (got 6)"); `expandKey` names `expand` in messages.
    public func problems(expandKey: String = "expand") -> [(key: String, message: String)] {
        var p: [(key: String, message: String)] = []
        for (key, v) in [("d_model", dModel), ("d_state", dState), ("d_conv", dConv), (expandKey, expand),
                         ("headdim", headdim), ("ngroups", ngroups), ("chunk", chunk)] where v < 1 {
            p.append((key, "must be ≥ 1 (got \(v))"))
        }
        guard p.isEmpty else { return p }
        if dInner % headdim != 0 {
            p.append(("headdim", "must divide \(expandKey) · d_model = \(dInner) (got \(headdim))"))
        } else if nheads % ngroups != 0 {
            p.append(("ngroups", "must divide the \(nheads) heads of \(expandKey) · d_model / headdim (got \(ngroups))"))
        }
        if variant == .mes && ngroups != 1 {
            p.append(("ngroups", "must be 1 for variant mes (one readout C shared by all heads; got \(ngroups))"))
        }
        if !(dtMin > 0 && dtMin <= dtMax && dtInitFloor >= 0) {
            p.append(("dt", "needs 0 < dtMin ≤ dtMax and dtInitFloor ≥ 0 (got \(dtMin), \(dtMax), \(dtInitFloor))"))
        }
        if aInitRange.lowerBound <= 0 { p.append(("a_init_range", "\(aInitRange) must be positive (A = −exp(A_log))")) }
        if let dtLimit, dtLimit.lowerBound < 0 { p.append(("dt_limit", "\(dtLimit) must be non-negative")) }
        return p
    }

    /// Traps with a message naming the offending field when the configuration is inconsistent (`problems`).
    public func validate(_ context: String = "Mamba2Config") {
        let p = problems()
        precondition(p.isEmpty, "\(context): " + p.map { "\($0.key) \($0.message)" }.joined(separator: "; ") + " (\(self))")
    }
}
