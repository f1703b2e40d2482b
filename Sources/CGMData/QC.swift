// Window quality control, PhysioSeq2Seq Appendix C. A candidate window (history t−L+1 … t, horizon
// t+1 … t+H on the 5-minute grid) is excluded if:
//   1. fewer than 18 CGM points in the 3-hour history (density; for other L: ⌈18·L/37⌉ points) —
//      a point is a grid bin (T−5 min, T] holding at least one raw reading;
//   2. CGM rate of change > 40 mg/dL per 5 minutes between consecutive history points;
//   3. the closest raw CGM reading at or before t is > 5 minutes old (stale sensor alignment);
//   4. residual NaN in the CGM after interpolating gaps ≤ 3 steps (15 min) — always checked. Where
//      depends on `ResidualNaNScope` (`data.residual_nan_scope`):
//        window        t−L+1 … t+H, the history and the 4-h targets (default: our models need every
//                      target, having no target mask, so the rule and the training requirement are one);
//        history_tail  t−L+1 … t, the end of the CGM series seen at t (App. C: "Residual NaN in CGM
//                      tail"). A window passing rules 1–5 whose targets still hold NaN is then counted
//                      as `incompleteTargets` (a training requirement, not an App. C rule) and not
//                      written; `appendixCYield` counts it as accepted (rule 6 is not run on it);
//   5. future CGM jump > 40 mg/dL between consecutive 5-minute points, t … t+H;
//   6. twin-matching failure: a caller-supplied check (default: never fails), run only on windows
//      passing rules 1–5 (it is the expensive one).
// Short histories (`data.short_history: zero_pad`, PhysioSeq2Seq §3.1: "a history window of up to L = 37
// steps … with shorter sequences zero-padded to the full length"): the history is then the NaN-free run
// ending at t, and the steps before it are padding, not residual NaN, for rule 4; rules 1–3 and 5 read the
// full L-step window as before. `WindowExtractor` writes 0 into every past feature at padded steps; no mask
// is stored (the paper describes none), so a model cannot tell padding from a scaled value of 0.
// Rules 1–5 are each evaluated and counted independently (a window may count under several); the
// yield is accepted / scanned. Per subject, prefix sums make every rule O(1) per window.

import Foundation

/// The six exclusion rules of PhysioSeq2Seq Appendix C.
public enum QCRule: Int, CaseIterable, Codable, Sendable {
    case historyDensity = 1, rateOfChange, staleDecision, residualNaN, futureJump, twinMatching

    /// Configuration key (`data.qc.<key>: on|off`).
    public var key: String {
        switch self {
        case .historyDensity: return "min_history_points"
        case .rateOfChange: return "rate_of_change"
        case .staleDecision: return "stale_decision"
        case .residualNaN: return "residual_nan"
        case .futureJump: return "future_jump"
        case .twinMatching: return "twin_matching"
        }
    }

    /// What the rule excludes.
    public var summary: String {
        switch self {
        case .historyDensity: return "too few CGM points in the history"
        case .rateOfChange: return "history rate of change > 40 mg/dL per 5 min"
        case .staleDecision: return "latest CGM > 5 min before the decision time"
        case .residualNaN: return "missing CGM in the window after interpolation"
        case .futureJump: return "future jump > 40 mg/dL between 5-min points"
        case .twinMatching: return "twin matching failed"
        }
    }
}

/// Where rule 4 looks for residual NaN (see the file header).
public enum ResidualNaNScope: String, Codable, Sendable, CaseIterable {
    /// The history and the targets (default).
    case window
    /// The history only, as App. C states it; windows with incomplete targets are counted, not written.
    case historyTail = "history_tail"
}

/// What a history with missing CGM before its last gap becomes (`data.short_history`).
public enum ShortHistory: String, Codable, Sendable, CaseIterable {
    /// Rule 4 rejects it (default).
    case reject
    /// Its NaN-free tail is kept and zero-padded to L steps (PhysioSeq2Seq §3.1).
    case zeroPad = "zero_pad"
}

/// A candidate window as shown to the twin-matching check (rule 6).
public struct QCWindow {
    /// Subject id.
    public var subject: String
    /// Unix seconds of the decision time t.
    public var decisionTime: Int64
    /// Glucose (mg/dL) at t−L+1 … t.
    public var history: ArraySlice<Float>
    /// Glucose (mg/dL) at t+1 … t+H.
    public var future: ArraySlice<Float>
}

/// Counts of the QC pass: windows scanned, accepted, and per rule.
public struct QCReport: Codable, Equatable, Sendable {
    /// One rule's count.
    public struct RuleCount: Codable, Equatable, Sendable {
        /// Rule number (1–6, Appendix C).
        public var rule: Int
        /// Configuration key.
        public var key: String
        /// Whether the rule was applied.
        public var enabled: Bool
        /// Windows that triggered it.
        public var count: Int
    }

