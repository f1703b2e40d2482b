// Inference windows: raw CSV data → one model input window per subject, ending at a decision time t,
// preprocessed exactly as `prepare` did for training — from the recorded `FeatureSpec`, with nothing
// refitted:
//
//   read (CohortReader; subjects.csv cross-checked as in prepare)
//   → resample (Resampler with the spec's interpolation gap; grid aligned to multiples of 5 min)
//   → unscaled features (FeatureBuilder with the spec's IOB constants)
//   → the window t−L+1 … t / t+1 … t+H, scaled by the spec (WindowExtractor.materialize: cohort
//     standardizations, eq. 7 / eq. 11 scales, static vocabularies, decoder IOB per the spec's policy)
//
// The history must be complete: L consecutive grid points with glucose (gaps up to the spec's
// interpolation limit are interpolated, as in training; QC rule 4 for the history). A window that cannot
// be formed — a gap, a time before the data starts or after it ends — is a `DataError` naming the subject
// and the decision time.
//
// The horizon may reach past the end of the data (the usual case: forecasting from "now"). The subject's
// series is then padded with one empty row at t + H, so the resampler extends every channel by its own
// rule — amounts (carbs, bolus, steps) 0, wearables missing (standardized to 0, the training mean),
// the basal rate carried forward, the UTC offset of the last row — and the known-future covariates come
// out as in prepare: time of day from the clock, decoder IOB from insulin up to t plus basal continuing
// at t's rate (policy `basal_only`; with `observed` the padded doses are that basal). Values at times the
// data covers are unchanged by the padding (every feature is causal or segment-local).
//
// Subjects not in the training data (the spec records the glucose centre/scale of every subject that was
// prepared): `glucose_centre` / `glucose_scale` are the subject's own mean / population std of its grid
// glucose up to the decision time — how prepare summarizes every subject it does not fit on (a property of
// the subject, like its HbA1c); those values are then standardized with the recorded cohort constants.
// A `subject_id` outside the recorded vocabulary encodes as unknown (0), as do categorical subjects.csv
// values never seen in training; missing reals standardize to 0. Each fallback is reported in `notes`.

import CGMSchema
import Foundation

/// The recorded preprocessing inference repeats: the fitted spec and the window geometry.
public struct InferenceRecipe: Sendable {
    /// The fitted spec (from the training dataset's manifest, via the checkpoint).
    public var spec: FeatureSpec
    /// History L and horizon H (steps).
    public var history: Int
    public var horizon: Int

    /// A recipe; L and H must be ≥ 1 and the spec's grid the 5-minute grid.
    public init(spec: FeatureSpec, history: Int, horizon: Int) throws {
        guard history >= 1, horizon >= 1 else {
            throw DataError("recorded history \(history) and horizon \(horizon) must be ≥ 1")
        }
        guard Int64(spec.gridMinutes) * 60 == ResampledSubject.gridSeconds else {
            throw DataError("the recorded feature spec uses a \(spec.gridMinutes)-minute grid; this build resamples to "
                            + "\(ResampledSubject.gridSeconds / 60) minutes")
        }
        self.spec = spec
        self.history = history
        self.horizon = horizon
    }
}

/// Model inputs for new data: one window per subject, and what a forecast table reports besides.
public struct InferenceWindows {
    /// The windows (row b: subject `subjects[batch.subject[b]]`, decision time `batch.decisionTime[b]`).
    /// `target` is 0: the future is what is forecast.
    public var batch: Batch
    /// Subject ids, in the order of the measurements file (or the one requested).
    public var subjects: [String]
    /// Glucose (mg/dL) on the grid at each window's decision time: the last history value.
    public var lastGlucose: [Float]
    /// Glucose (mg/dL) the data holds at t+1 … t+H, (B, H); NaN where it has none (beyond its end).
    public var actual: [Float]
    /// Fallbacks applied (unseen subjects, unknown categories), one line each.
    public var notes: [String]

    public init(batch: Batch, subjects: [String], lastGlucose: [Float], actual: [Float], notes: [String] = []) {
        self.batch = batch
        self.subjects = subjects
        self.lastGlucose = lastGlucose
        self.actual = actual
        self.notes = notes
    }
}

/// Builds inference windows with a recorded recipe (see the file comment).
public struct InferencePipeline {
    public var recipe: InferenceRecipe

