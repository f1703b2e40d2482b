/// Four twins side by side: the unit of work of the discrete step kernel (`DiscreteStep`).
typealias Lanes = SIMD4<Double>

/// Number of twins advanced together by the kernel.
let laneWidth = Lanes.scalarCount

/// The per-twin constants of the discrete step for four twins (structure of arrays): rate
/// constants of eq. 16, unit conversions, and the structured nonzeros of the exact discrete linear
/// block (`LinearSubsystem`). Everything here is state-independent and computed once per twin.
struct TwinLaneConstants: Sendable {
    // Continuous rates (eq. 16).
    var tIinv = Lanes(), cI = Lanes(), ke = Lanes()
    var ka1 = Lanes(), kb1 = Lanes(), ka2 = Lanes(), kb2 = Lanes(), ka3 = Lanes(), kb3 = Lanes()
    var tGinv = Lanes(), gutGain = Lanes(), k12 = Lanes(), egp0 = Lanes(), f01 = Lanes(), vg = Lanes()
    /// `F01/(4.5·V_G)`: the frozen `k01` below 4.5 mmol/L.
    var f01Low = Lanes()
    /// `18/V_G`: Q1 → mg/dL (eq. 4).
    var mgdlPerQ1 = Lanes()
    /// `V_G/18`: mg/dL → Q1.
    var q1PerMgdl = Lanes()
    /// U/h → mU/kg/min and U per step → mU/kg/min.
    var insulinPerUPerH = Lanes(), insulinPerBolusU = Lanes()
    // Nonzeros of Φ (z = S1, S2, I, X1, X2, X3, M1, M2; Φ is lower triangular with this pattern).
    var pS1S1 = Lanes()
    var pS2S1 = Lanes(), pS2S2 = Lanes()
    var pIS1 = Lanes(), pIS2 = Lanes(), pII = Lanes()
    var pX1S1 = Lanes(), pX1S2 = Lanes(), pX1I = Lanes(), pX1X1 = Lanes()
    var pX2S1 = Lanes(), pX2S2 = Lanes(), pX2I = Lanes(), pX2X2 = Lanes()
    var pX3S1 = Lanes(), pX3S2 = Lanes(), pX3I = Lanes(), pX3X3 = Lanes()
    var pM1M1 = Lanes(), pM2M1 = Lanes(), pM2M2 = Lanes()
    // Nonzeros of Γ_I and Γ_G.
    var gS1 = Lanes(), gS2 = Lanes(), gI = Lanes(), gX1 = Lanes(), gX2 = Lanes(), gX3 = Lanes()
    var gM1 = Lanes(), gM2 = Lanes()

    /// Packs up to four twins; missing lanes repeat the last twin.
    init(_ twins: [(HovorkaParameters, LinearSubsystem)]) {
        precondition(!twins.isEmpty && twins.count <= laneWidth, "TwinLaneConstants: 1…\(laneWidth) twins")
        for lane in 0..<laneWidth {
            let (p, l) = twins[min(lane, twins.count - 1)]
            tIinv[lane] = 1 / p.tmaxI
            cI[lane] = 1 / (p.tmaxI * p.vi)
            ke[lane] = p.ke
            ka1[lane] = p.ka1; kb1[lane] = p.ka1 * p.sf1
            ka2[lane] = p.ka2; kb2[lane] = p.ka2 * p.sf2
            ka3[lane] = p.ka3; kb3[lane] = p.ka3 * p.sf3
            tGinv[lane] = 1 / p.tmaxG
            gutGain[lane] = p.gutGain
            k12[lane] = p.k12
            egp0[lane] = p.egp0
            f01[lane] = p.f01
            vg[lane] = p.vg
            f01Low[lane] = p.f01 / (HovorkaODE.f01Threshold * p.vg)
            mgdlPerQ1[lane] = 18 / p.vg
            q1PerMgdl[lane] = p.vg / 18
            insulinPerUPerH[lane] = p.insulinInput(basalUPerH: 1)
            insulinPerBolusU[lane] = p.insulinInput(bolusU: 1)
            // z indices: 0 S1, 1 S2, 2 I, 3 X1, 4 X2, 5 X3, 6 M1, 7 M2.
            pS1S1[lane] = l.phi(0, 0)
            pS2S1[lane] = l.phi(1, 0); pS2S2[lane] = l.phi(1, 1)
            pIS1[lane] = l.phi(2, 0); pIS2[lane] = l.phi(2, 1); pII[lane] = l.phi(2, 2)
            pX1S1[lane] = l.phi(3, 0); pX1S2[lane] = l.phi(3, 1); pX1I[lane] = l.phi(3, 2); pX1X1[lane] = l.phi(3, 3)
            pX2S1[lane] = l.phi(4, 0); pX2S2[lane] = l.phi(4, 1); pX2I[lane] = l.phi(4, 2); pX2X2[lane] = l.phi(4, 4)
            pX3S1[lane] = l.phi(5, 0); pX3S2[lane] = l.phi(5, 1); pX3I[lane] = l.phi(5, 2); pX3X3[lane] = l.phi(5, 5)
            pM1M1[lane] = l.phi(6, 6); pM2M1[lane] = l.phi(7, 6); pM2M2[lane] = l.phi(7, 7)
            gS1[lane] = l.gammaInsulin[0]; gS2[lane] = l.gammaInsulin[1]; gI[lane] = l.gammaInsulin[2]
            gX1[lane] = l.gammaInsulin[3]; gX2[lane] = l.gammaInsulin[4]; gX3[lane] = l.gammaInsulin[5]
            gM1[lane] = l.gammaMeal[6]; gM2[lane] = l.gammaMeal[7]
        }
    }
}

/// The 10 states of four twins (structure of arrays), eq. 1 order.
struct LaneState: Sendable {
    var q1 = Lanes(), q2 = Lanes(), s1 = Lanes(), s2 = Lanes(), i = Lanes()
    var x1 = Lanes(), x2 = Lanes(), x3 = Lanes(), m1 = Lanes(), m2 = Lanes()

    init() {}

    /// All lanes set to `x`.
    init(broadcast x: HovorkaState) {
        q1 = Lanes(repeating: x.q1); q2 = Lanes(repeating: x.q2)
        s1 = Lanes(repeating: x.s1); s2 = Lanes(repeating: x.s2); i = Lanes(repeating: x.i)
        x1 = Lanes(repeating: x.x1); x2 = Lanes(repeating: x.x2); x3 = Lanes(repeating: x.x3)
        m1 = Lanes(repeating: x.m1); m2 = Lanes(repeating: x.m2)
    }

    /// Sets lane `lane` to `x`.
    mutating func set(_ lane: Int, _ x: HovorkaState) {
        q1[lane] = x.q1; q2[lane] = x.q2; s1[lane] = x.s1; s2[lane] = x.s2; i[lane] = x.i
        x1[lane] = x.x1; x2[lane] = x.x2; x3[lane] = x.x3; m1[lane] = x.m1; m2[lane] = x.m2
    }

    /// The state of lane `lane`.
    func state(_ lane: Int) -> HovorkaState {
        HovorkaState(q1: q1[lane], q2: q2[lane], s1: s1[lane], s2: s2[lane], i: i[lane],
                     x1: x1[lane], x2: x2[lane], x3: x3[lane], m1: m1[lane], m2: m2[lane])
    }
}