    /// Candidate windows examined.
    public var scanned = 0
    /// Windows passing every enabled rule.
    public var accepted = 0
    /// Per-rule counts, rules 1–6 in order.
    public var rules: [RuleCount]
    /// With rule 4 on the history tail: windows passing rules 1–5 whose targets hold NaN (not written);
    /// nil with the default whole-window rule 4.
    public var incompleteTargets: Int?

    /// An empty report for the given enabled rules and rule-4 scope.
    public init(enabled: Set<QCRule>, residualNaNScope: ResidualNaNScope = .window) {
        rules = QCRule.allCases.map {
            RuleCount(rule: $0.rawValue, key: $0.key, enabled: enabled.contains($0) || $0 == .residualNaN, count: 0)
        }
        incompleteTargets = residualNaNScope == .historyTail ? 0 : nil
    }

    /// Windows excluded.
    public var rejected: Int { scanned - accepted }
    /// Extraction yield, accepted / scanned (0 when nothing was scanned).
    public var yield: Double { scanned > 0 ? Double(accepted) / Double(scanned) : 0 }
    /// The yield of App. C's rules alone: accepted plus the windows left out only for incomplete targets
    /// (equal to `yield` with the whole-window rule 4).
    public var appendixCYield: Double {
        scanned > 0 ? Double(accepted + (incompleteTargets ?? 0)) / Double(scanned) : 0
    }
    /// The count of `rule`.
    public func count(_ rule: QCRule) -> Int { rules[rule.rawValue - 1].count }

    /// Printable lines: the yield, then one line per rule.
    public func summaryLines() -> [String] {
        var lines = ["quality control: \(accepted) of \(scanned) windows accepted, extraction yield "
            + String(format: "%.1f%%", 100 * yield)]
        for r in rules {
            let rule = QCRule(rawValue: r.rule)!
            lines.append("  rule \(r.rule) \(r.key) (\(rule.summary)): " + (r.enabled ? "\(r.count)" : "off"))
        }
        if let incompleteTargets {
            lines.append("  rule 4 on the history tail: App. C yield " + String(format: "%.1f%%", 100 * appendixCYield)
                + " (PhysioSeq2Seq reports 94.3%); \(incompleteTargets) of those windows have missing targets and are not written")
        }
        return lines
    }

    mutating func increment(_ rule: QCRule) { rules[rule.rawValue - 1].count += 1 }

    private enum CodingKeys: String, CodingKey { case scanned, accepted, rejected, yield, rules, incompleteTargets = "incomplete_targets" }

    /// Decodes a report (`rejected` and `yield` are derived and ignored).
    public init(from decoder: Decoder) throws {
        let c = try decoder.container(keyedBy: CodingKeys.self)
        scanned = try c.decode(Int.self, forKey: .scanned)
        accepted = try c.decode(Int.self, forKey: .accepted)
        rules = try c.decode([RuleCount].self, forKey: .rules)
        incompleteTargets = try c.decodeIfPresent(Int.self, forKey: .incompleteTargets)
    }

    /// Encodes the counts together with the derived `rejected` and `yield`, for manifests.
    public func encode(to encoder: Encoder) throws {
        var c = encoder.container(keyedBy: CodingKeys.self)
        try c.encode(scanned, forKey: .scanned)
        try c.encode(accepted, forKey: .accepted)
        try c.encode(rejected, forKey: .rejected)
        try c.encode(yield, forKey: .yield)
        try c.encode(rules, forKey: .rules)
        try c.encodeIfPresent(incompleteTargets, forKey: .incompleteTargets)   // absent by default: manifests keep their bytes
    }
}

/// The QC rules with their thresholds.
public struct QualityControl {
    /// Rules applied (rule 4 is applied regardless).
    public var enabled: Set<QCRule>
    /// Where rule 4 looks for residual NaN.
    public var residualNaNScope: ResidualNaNScope = .window
    /// Whether a history is cut to its NaN-free tail and zero-padded instead of rejected.
    public var shortHistory: ShortHistory = .reject
    /// Rule 1 minimum; nil: ⌈18·L/37⌉ (18 for the paper's L = 37).
    public var minHistoryPoints: Int?
    /// Rule 2 threshold, mg/dL per 5 min.
    public var maxRateOfChange: Float = 40
    /// Rule 3 threshold, seconds.
    public var maxDecisionAgeSeconds: Int32 = 300
    /// Rule 5 threshold, mg/dL between consecutive 5-min points.
    public var maxFutureJump: Float = 40
    /// Rule 6: returns true if twin matching fails for the window (nil: never fails).
    public var twinMatchFails: ((QCWindow) -> Bool)?