    public init(recipe: InferenceRecipe) { self.recipe = recipe }

    /// Reads `cgmPath` (and `subjectsPath`) and forms the window of every subject, or only `subject`.
    public func windows(cgmPath: String, subjectsPath: String? = nil, subject: String? = nil,
                        at request: DecisionTimeRequest = .latest) throws -> InferenceWindows {
        let cohort = try CohortReader().read(cgmPath: cgmPath, subjectsPath: subjectsPath)
        return try windows(cohort: cohort, subject: subject, at: request)
    }

    /// The windows of an already-read cohort.
    public func windows(cohort: Cohort, subject: String? = nil, at request: DecisionTimeRequest = .latest) throws -> InferenceWindows {
        var spec = recipe.spec
        let L = recipe.history, H = recipe.horizon
        let fromTable = spec.statics.filter { !FeatureCatalog.staticBuiltins.contains($0.name) }.map(\.name)
        if !fromTable.isEmpty, cohort.subjectTable == nil {
            throw DataError("the model uses static feature(s) \(fromTable.joined(separator: ", ")) from subjects.csv: "
                            + "pass the subjects file (--subjects FILE)")
        }
        let chosen: [RawSeries]
        if let subject {
            guard let s = cohort.series.first(where: { $0.subject == subject }) else {
                let ids = cohort.series.map(\.subject)
                throw DataError(file: cohort.file, key: .subject(subject), "not in the measurements file (it has "
                                + "\(ids.count) subject(s): " + ids.prefix(20).joined(separator: ", ")
                                + (ids.count > 20 ? ", …" : "") + ")")
            }
            chosen = [s]
        } else {
            chosen = cohort.series
        }
        guard !chosen.isEmpty else { throw DataError(file: cohort.file, "holds no subjects") }

        let resampler = Resampler(spec: spec)
        let builder = FeatureBuilder(iob: spec.iob)
        var features: [SubjectFeatures] = [], refs: [WindowRef] = [], notes: [String] = []
        for series in chosen {
            var grid = try resampler.resample(series).subject
            let t = try decisionIndex(grid, request)
            if t + H >= grid.count { grid = try resampler.resample(Self.padded(series, to: grid.time(at: t + H))).subject }
            let f = try builder.build(grid, features: spec.timeVaryingFeatures)
            notes += fallbacks(for: f, decision: t, spec: &spec, table: cohort.subjectTable)
            refs.append(WindowRef(subject: features.count, decision: t))
            features.append(f)
        }

        let set = WindowExtractor(history: L, horizon: H, stride: 1)
            .materialize(refs, features: features, spec: spec, table: cohort.subjectTable)
        var batch = Batch(count: set.count, history: L, horizon: H, pastFeatureCount: spec.pastFeatures.count,
                          futureFeatureCount: spec.futureFeatures.count, staticFeatureCount: spec.staticFeatures.count)
        batch.indices = Array(0 ..< set.count)
        batch.past = set.past
        batch.future = set.future
        batch.statics = set.statics
        batch.subject = set.subject
        batch.decisionTime = set.decisionTime
        return InferenceWindows(batch: batch, subjects: set.subjects,
                                lastGlucose: zip(refs, features).map { $1.cgm[$0.decision] },
                                actual: set.target, notes: notes)
    }

    // MARK: Decision time

