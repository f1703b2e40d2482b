// `prepare --meal-detector` under mpirun: the detector's flags for the whole cohort are computed once across
// the ranks instead of once per rank. Every rank reads and resamples the cohort (as the plan will), the ranks
// agree that this worked, rank r runs the detector on subjects r, r + size, …, the flags are summed into every
// rank by one all-reduce (each rank contributes zeros outside its subjects, so the sum is exact), and the
// plan reads them back from `PrecomputedMealFlags`. The collectives start only after the agreement, so a rank
// that fails early cannot leave the others waiting; a detector failure is agreed on the same way.

import CGMSchema
import Distributed
import Foundation

/// Meal flags computed ahead of the plan, by subject id (the wrapped source's description and causality).
public struct PrecomputedMealFlags: MealFlagSource {
    /// Flags on each subject's grid.
    public let bySubject: [String: [Float]]
    /// The wrapped source's manifest description.
    public let manifestDescription: String
    /// Whether the wrapped source looks ahead.
    public let usesFutureData: Bool

    /// The precomputed flags of `subject` (an error when it was not precomputed on the same grid).
    public func flags(_ subject: ResampledSubject) throws -> [Float] {
        guard let flags = bySubject[subject.id], flags.count == subject.count else {
            throw PrepareError(message: "meal flags of subject \(subject.id) were not precomputed for its \(subject.count)-point grid")
        }
        return flags
    }
}

enum PrepareMealFlags {
    /// `source`'s flags for every subject of the cohort, computed once across `comm` (see the file header),
    /// nil when the config's features do not use `meal_flag` (the plan then never asks), and the cohort read
    /// for them (the plan reuses it). Collective. Throws `PrepareError` (the same on every rank) when any
    /// rank failed.
    static func distributed(_ source: any MealFlagSource, options: PrepareOptions, comm: any Communicator,
                            loadConfig: () throws -> DataConfig) throws -> (flags: PrecomputedMealFlags?, cohort: Cohort) {
        var cohort: Cohort?
        var resampled: [ResampledSubject] = []
        var needed = false
        var failure: String?
        do {
            let config = try loadConfig()
            let read = try CohortReader().read(cgmPath: options.cgmPath, subjectsPath: options.subjectsPath)
            cohort = read
            let channels = read.channels + [.mealFlag]   // as CohortPipeline.plan: predicted flags count
            needed = try (FeatureCatalog.expand(config.pastFeatures, channels: channels, keyPath: "data.past_features")
                + FeatureCatalog.expand(config.futureFeatures, channels: channels, keyPath: "data.future_features"))
                .contains(FeatureCatalog.mealFlag)
            resampled = try Resampler(config: config).resample(read).0
        } catch {
            failure = "\(error)"
        }
        try DatasetPreparer.agree(failure, comm: comm)
        // Same config and data, so the same answer on every rank; agreed anyway, as a mismatch would hang.
        guard try comm.allReduce(Int64(needed ? 1 : 0), op: .max) == 1 else { return (nil, cohort!) }

        let offsets = resampled.reduce(into: [0]) { $0.append($0.last! + $1.count) }
        var all = [Float](repeating: 0, count: offsets.last!)
        do {
            for (i, subject) in resampled.enumerated() where i % comm.size == comm.rank {
                let flags = try source.flags(subject)
                guard flags.count == subject.count else {
                    throw PrepareError(message: "meal flags of subject \(subject.id): \(flags.count) values for \(subject.count) grid points")
                }
                all.replaceSubrange(offsets[i]..<offsets[i + 1], with: flags)
            }
        } catch {
            failure = "\(error)"
        }
        try DatasetPreparer.agree(failure, comm: comm)
        try comm.allReduce(&all, op: .sum)
        var bySubject: [String: [Float]] = [:]
        for (i, subject) in resampled.enumerated() { bySubject[subject.id] = Array(all[offsets[i]..<offsets[i + 1]]) }
        return (PrecomputedMealFlags(bySubject: bySubject, manifestDescription: source.manifestDescription,
                                     usesFutureData: source.usesFutureData), cohort!)
    }
}
