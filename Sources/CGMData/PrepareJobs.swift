// The per-job half of `prepare`: a `CohortPlan` is cut into `ShardJob`s over subjects, and each job is
// turned into windows by `PrepareMaterializer` (QC rule 6, then materialization with the fitted spec).
//
// Jobs depend only on the plan and `subjectsPerShard`, never on the number of ranks, and a job's windows
// depend only on the job, so the shards are the same whether one rank or many write them:
//   subject split   per split, its subjects (sorted ids) in groups of `subjectsPerShard`; one split per job
//   temporal split  the subjects with windows (file order) in groups; each job writes train, val and test
// Within a shard, windows are ordered by the job's subject order, then by time; the shard's `subjects`
// list holds only the subjects that have windows in it.
//
// QC counters in the manifest (`ManifestQC.counts`; `rule<N>_<key>` only for enabled rules):
//   windows_scanned, rule1_min_history_points … rule5_future_jump     from the planning pass (all ranks)
//   rule6_twin_matching, windows_accepted                               summed over jobs
//   windows_discarded_straddling                                        temporal split only
//   ingest_* , resample_*                                                ingest and resampling counts
// and the extraction yield = windows_accepted / windows_scanned (PhysioSeq2Seq App. C: 94.3 %).

import Foundation
import Physiology

/// Names of the counters `prepare` writes into the manifest's QC section.
public enum PrepareCounter {
    /// Candidate windows examined.
    public static let scanned = "windows_scanned"
    /// Windows passing every enabled rule (1–6).
    public static let accepted = "windows_accepted"
    /// Accepted windows dropped by a temporal split because their targets straddle a boundary.
    public static let discarded = "windows_discarded_straddling"

    /// Counter of a rule: `rule<N>_<key>`, e.g. `rule6_twin_matching`.
    public static func rule(_ rule: QCRule) -> String { "rule\(rule.rawValue)_\(rule.key)" }

    /// accepted / scanned, or nil when nothing was scanned.
    public static func yield(_ counts: [String: Int]) -> Double? {
        guard let scanned = counts[scanned], scanned > 0 else { return nil }
        return Double(counts[accepted] ?? 0) / Double(scanned)
    }
}

extension CohortPlan {
    /// The shard jobs of this plan, `subjectsPerShard` subjects each (see the file header).
    public func shardJobs(subjectsPerShard: Int) -> [ShardJob] {
        precondition(subjectsPerShard >= 1, "CohortPlan.shardJobs: subjectsPerShard must be ≥ 1, got \(subjectsPerShard)")
        switch config.split {
        case .subject:
            let split = subjectSplit ?? SubjectSplit(train: [], validation: [], test: [])
            var bySplit: [ShardSplit: [String]] = [:]
            for name in SplitName.allCases { bySplit[ShardSplit(name)] = split.subjects(in: name) }
            return ShardJob.plan(subjectsBySplit: bySplit, subjectsPerShard: subjectsPerShard)
        case .temporal, .temporalFraction:
            var seen = Set<Int>()
            let subjects = windows.compactMap { seen.insert($0.subject).inserted ? features[$0.subject].id : nil }
            return ShardJob.plan(subjects: subjects, splits: ShardSplit.allCases, subjectsPerShard: subjectsPerShard)
        }
    }

    /// Counters known after planning (every rank computes the same). `windows_accepted` always comes from
    /// the jobs (`PrepareMaterializer`), and so does rule 6 when `ruleSixPerJob` (otherwise the plan's
    /// rule-6 count is included, if the rule is enabled).
    public func plannedCounts(ruleSixPerJob: Bool) -> [String: Int] {
        var c: [String: Int] = [PrepareCounter.scanned: qc.scanned]
        for r in qc.rules where r.enabled && !(ruleSixPerJob && r.rule == QCRule.twinMatching.rawValue) {
            c[PrepareCounter.rule(QCRule(rawValue: r.rule)!)] = r.count
        }
        if config.split != .subject { c[PrepareCounter.discarded] = split.discarded }
        c["ingest_rows"] = ingest.rows
        c["ingest_subjects"] = ingest.subjects
        c["ingest_glucose_rows"] = ingest.glucoseRows
        c["ingest_event_only_rows"] = ingest.eventOnlyRows
        c["ingest_empty_rows"] = ingest.emptyRows
        c["ingest_dropped_out_of_range_glucose"] = ingest.droppedOutOfRangeGlucose
        c["ingest_duplicates_removed"] = ingest.duplicatesRemoved
        c["ingest_duplicate_timestamp_glucose"] = ingest.duplicateTimestampGlucose
        c["ingest_unsorted_rows_fixed"] = ingest.unsortedRowsFixed
        c["resample_glucose_points"] = resample.glucosePoints
        c["resample_interpolated_points"] = resample.interpolatedPoints
        c["resample_gaps_split"] = resample.gapsSplit
        return c
    }