    /// Grid index of the decision time of `s` (see the file comment for the rules).
    func decisionIndex(_ s: ResampledSubject, _ request: DecisionTimeRequest) throws -> Int {
        let L = recipe.history
        let minutes = (L - 1) * Int(ResampledSubject.gridSeconds / 60)
        let need = "a window needs \(L) consecutive 5-minute points with glucose (\(minutes) min of history; gaps up to "
            + "\(recipe.spec.maxInterpolationGapMinutes) min are filled by \(recipe.spec.gapFillMethod.rawValue))"
        guard let lastSegment = s.segments.last else {
            throw DataError(key: .subject(s.id), "has no glucose readings: cannot form a forecast window")
        }
        switch request {
        case .latest:
            guard let seg = s.segments.last(where: { $0.count >= L }) else {
                let longest = s.segments.map(\.count).max() ?? 0
                throw DataError(key: .subject(s.id), "no complete history anywhere in its data: \(need), its longest run "
                                + "of glucose has \(longest)")
            }
            return seg.upperBound - 1
        case .at(let requested):
            let t = GridTime.floor(requested)
            let shown = GridTime.iso8601(t) + (t != requested ? " (--at \(GridTime.iso8601(requested)) floored to the 5-minute grid)" : "")
            let lastGlucose = s.time(at: lastSegment.upperBound - 1)
            if t > lastGlucose {
                throw DataError(key: .subject(s.id), "cannot form the window ending at \(shown): after its data ends "
                                + "(last glucose at \(GridTime.iso8601(lastGlucose)))")
            }
            let start = t - Int64(L - 1) * ResampledSubject.gridSeconds
            if start < s.start {
                throw DataError(key: .subject(s.id), "cannot form the window ending at \(shown): its history would start "
                                + "at \(GridTime.iso8601(start)), before its data begins (\(GridTime.iso8601(s.start))); \(need)")
            }
            let index = Int((t - s.start) / ResampledSubject.gridSeconds)
            let missing = (index - L + 1 ... index).filter { s.glucose[$0].isNaN }
            if !missing.isEmpty {
                throw DataError(key: .subject(s.id), "cannot form the window ending at \(shown): gap in the history, no "
                                + "glucose at " + Self.describe(missing, s) + "; \(need)")
            }
            return index
        }
    }

    /// "A–B, C, …" for runs of grid indices.
    static func describe(_ indices: [Int], _ s: ResampledSubject) -> String {
        var runs: [ClosedRange<Int>] = []
        for i in indices {
            if let last = runs.last, last.upperBound + 1 == i { runs[runs.count - 1] = last.lowerBound ... i } else { runs.append(i ... i) }
        }
        let text = runs.prefix(3).map { r in
            r.count == 1 ? GridTime.iso8601(s.time(at: r.lowerBound))
                : GridTime.iso8601(s.time(at: r.lowerBound)) + " – " + GridTime.iso8601(s.time(at: r.upperBound))
        }
        return text.joined(separator: ", ") + (runs.count > 3 ? " and \(runs.count - 3) more gap(s)" : "")
    }

    /// `series` with one empty row at `time` (after its last row), so the grid reaches `time`.
    static func padded(_ series: RawSeries, to time: Int64) -> RawSeries {
        var s = series
        s.time.append(time)
        s.utcOffsetMinutes.append(series.utcOffsetMinutes.last ?? 0)
        s.glucose.append(.nan)
        for c in s.values.indices { s.values[c].append(.nan) }
        return s
    }

    // MARK: Fallbacks

    /// Adds an unseen subject's own glucose centre/scale (data up to the decision time) to `spec` and
    /// returns a note for each fallback the subject gets.
    func fallbacks(for f: SubjectFeatures, decision t: Int, spec: inout FeatureSpec, table: SubjectTable?) -> [String] {
        var notes: [String] = []
        let names = Set(spec.staticFeatures)
        if spec.glucose(of: f.id) == nil {
            var stats = RunningStats()
            let cutoff = f.time(at: t)
            for seg in f.segments { for i in seg where f.time(at: i) <= cutoff { stats.add(f.cgm[i]) } }
            spec.subjectGlucose.append(SubjectGlucose(id: f.id, centre: stats.count > 0 ? stats.mean : .nan, scale: stats.std))
            spec.subjectGlucose.sort { $0.id < $1.id }
            var parts: [String] = []
            if names.contains("glucose_centre") || names.contains("glucose_scale") {
                parts.append("glucose_centre / glucose_scale from its own \(stats.count) glucose points up to "
                             + GridTime.iso8601(cutoff) + ": " + String(format: "%.1f / %.1f mg/dL", stats.mean, stats.std))
            }
            if names.contains("subject_id") { parts.append("subject_id encodes as unknown (0)") }
            if !parts.isEmpty { notes.append("subject '\(f.id)' is not in the training data: " + parts.joined(separator: "; ")) }
        }
        for enc in spec.statics where enc.kind == .categorical && enc.name != "subject_id" {
            if let value = table?.value(enc.name, for: f.id), !enc.vocabulary.contains(value) {
                notes.append("subject '\(f.id)': \(enc.name) '\(value)' was not seen in training; encoded as unknown (0)")
            }
        }
        return notes
    }
}
