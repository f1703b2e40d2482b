// CohortPipeline: the first half of `prepare`, from CSV files to three WindowSets.
//
//   read (CohortReader) → resample (Resampler) → unscaled features (FeatureBuilder)
//   → candidate windows + QC (WindowExtractor, QualityControl) → split (SubjectSplit | TemporalSplit)
//   → fit FeatureSpec on training data only → materialize train / validation / test WindowSets
//
// `plan` stops before materializing (the global half of a distributed `prepare`, see CohortPlan);
// `prepare` materializes all three splits in memory.
//
// Splitting comes before fitting so that no statistic of validation or test data reaches the scaling:
// with a subject split only training subjects are fitted; with a temporal split each subject's data
// up to its training cutoff. The subject split partitions the subjects that have at least one
// accepted window.

import CGMSchema
import Foundation

/// The result of preparing a cohort: windows per split, the fitted spec and every report.
public struct PreparedCohort {
    /// The configuration used.
    public var config: DataConfig
    /// The fitted preprocessing (record it in the manifest and in checkpoints).
    public var spec: FeatureSpec
    /// Train, validation and test windows (all share `subjects`).
    public var train: WindowSet
    /// Validation windows.
    public var validation: WindowSet
    /// Test windows.
    public var test: WindowSet
    /// The subject split (subject method only).
    public var subjectSplit: SubjectSplit?
    /// Ingest counts.
    public var ingest: IngestReport
    /// Resampling counts.
    public var resample: ResampleReport
    /// QC counts and the extraction yield.
    public var qc: QCReport
    /// Windows and subjects per split.
    public var split: SplitReport
    /// Warnings from every stage.
    public var warnings: [String]

    /// The windows of `name`.
    public func windows(_ name: SplitName) -> WindowSet {
        switch name {
        case .train: return train
        case .validation: return validation
        case .test: return test
        }
    }

    /// Every report as printable lines (ingest, resampling, QC with the yield, split, warnings).
    public func summaryLines() -> [String] {
        ingest.summaryLines() + resample.summaryLines() + qc.summaryLines() + split.summaryLines()
            + warnings.filter { !ingest.warnings.contains($0) }.map { "warning: \($0)" }
    }
}

/// Runs ingest → features → QC → split → windows.
public enum CohortPipeline {
    /// Prepares the cohort in `cgmPath` (and `subjectsPath`) according to `config`.
    /// - Parameter twinMatchFails: QC rule 6 (nil: never fails).
    /// - Throws: `DataError` for bad input, unavailable features (naming the config key), or an empty
    ///   cohort after QC.
    public static func prepare(config: DataConfig, cgmPath: String, subjectsPath: String? = nil,
                               twinMatchFails: ((QCWindow) -> Bool)? = nil) throws -> PreparedCohort {
        let cohort = try CohortReader().read(cgmPath: cgmPath, subjectsPath: subjectsPath)
        return try prepare(config: config, cohort: cohort, twinMatchFails: twinMatchFails)
    }

    /// Prepares an already-read cohort: `plan` then every split materialized in memory.
    public static func prepare(config: DataConfig, cohort: Cohort,
                               twinMatchFails: ((QCWindow) -> Bool)? = nil) throws -> PreparedCohort {
        try plan(config: config, cohort: cohort, twinMatchFails: twinMatchFails).preparedCohort()
    }

    /// Plans the cohort in `cgmPath` (and `subjectsPath`): everything but window materialization.
    public static func plan(config: DataConfig, cgmPath: String, subjectsPath: String? = nil,
                            twinMatchFails: ((QCWindow) -> Bool)? = nil, mealFlags: (any MealFlagSource)? = nil) throws -> CohortPlan {
        let cohort = try CohortReader().read(cgmPath: cgmPath, subjectsPath: subjectsPath)
        return try plan(config: config, cohort: cohort, twinMatchFails: twinMatchFails, mealFlags: mealFlags)
    }

