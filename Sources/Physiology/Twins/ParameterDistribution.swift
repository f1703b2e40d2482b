import Foundation

/// Inter-subject distributions of the Hovorka parameters, used to draw the 300 twins
/// (`VirtualPopulation`) and, from an independent stream, the cohort generator's patients.
///
/// Sources:
/// * medians: the Hovorka 2004 nominal values (`HovorkaParameters.nominal`);
/// * CVs of EGP0, F01, k12, ka1–3, S_IT/S_ID/S_IE: the between-subject spread of the IVGTT
///   estimates of Hovorka et al. 2002 (Am J Physiol Endocrinol Metab 282:E992), which Hovorka 2004
///   and the Cambridge simulator (Wilinska et al. 2010, J Diabetes Sci Technol 4:132) reuse as
///   priors — ≈ ±0.0039, ±0.0022, ±0.028, ±0.0056, ±0.051, ±0.024, ±32e-4, ±7.8e-4, ±306e-4 around
///   the nominal values, i.e. CV 24, 23, 43, 100, 74, 77, 63, 96, 59 % (rounded);
/// * k_e (CV 25 %), V_I (10 %), V_G (20 %), t_max,I (25 %), t_max,G (25 %), A_G uniform in
///   0.7–0.9: the Wilinska 2010 virtual-population priors;
/// * correlation of the three insulin sensitivities (ρ(S_IT, S_ID) = 0.75, ρ(S_ID, S_IE) = 0.25) and
///   body weight N(76.3, 15.9) kg: Resalat et al. 2019 (PLOS One 14:e0217301), the OHSU T1D
///   virtual population from the same group as PhysioSeq2Seq.
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
