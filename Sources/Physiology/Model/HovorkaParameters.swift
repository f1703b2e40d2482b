/// Which form of the gut absorption gain `K` (PhysioSeq2Seq App. B) a twin uses.
public enum GutGainForm: String, Codable, Sendable, CaseIterable {
    /// `K = A_G / (0.18 · t_max,G · BW)`, Hovorka et al. 2004's meal appearance (g → mmol, per kg,
    /// over the absorption time): the default, the only form with units that fit `u_G` in g/min.
    case hovorka2004 = "hovorka_2004"
    /// `K = A_G · 0.18 · t_max,G · BW`, App. B as printed: (0.18·t_max,G·BW)² ≈ 2.5·10⁵ times larger for
    /// t_max,G = 40 min and BW = 70 kg, so a 50 g meal drives glucose off any physiological scale
    /// (HovorkaModelTests). Kept so the printed equation can be run as written.
    case appendixBPrinted = "appendix_b_printed"
}

/// The parameters of one digital twin: the 16 of PhysioSeq2Seq Appendix B Table 3 plus the basal
/// insulin rate that holds the twin at its target fasting glucose.
///
/// Units follow the paper: volumes per kg body weight, fluxes in mmol/kg/min, times in minutes.
/// Nominal values are those of Hovorka et al. 2004 (Physiol. Meas. 25:905, Table 1).
public struct HovorkaParameters: Equatable, Sendable, Codable {
    /// `F01` (`f_c01` in Table 3): non-insulin-dependent glucose flux, mmol/kg/min.
    public var f01: Double
    /// `V_G`: glucose distribution volume, L/kg.
    public var vg: Double
    /// `k12`: transfer rate Q2 → Q1, 1/min.
    public var k12: Double
    /// `A_G`: carbohydrate bioavailability, dimensionless.
    public var ag: Double
    /// `t_max,G`: time of maximum gut absorption, min.
    public var tmaxG: Double
    /// `EGP_0`: endogenous glucose production extrapolated to zero insulin, mmol/kg/min.
    public var egp0: Double
    /// `t_max,I`: time of maximum subcutaneous insulin absorption, min.
    public var tmaxI: Double
    /// `k_e`: insulin elimination rate, 1/min.
    public var ke: Double
    /// `V_I`: insulin distribution volume, L/kg.
    public var vi: Double
    /// `k_a1`: deactivation rate of X1 (distribution/transport), 1/min.
    public var ka1: Double
    /// `k_a2`: deactivation rate of X2 (disposal), 1/min.
    public var ka2: Double
    /// `k_a3`: deactivation rate of X3 (endogenous production), 1/min.
    public var ka3: Double
    /// `S_F1` (`S_IT`): insulin sensitivity of distribution/transport, (mU/L)⁻¹ min⁻¹.
    public var sf1: Double
    /// `S_F2` (`S_ID`): insulin sensitivity of disposal, (mU/L)⁻¹ min⁻¹.
    public var sf2: Double
    /// `S_F3` (`S_IE`): insulin sensitivity of endogenous production, (mU/L)⁻¹.
    public var sf3: Double
    /// `BW`: body weight, kg.
    public var bodyWeight: Double
    /// Basal insulin rate (U/h) that holds this twin at its target fasting glucose
    /// (see `SteadyState.basalRate`); 0 until computed.
    public var basalUPerH: Double
    /// The form of `K` (nil: `.hovorka2004`; absent from stored parameter sets made before the switch).
    public var gutGainForm: GutGainForm? = nil

    /// A parameter set; `basalUPerH` defaults to 0 (compute it with `SteadyState.basalRate`).
    public init(f01: Double, vg: Double, k12: Double, ag: Double, tmaxG: Double, egp0: Double,
                tmaxI: Double, ke: Double, vi: Double, ka1: Double, ka2: Double, ka3: Double,
                sf1: Double, sf2: Double, sf3: Double, bodyWeight: Double, basalUPerH: Double = 0) {
        self.f01 = f01
        self.vg = vg
        self.k12 = k12
        self.ag = ag
        self.tmaxG = tmaxG
        self.egp0 = egp0
        self.tmaxI = tmaxI
        self.ke = ke
        self.vi = vi
        self.ka1 = ka1
        self.ka2 = ka2
        self.ka3 = ka3
        self.sf1 = sf1
        self.sf2 = sf2
        self.sf3 = sf3
        self.bodyWeight = bodyWeight
        self.basalUPerH = basalUPerH
    }

    /// Hovorka et al. 2004 nominal values: EGP0 0.0161 mmol/kg/min, F01 0.0097, k12 0.066,
    /// ka1/ka2/ka3 0.006/0.06/0.03, SIT/SID/SIE 51.2e-4/8.2e-4/520e-4, ke 0.138, VI 0.12 L/kg,
    /// VG 0.16 L/kg, tmaxI 55 min, tmaxG 40 min, AG 0.8.
    public static func nominal(bodyWeight: Double = 70) -> HovorkaParameters {
        HovorkaParameters(f01: 0.0097, vg: 0.16, k12: 0.066, ag: 0.8, tmaxG: 40, egp0: 0.0161,
                          tmaxI: 55, ke: 0.138, vi: 0.12, ka1: 0.006, ka2: 0.06, ka3: 0.03,
                          sf1: 51.2e-4, sf2: 8.2e-4, sf3: 520e-4, bodyWeight: bodyWeight)
    }

    /// The sampling interval `T_s` of the discrete twin, minutes (PhysioSeq2Seq §3.1).
    public static let sampleMinutes = 5.0

    /// Gut absorption scaling `K` (Appendix B): converts `M2/t_max,G` in g/min into mmol/kg/min,
    /// `K = A_G / (0.18 · t_max,G · BW)` (1 g of glucose = 1/0.18 mmol; Hovorka 2004). The paper's text
    /// prints "K = aG·0.18·tmax,G·BW"; only the quotient is dimensionally consistent with `G_p = e₉` and
    /// `u_G` in g/min (eq. 2), so it is the default; `gutGainForm = .appendixBPrinted` gives the printed product.
    public var gutGain: Double {
        switch gutGainForm ?? .hovorka2004 {
        case .hovorka2004: return ag / (0.18 * tmaxG * bodyWeight)
        case .appendixBPrinted: return ag * 0.18 * tmaxG * bodyWeight
        }
    }

    /// Converts a basal rate in U/h into the insulin input `u_I` in mU/kg/min.
    public func insulinInput(basalUPerH: Double) -> Double { basalUPerH * 1000 / (60 * bodyWeight) }

    /// Converts a bolus (U) delivered over one sampling interval into `u_I` in mU/kg/min.
    public func insulinInput(bolusU: Double, over minutes: Double = HovorkaParameters.sampleMinutes) -> Double {
        bolusU * 1000 / (minutes * bodyWeight)
    }

    /// Converts `u_I` in mU/kg/min back into U/h.
    public func basalUPerH(insulinInput u: Double) -> Double { u * 60 * bodyWeight / 1000 }

    /// Plasma glucose in mg/dL from the accessible glucose mass `Q1` (PhysioSeq2Seq eq. 4).
    public func glucoseMgDl(q1: Double) -> Double { 18 * q1 / vg }

    /// Accessible glucose mass `Q1` (mmol/kg) for a glucose in mg/dL (inverse of eq. 4).
    public func q1(glucoseMgDl g: Double) -> Double { g * vg / 18 }
}