    /// QC with the given rules on (default: all six) and an optional twin-matching check.
    public init(enabled: Set<QCRule> = Set(QCRule.allCases), twinMatchFails: ((QCWindow) -> Bool)? = nil) {
        self.enabled = enabled
        self.twinMatchFails = twinMatchFails
    }

    /// Rule 1's minimum number of observed points for a history of `history` steps.
    public func minimumPoints(history: Int) -> Int {
        minHistoryPoints ?? (history * 18 + 36) / 37
    }

    /// Per-subject prefix sums the rules read.
    public struct SubjectIndex {
        var missing: [Int32]   // NaN CGM in [0, i)
        var observed: [Int32]  // bins with a reading in [0, i)
        var steep: [Int32]     // k in [1, i) with |g_k − g_{k−1}| > maxRateOfChange
        var jumps: [Int32]     // same with maxFutureJump
    }

    /// Builds the prefix sums of one subject.
    public func index(_ f: SubjectFeatures) -> SubjectIndex {
        let n = f.count
        var idx = SubjectIndex(missing: [0], observed: [0], steep: [0], jumps: [0])
        idx.missing.reserveCapacity(n + 1)
        idx.observed.reserveCapacity(n + 1)
        idx.steep.reserveCapacity(n + 1)
        idx.jumps.reserveCapacity(n + 1)
        for i in 0 ..< n {
            idx.missing.append(idx.missing[i] + (f.cgm[i].isNaN ? 1 : 0))
            idx.observed.append(idx.observed[i] + (f.observed[i] > 0 ? 1 : 0))
            let step: Float = i > 0 ? abs(f.cgm[i] - f.cgm[i - 1]) : 0  // NaN compares false
            idx.steep.append(idx.steep[i] + (step > maxRateOfChange ? 1 : 0))
            idx.jumps.append(idx.jumps[i] + (step > maxFutureJump ? 1 : 0))
        }
        return idx
    }

    /// The first index of the NaN-free run of CGM ending at `t`, not before `lo` (t + 1 if CGM at t is missing).
    static func runStart(_ idx: SubjectIndex, lo: Int, decision t: Int) -> Int {
        var a = lo, b = t + 1   // smallest k in [a, b] with no NaN in k…t (missing[t+1] − missing[k] falls with k)
        while a < b {
            let k = (a + b) / 2
            if idx.missing[t + 1] - idx.missing[k] == 0 { b = k } else { a = k + 1 }
        }
        return a
    }

    /// Applies the rules to the window with decision index `t`; counts into `report`; true if accepted.
    public func evaluate(_ f: SubjectFeatures, _ idx: SubjectIndex, decision t: Int, history: Int, horizon: Int,
                         report: inout QCReport) -> Bool {
        let lo = t - history + 1, hi = t + horizon  // inclusive window bounds
        precondition(lo >= 0 && hi < f.count, "QC window \(lo)…\(hi) outside the grid 0..<\(f.count)")
        report.scanned += 1
        var ok = true
        if enabled.contains(.historyDensity), Int(idx.observed[t + 1] - idx.observed[lo]) < minimumPoints(history: history) {
            report.increment(.historyDensity)
            ok = false
        }
        if enabled.contains(.rateOfChange), idx.steep[t + 1] - idx.steep[lo + 1] > 0 {
            report.increment(.rateOfChange)
            ok = false
        }
        if enabled.contains(.staleDecision), f.readingAge[t] > maxDecisionAgeSeconds {
            report.increment(.staleDecision)
            ok = false
        }
        let rule4End = residualNaNScope == .window ? hi : t
        let historyStart = shortHistory == .zeroPad ? Self.runStart(idx, lo: lo, decision: t) : lo
        if idx.missing[rule4End + 1] - idx.missing[historyStart] > 0 {
            report.increment(.residualNaN)
            ok = false
        }
        if enabled.contains(.futureJump), idx.jumps[hi + 1] - idx.jumps[t + 1] > 0 {
            report.increment(.futureJump)
            ok = false
        }
        if ok, residualNaNScope == .historyTail, idx.missing[hi + 1] - idx.missing[t + 1] > 0 {
            report.incompleteTargets = (report.incompleteTargets ?? 0) + 1   // passes App. C, cannot be trained on
            ok = false
        }
        if ok, enabled.contains(.twinMatching), let check = twinMatchFails {
            let window = QCWindow(subject: f.id, decisionTime: f.time(at: t), history: f.cgm[lo ... t],
                                  future: f.cgm[(t + 1) ... hi])
            if check(window) {
                report.increment(.twinMatching)
                ok = false
            }
        }
        if ok { report.accepted += 1 }
        return ok
    }
}
