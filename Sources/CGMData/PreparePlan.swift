// CohortPlan: the global, cheap half of `prepare` — everything up to (not including) window
// materialization. It holds every subject's unscaled features, the QC-accepted window references, their
// split assignment and the FeatureSpec fitted on training data. It is a deterministic function of the
// input files and the config, so every rank of a distributed `prepare` computes the same plan without
// communicating; the expensive per-subject work (QC rule 6, materializing and writing windows) is then
// divided into `ShardJob`s (PrepareJobs.swift).
//
//   CohortPipeline.plan:  read → resample → features → candidates + QC → split → fit spec   (every rank)
//   CohortPlan.shardJobs / PrepareMaterializer.output(for:)                                   (per job)
//   CohortPlan.preparedCohort(): all three WindowSets in memory (single process, tests)

import CGMSchema
import Foundation

/// The planned, not yet materialized, result of preparing a cohort.
public struct CohortPlan {
    /// The configuration used.
    public var config: DataConfig
    /// The fitted preprocessing.
    public var spec: FeatureSpec
    /// Every subject's unscaled features, in file order (`WindowRef.subject` indexes this).
    public var features: [SubjectFeatures]
    /// Static covariates from subjects.csv, if given.
    public var table: SubjectTable?
    /// Windows accepted by QC, by subject then time.
    public var windows: [WindowRef]
    /// Split of each window in `windows` (nil: discarded, its targets straddle a temporal boundary).
    public var assignment: [SplitName?]
    /// The subject split (subject method only).
    public var subjectSplit: SubjectSplit?
    /// Ingest counts.
    public var ingest: IngestReport
    /// Resampling counts.
    public var resample: ResampleReport
    /// QC counts of the planning pass (rule 6 only if a check was given to `plan`).
    public var qc: QCReport
    /// Windows and subjects per split.
    public var split: SplitReport
    /// Warnings from every stage.
    public var warnings: [String]

    /// The window extractor of this config.
    public var extractor: WindowExtractor { config.extractor }

    /// The windows assigned to `name`, in plan order.
    public func refs(in name: SplitName) -> [WindowRef] {
        windows.indices.filter { assignment[$0] == name }.map { windows[$0] }
    }

    /// Materializes all three splits in memory (`subjects` of each set is every subject's id).
    public func preparedCohort() -> PreparedCohort {
        let extractor = self.extractor
        var sets: [SplitName: WindowSet] = [:]
        for name in SplitName.allCases {
            sets[name] = extractor.materialize(refs(in: name), features: features, spec: spec, table: table)
        }
        return PreparedCohort(config: config, spec: spec, train: sets[.train]!, validation: sets[.validation]!,
                              test: sets[.test]!, subjectSplit: subjectSplit, ingest: ingest, resample: resample,
                              qc: qc, split: split, warnings: warnings)
    }
}

extension ShardSplit {
    /// The shard directory of a split name (`validation` → `val`).
    public init(_ name: SplitName) {
        switch name {
        case .train: self = .train
        case .validation: self = .val
        case .test: self = .test
        }
    }
}