    /// Ingest → features → QC → split → fitted spec, without materializing windows (see `CohortPlan`).
    /// - Parameter twinMatchFails: QC rule 6 applied during the scan (nil: not evaluated here; a
    ///   distributed `prepare` evaluates it per shard job instead, see `PrepareMaterializer`).
    /// - Throws: `DataError` for unavailable features (naming the config key) or an empty cohort after QC.
    /// - Parameter mealFlags: where `meal_flag` comes from instead of the data (prepare --meal-detector).
    public static func plan(config: DataConfig, cohort: Cohort,
                            twinMatchFails: ((QCWindow) -> Bool)? = nil, mealFlags: (any MealFlagSource)? = nil) throws -> CohortPlan {
        var warnings = cohort.report.warnings
        let channels = mealFlags == nil ? cohort.channels : cohort.channels + [.mealFlag]   // predicted flags count
        let (past, droppedPast) = try FeatureCatalog.expandReporting(config.pastFeatures, channels: channels,
                                                                    keyPath: "data.past_features")
        let (future, droppedFuture) = try FeatureCatalog.expandReporting(config.futureFeatures, channels: channels,
                                                                        keyPath: "data.future_features")
        // A causal detector's flag at a future time would use CGM after the decision time: refuse (the smoothed,
        // offline-annotation mode already looks ahead everywhere and is documented as such).
        if let mealFlags, !mealFlags.usesFutureData, future.contains(FeatureCatalog.mealFlag) {
            throw DataError(key: .config("data.future_features"),
                            "lists meal_flag, but the flags come from a causal meal detector (prepare --meal-detector): a "
                            + "detected flag after the decision time would use CGM after it; keep meal_flag in "
                            + "data.past_features only (or use --meal-flags smoothed for offline annotation)")
        }
        let (statics, droppedStatics) = try FeatureCatalog.expandStaticsReporting(config.staticFeatures, table: cohort.subjectTable,
                                                                                 keyPath: "data.static_features")
        if past.isEmpty { throw DataError(key: .config("data.past_features"), "expands to no feature for this data") }
        if config.odeStates, config.twinFutureInputs == .announced, !cohort.channels.contains(.carbs) {
            throw DataError(file: cohort.file, key: .config("data.twin.future_inputs"),
                            "announced feeds the twin the recorded meals, but the file has no \(Channel.carbs.rawValue) column")
        }

        let (resampled, resampleReport) = try Resampler(config: config).resample(cohort)
        var spec = FeatureSpec(pastFeatures: past, futureFeatures: future, staticFeatures: statics,
                               futureIOB: config.futureIOB, maxInterpolationGapMinutes: config.maxInterpolationGapMinutes)
        if config.gapFill != .interpolate { spec.gapFill = config.gapFill }   // absent at the default (earlier specs' bytes)
        let dropped = droppedPast + droppedFuture + droppedStatics
        if !dropped.isEmpty { spec.droppedFeatures = dropped }
        let builder = FeatureBuilder(iob: spec.iob)
        let nutrients = config.dietTokens ? DietBins.candidates.filter { n in cohort.channels.contains { $0.rawValue == n } } : []
        if config.dietTokens && !nutrients.contains("carbs_g") {
            throw DataError(key: .config("data.diet_tokens"), "needs a carbs_g column in \(cohort.file)")
        }
        // With a meal-flag source (prepare --meal-detector) `meal_flag` is predicted, not read from the data.
        let built = mealFlags == nil ? spec.timeVaryingFeatures : spec.timeVaryingFeatures.filter { $0 != FeatureCatalog.mealFlag }
        var features = try resampled.map { try builder.build($0, features: built + nutrients) }
        if let mealFlags, spec.timeVaryingFeatures.contains(FeatureCatalog.mealFlag) {
            for i in features.indices { features[i].columns[FeatureCatalog.mealFlag] = try mealFlags.flags(resampled[i]) }
        }
        if config.mealLabels {   // targets always come from the data's meal events (A.2)
            guard cohort.channels.contains(.carbs) || cohort.channels.contains(.mealFlag) else {
                throw DataError(key: .config("data.meal_labels"), "needs meal events: the measurements file has no carbs_g "
                                + "or meal_flag column")
            }
            for i in features.indices {
                features[i].mealLabels = MealEvents.smoothedLabels(
                    events: MealEvents.eventIndices(FeatureBuilder.mealIndicator(resampled[i])), count: features[i].count,
                    plateau: config.mealPlateau, ramp: config.mealRamp)
            }
        }

        let extractor = config.extractor
        let (refs, qcReport) = extractor.candidates(features, qc: config.qualityControl(twinMatchFails: twinMatchFails))
        guard !refs.isEmpty else {
            throw DataError(file: cohort.file, "empty cohort after quality control: no window of \(config.history) + \(config.horizon)"
                + " steps passed (" + qcReport.summaryLines().joined(separator: "; ") + ")")
        }

        var assignment: [SplitName?]
        var scope: [Int64?]
        var subjectSplit: SubjectSplit?
        switch config.split {
        case .subject:
            let ids = Set(refs.map { features[$0.subject].id })
            let split: SubjectSplit
            if config.stratify.isEmpty {
                split = SubjectSplit.random(Array(ids), seed: config.splitSeed, fractions: config.fractions)
            } else {
                guard let table = cohort.subjectTable, table.columns.contains(config.stratify) else {
                    throw DataError(key: .config("data.stratify"), "column '\(config.stratify)' is not in "
                                    + (cohort.subjectTable.map { "\($0.file) (columns: \($0.columns.joined(separator: ", ")))" }
                                       ?? "a subjects file (none given: pass --subjects FILE)"))
                }
                var strata: [String: String] = [:]
                for id in ids { strata[id] = table.value(config.stratify, for: id) ?? "" }
                split = SubjectSplit.stratified(Array(ids), strata: strata, seed: config.splitSeed, fractions: config.fractions)
            }
            var splitOf: [String: SplitName] = [:]
            for name in SplitName.allCases { for id in split.subjects(in: name) { splitOf[id] = name } }
            assignment = refs.map { splitOf[features[$0.subject].id] }
            scope = features.map { splitOf[$0.id] == .train ? Int64.max : nil }
            subjectSplit = split
        case .temporal:
            let result = TemporalSplit(horizon: config.horizon).assign(refs, features: features)
            assignment = result.splits
            scope = result.trainCutoff
        case .temporalFraction:
            let result = TemporalFractionSplit(horizon: config.horizon, fractions: config.fractions).assign(refs, features: features)
            assignment = result.splits
            scope = result.trainCutoff
        }
        spec.fit(features: features, scope: scope, table: cohort.subjectTable)
        spec.glucoseChangeScale = .fit(features: features, scope: scope, horizon: config.horizon)
        if config.dietTokens { spec.fitDiet(nutrients: nutrients, features: features, scope: scope) }

        var subjectCounts: [Int] = [], windowCounts: [Int] = []
        for name in SplitName.allCases {
            let chosen = refs.indices.filter { assignment[$0] == name }.map { refs[$0] }
            windowCounts.append(chosen.count)
            subjectCounts.append(Set(chosen.map(\.subject)).count)
            if chosen.isEmpty { warnings.append("the \(name.rawValue) split has no windows") }
        }
        let report = SplitReport(method: config.split.rawValue, seed: config.split == .subject ? config.splitSeed : nil,
                                 subjects: subjectCounts, windows: windowCounts,
                                 discarded: assignment.filter { $0 == nil }.count)
        if !resampleReport.subjectsWithoutGlucose.isEmpty {
            warnings.append("\(resampleReport.subjectsWithoutGlucose.count) subject(s) have no glucose values")
        }
        if past.contains(FeatureCatalog.iobScaled) || past.contains(FeatureCatalog.iob) {
            let noInsulin = features.filter { $0.doses.allSatisfy { $0 == 0 } }.map(\.id)
            if !noInsulin.isEmpty { warnings.append("\(noInsulin.count) subject(s) have no insulin doses: IOB is 0 throughout") }
        }
        return CohortPlan(config: config, spec: spec, features: features, table: cohort.subjectTable, windows: refs,
                          assignment: assignment, subjectSplit: subjectSplit, ingest: cohort.report,
                          resample: resampleReport, qc: qcReport, split: report, warnings: warnings)
    }
}
