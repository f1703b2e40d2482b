import Foundation

// The priors, each with its source and what could be checked (issue 18; the README's "Hovorka population"
// repeats this table). "checked" means compared with a public source found with the search tools; the
// primary papers' tables themselves (Hovorka 2002 AJP-Endo 282:E992, Hovorka 2004 Physiol Meas 25:905
// Tables 1–2, Wilinska 2010 JDST 4:132 Table 1) were not readable here, so every "checked" below is against
// a secondary transcription and says which.
//
// | parameter | ours: median, CV (log-normal), range | claimed source | checked against | result |
// |---|---|---|---|---|
// | EGP0 | 0.0161 mmol/kg/min, 24 %, 0.008–0.030 | median Hovorka 2004; CV "Hovorka 2002" | median: public Hovorka 2004 implementations (EGP_0 = 0.0161·BW) | median ✓; CV not verified |
// | F01 | 0.0097, 23 %, 0.005–0.018 | as EGP0 | same (F_01 = 0.0097·BW) | median ✓; CV not verified |
// | k12 | 0.066 /min, 43 %, 0.02–0.20 | as EGP0 | same; Percival/Doyle-group table (PMC7449052 Table A-1: 0.066) | median ✓; CV not verified |
// | ka1, ka2, ka3 | 0.006, 0.06, 0.03 /min; 100, 74, 77 % | as EGP0 | same (PMC7449052: 0.006, 0.06, 0.03) | medians ✓; CVs not verified |
// | S_IT, S_ID, S_IE | 51.2e-4, 8.2e-4, 520e-4; 63, 96, 59 % | as EGP0 | same (51.2e-4, 8.2e-4, 520e-4) | medians ✓; CVs not verified — Hovorka 2002's abstract reports healthy-subject sensitivities (11.5 ± 3.8, 10.4 ± 3.9, 11.1 ± 2.7 ×10⁻² ml/kg/min per mU/l, n = 6) in other units, which do not give these CVs |
// | k_e | 0.138 /min, 25 %, 0.06–0.30 | median Hovorka 2004; CV Wilinska 2010 | Wilinska priors as transcribed in a public Python simulator: N(0.14, 0.035), 0.05–0.30 | median (0.138 vs 0.14) and CV ✓; range differs slightly |
// | V_I | 0.12 L/kg, 10 %, 0.08–0.18 | Wilinska 2010 | same transcription: N(0.12, 0.012), 0.08–0.18 | ✓ |
// | V_G | 0.16 L/kg, 20 %, 0.10–0.26 | Wilinska 2010 | same transcription: exp N(ln 0.15, 0.23), 0.09–0.25 | ✗ differs (median 0.15, σ_log 0.23) — kept: changing it changes every simulated cohort |
// | t_max,I | 55 min, 25 %, 30–110 | Wilinska 2010 | same transcription: 1/t_max,I = k_a ~ N(0.018, 0.0045), 0.005–0.06 | median (55.6) and spread ✓; range differs (16.7–200 min) |
// | t_max,G | 40 min, 25 %, 20–80 | Wilinska 2010 | same transcription: 1/t_max,G = exp N(−3.689, 0.25), 0.02–0.035 | median (40) and σ ✓; range differs (28.6–50 min) |
// | A_G | uniform 0.7–0.9 | Wilinska 2010 | same transcription: uniform 70–120 % | ✗ differs (upper bound 1.2) — kept, as V_G |
// | BW | N(76.3, 15.9) kg, 45–140 | Resalat et al. 2019 (PLOS One 14:e0217301) | not found (Wilinska's transcription uses N(74.9, 14.4)) | not verified |
// | ρ(S_IT,S_ID) 0.75, ρ(S_ID,S_IE) 0.25 | Resalat et al. 2019 | not found | not verified |
//
// Nominal twin (HovorkaParameters.nominal): the Hovorka 2004 values above plus A_G 0.8, t_max,I 55, t_max,G 40,
// matching the same public implementations (tau_G 40, tau_I 55, A_G 0.8, k_e 0.138).

/// Inter-subject distributions of the Hovorka parameters, used to draw the 300 twins
/// (`VirtualPopulation`) and, from an independent stream, the cohort generator's patients. Each prior's
/// source and what could be verified is in the table above (and the README).
///
/// Rates and sensitivities are log-normal (positive, right-skewed); draws outside the
/// physiological ranges below are resampled (truncation by rejection).
public struct ParameterDistribution: Sendable {
    /// One log-normal marginal: median, CV and the accepted range.
    public struct Marginal: Sendable {
        public var median: Double
        public var cv: Double
        public var range: ClosedRange<Double>
    }

