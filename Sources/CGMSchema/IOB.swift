// Insulin on board, PhysioSeq2Seq §3.3, eqs. 5–7:
//
//   IOB_t = Σ_{e < t} dose(e) · φ(t_ref − t_e),   t_ref = t − 60 min                                 (5)
//   φ(Δ) = Δ/30 for Δ ≤ 30;  1 for 30 < Δ ≤ 90;  exp(−0.012 (Δ − 90)) for Δ > 90   (minutes)          (6)
//   IOB~_t = 2 · min(IOB_t, 4.53) / 4.53 − 1                                                          (7)
//
// Only doses with Δ > 0 count (insulin delivered in the last 60 minutes has not reached circulation;
// φ would be ≤ 0). Doses are the per-bin totals of the 5-minute grid: bolus units plus basal
// micro-doses r/12 (r the bin's basal rate in U/h; a suspension, r = 0, adds nothing), each delivered
// at its bin's grid time. On the grid, Δ = 5k − 60 for a dose k steps back, so
//   IOB_j = Σ_{k=13}^{30} d_{j−k} φ(5k − 60)  +  tail_j,   tail_j = Σ_{k≥31} d_{j−k} e^{−0.012(5k−150)},
// and the tail obeys tail_j = e^{−0.06}·tail_{j−1} + d_{j−31}·e^{−0.06}: the exponential phase is summed
// exactly over the whole history in O(1) per step (no truncation of the 3-phase curve).

import Foundation

/// The insulin-on-board model of PhysioSeq2Seq eqs. 5–7 (constants recorded in `FeatureSpec`).
public struct IOBModel: Codable, Equatable, Sendable {
    /// Reference lag: insulin younger than this is not counted (60 min).
    public var referenceLagMinutes: Int = 60
    /// End of the linear ramp of φ (30 min).
    public var rampMinutes: Int = 30
    /// End of the plateau of φ (90 min).
    public var plateauEndMinutes: Int = 90
    /// Exponential decay rate of φ after the plateau (0.012 per minute).
    public var decayPerMinute: Double = 0.012
    /// Upper end of the normalization range of eq. 7 (4.53 U).
    public var normalizationMax: Double = 4.53

    /// The paper's constants.
    public init() {}

    /// φ(Δ), eq. 6; 0 for Δ ≤ 0 (not yet counted).
    public func activity(_ deltaMinutes: Double) -> Double {
        if deltaMinutes <= 0 { return 0 }
        if deltaMinutes <= Double(rampMinutes) { return deltaMinutes / Double(rampMinutes) }
        if deltaMinutes <= Double(plateauEndMinutes) { return 1 }
        return exp(-decayPerMinute * (deltaMinutes - Double(plateauEndMinutes)))
    }

    /// IOB~ = 2·min(IOB, 4.53)/4.53 − 1, eq. 7 (IOB ≥ 0 maps into [−1, 1]).
    public func scaled(_ iob: Double) -> Double {
        2 * min(max(iob, 0), normalizationMax) / normalizationMax - 1
    }

    /// Weight φ(step·k − lag) of a dose `k` grid steps before t, for k = 0 … `maxSteps`.
    public func weights(maxSteps: Int, stepMinutes: Int = 5) -> [Double] {
        (0 ... maxSteps).map { activity(Double($0 * stepMinutes - referenceLagMinutes)) }
    }

    /// IOB_t (U) at every grid index, eq. 5, for `doses[i]` units delivered at grid index i.
    public func onBoard(doses: [Float], stepMinutes: Int = 5) -> [Float] {
        precondition(stepMinutes > 0 && (referenceLagMinutes + plateauEndMinutes) % stepMinutes == 0,
                     "IOBModel: lag + plateau end (\(referenceLagMinutes + plateauEndMinutes) min) must be a multiple of the \(stepMinutes)-min grid")
        let n = doses.count
        var out = [Float](repeating: 0, count: n)
        let firstCounted = referenceLagMinutes / stepMinutes + 1         // 13: Δ = 5 min
        let firstTail = (referenceLagMinutes + plateauEndMinutes) / stepMinutes + 1  // 31: Δ = 95 min
        let w = weights(maxSteps: firstTail - 1, stepMinutes: stepMinutes)
        let decay = exp(-decayPerMinute * Double(stepMinutes))
        let tailEntry = exp(-decayPerMinute * Double(firstTail * stepMinutes - referenceLagMinutes - plateauEndMinutes))
        var tail = 0.0
        doses.withUnsafeBufferPointer { d in
            for j in 0 ..< n {
                if j >= firstTail { tail = tail * decay + Double(d[j - firstTail]) * tailEntry }
                var sum = tail
                let kMax = min(firstTail - 1, j)
                if kMax >= firstCounted {
                    for k in firstCounted ... kMax { sum += Double(d[j - k]) * w[k] }
                }
                out[j] = Float(sum)
            }
        }
        return out
    }
}