    /// The QC report with rule 6 and the accepted count taken from summed job counters.
    public func finalQC(counts: [String: Int]) -> QCReport {
        var report = qc
        if let n = counts[PrepareCounter.rule(.twinMatching)] { report.rules[QCRule.twinMatching.rawValue - 1].count = n }
        if let n = counts[PrepareCounter.accepted] { report.accepted = n }
        return report
    }
}

/// Turns shard jobs of a `CohortPlan` into windows: QC rule 6 (if a check is given and the rule is enabled),
/// then materialization with the fitted spec; with `data.ode_states` the rule-6 match's states and twin
/// forecast are stored as extras (`PrepareODEStates`). Not thread-safe (the twin check keeps scratch state).
public final class PrepareMaterializer {
    /// The plan.
    public let plan: CohortPlan
    /// Rule 6 (nil: not evaluated here; the plan's rule-6 count, if any, stands).
    public let twinCheck: TwinMatchingCheck?
    private let extractor: WindowExtractor
    private let subjectIndex: [String: Int]
    /// Per subject, its positions in `plan.windows` (time order).
    private let windowsOf: [[Int]]

    /// A materializer for `plan`; `twinCheck` runs only if `plan.config.qc` enables twin matching.
    public init(plan: CohortPlan, twinCheck: TwinMatchingCheck?) {
        self.plan = plan
        self.twinCheck = plan.config.qc.contains(.twinMatching) ? twinCheck : nil
        extractor = plan.extractor
        var index: [String: Int] = [:]
        for (i, f) in plan.features.enumerated() { index[f.id] = i }
        subjectIndex = index
        var windowsOf = [[Int]](repeating: [], count: plan.features.count)
        for (w, ref) in plan.windows.enumerated() { windowsOf[ref.subject].append(w) }
        self.windowsOf = windowsOf
    }

    /// The windows of `job` for each of its splits, with its rule-6 and accepted counters.
    /// - Throws: `DataError` if the job names a subject the plan does not have.
    public func output(for job: ShardJob) throws -> ShardJobOutput {
        var chosen: [ShardSplit: [(subject: Int, decision: Int)]] = [:]
        for split in job.splits { chosen[split] = [] }
        var accepted = 0, twinFailures = 0
        let odeStates = plan.config.odeStates
        var odeExtras: [ShardSplit: [String: (shape: [Int], values: [Float])]] = [:]
        if odeStates {
            guard twinCheck != nil else {
                throw DataError(key: .config("data.ode_states"), "needs the twin-matching check (QC rule 6) in prepare")
            }
            for split in job.splits {
                odeExtras[split] = PrepareODEStates.emptyExtras(history: plan.config.history, horizon: plan.config.horizon)
            }
        }
        for id in job.subjects {
            guard let s = subjectIndex[id] else {
                throw DataError(key: .subject(id), "shard job \(job.label) names a subject that is not in the cohort")
            }
            var hint: Int?
            for w in windowsOf[s] {
                let ref = plan.windows[w]
                var match: TwinMatch?
                if let check = twinCheck {
                    // Rule 6; with ode_states the same match also yields X_hist, X_fut and the twin forecast.
                    match = check.match(plan.features[s], decision: ref.decision, history: plan.config.history,
                                        horizon: plan.config.horizon, future: plan.config.twinFutureInputs, hint: &hint)
                    if match == nil {
                        twinFailures += 1
                        continue
                    }
                }
                accepted += 1
                if let name = plan.assignment[w], chosen[ShardSplit(name)] != nil {
                    chosen[ShardSplit(name)]!.append((s, ref.decision))
                    if odeStates { PrepareODEStates.append(match!, to: &odeExtras[ShardSplit(name)]!) }
                }
            }
        }
        var windows: [ShardSplit: WindowSet] = [:]
        for split in job.splits {
            var set = materialize(chosen[split]!)
            if odeStates { set.extras.merge(odeExtras[split]!) { _, ode in ode } }
            windows[split] = set
        }
        var counts = [PrepareCounter.accepted: accepted]
        if twinCheck != nil { counts[PrepareCounter.rule(.twinMatching)] = twinFailures }
        return ShardJobOutput(windows: windows, qcCounts: counts)
    }

    /// Materializes windows (subject = index into `plan.features`) with a subject list of only the
    /// subjects present, in order of first appearance.
    private func materialize(_ refs: [(subject: Int, decision: Int)]) -> WindowSet {
        var local: [Int: Int] = [:]
        var subset: [SubjectFeatures] = []
        var localRefs: [WindowRef] = []
        localRefs.reserveCapacity(refs.count)
        for (s, t) in refs {
            let k: Int
            if let known = local[s] {
                k = known
            } else {
                k = subset.count
                local[s] = k
                subset.append(plan.features[s])
            }
            localRefs.append(WindowRef(subject: k, decision: t))
        }
        return extractor.materialize(localRefs, features: subset, spec: plan.spec, table: plan.table)
    }
}