    public var egp0 = Marginal(median: 0.0161, cv: 0.24, range: 0.008...0.030)
    public var f01 = Marginal(median: 0.0097, cv: 0.23, range: 0.005...0.018)
    public var k12 = Marginal(median: 0.066, cv: 0.43, range: 0.02...0.20)
    public var ka1 = Marginal(median: 0.006, cv: 1.00, range: 0.0015...0.03)
    public var ka2 = Marginal(median: 0.06, cv: 0.74, range: 0.01...0.30)
    public var ka3 = Marginal(median: 0.03, cv: 0.77, range: 0.005...0.15)
    public var sf1 = Marginal(median: 51.2e-4, cv: 0.63, range: 8e-4...250e-4)
    public var sf2 = Marginal(median: 8.2e-4, cv: 0.96, range: 0.8e-4...50e-4)
    public var sf3 = Marginal(median: 520e-4, cv: 0.59, range: 80e-4...2500e-4)
    public var ke = Marginal(median: 0.138, cv: 0.25, range: 0.06...0.30)
    public var vi = Marginal(median: 0.12, cv: 0.10, range: 0.08...0.18)
    public var vg = Marginal(median: 0.16, cv: 0.20, range: 0.10...0.26)
    public var tmaxI = Marginal(median: 55, cv: 0.25, range: 30...110)
    public var tmaxG = Marginal(median: 40, cv: 0.25, range: 20...80)
    /// Bioavailability, uniform.
    public var ag: ClosedRange<Double> = 0.7...0.9
    /// Body weight, normal mean/SD (kg) and range.
    public var bodyWeightMean = 76.3, bodyWeightSD = 15.9
    public var bodyWeight: ClosedRange<Double> = 45...140
    /// Correlations between the standard-normal scores of S_IT–S_ID and S_ID–S_IE.
    public var rhoSITSID = 0.75, rhoSIDSIE = 0.25

    /// The published distributions above.
    public init() {}

    /// Draws one parameter set (without the basal rate).
    public func draw(_ rng: inout SeededGenerator) -> HovorkaParameters {
        func logNormal(_ m: Marginal, _ z: (inout SeededGenerator) -> Double) -> Double {
            let sigma = Foundation.log(1 + m.cv * m.cv).squareRoot()
            for _ in 0..<1000 {
                let v = m.median * Foundation.exp(sigma * z(&rng))
                if m.range.contains(v) { return v }
            }
            return min(max(m.median, m.range.lowerBound), m.range.upperBound)
        }
        let independent: (inout SeededGenerator) -> Double = { $0.normal() }
        // Correlated sensitivities: one shared score for S_ID, mixed into S_IT and S_IE.
        let rhoA = rhoSITSID, rhoB = rhoSIDSIE
        var sid = 0.0, sit = 0.0, sie = 0.0
        for _ in 0..<1000 {
            let z0 = rng.normal(), z1 = rng.normal(), z2 = rng.normal()
            let zSIT = rhoA * z0 + (1 - rhoA * rhoA).squareRoot() * z1
            let zSIE = rhoB * z0 + (1 - rhoB * rhoB).squareRoot() * z2
            sid = sf2.median * Foundation.exp(Foundation.log(1 + sf2.cv * sf2.cv).squareRoot() * z0)
            sit = sf1.median * Foundation.exp(Foundation.log(1 + sf1.cv * sf1.cv).squareRoot() * zSIT)
            sie = sf3.median * Foundation.exp(Foundation.log(1 + sf3.cv * sf3.cv).squareRoot() * zSIE)
            if sf1.range.contains(sit) && sf2.range.contains(sid) && sf3.range.contains(sie) { break }
        }
        let egp = logNormal(egp0, independent)
        let f = logNormal(f01, independent)
        let k = logNormal(k12, independent)
        let a1 = logNormal(ka1, independent)
        let a2 = logNormal(ka2, independent)
        let a3 = logNormal(ka3, independent)
        let e = logNormal(ke, independent)
        let vI = logNormal(vi, independent)
        let vG = logNormal(vg, independent)
        let tI = logNormal(tmaxI, independent)
        let tG = logNormal(tmaxG, independent)
        let a = rng.uniform(ag.lowerBound, ag.upperBound)
        let bw = rng.truncatedNormal(mean: bodyWeightMean, sd: bodyWeightSD, in: bodyWeight)
        return HovorkaParameters(f01: f, vg: vG, k12: k, ag: a, tmaxG: tG, egp0: egp, tmaxI: tI, ke: e, vi: vI,
                                 ka1: a1, ka2: a2, ka3: a3, sf1: sit, sf2: sid, sf3: sie, bodyWeight: bw)
    }
}
