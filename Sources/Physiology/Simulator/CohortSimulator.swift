import Dispatch
import Foundation

/// Counts and checks of a simulated cohort, printed by `cgmtrain simulate`.
public struct CohortSummary: Sendable {
    public var subjects = 0
    public var cgmRows = 0
    public var readings = 0
    public var missingReadings = 0
    public var groupCounts: [DiabetesStatus: Int] = [:]
    /// Mean plasma glucose by group, mg/dL.
    public var meanGlucose: [DiabetesStatus: Double] = [:]
    public var minGlucose = Double.infinity, maxGlucose = -Double.infinity
    public var seconds = 0.0

    /// Fraction of CGM readings that are missing (dropouts and warm-ups).
    public var missingFraction: Double { readings > 0 ? Double(missingReadings) / Double(readings) : 0 }

    mutating func add(_ r: SubjectRecord) {
        subjects += 1
        readings += r.readings.count
        missingReadings += r.readings.reduce(0) { $0 + ($1.value == nil ? 1 : 0) }
        let g = r.profile.status
        let n = Double(groupCounts[g, default: 0])
        meanGlucose[g] = (meanGlucose[g, default: 0] * n + r.meanGlucose) / (n + 1)
        groupCounts[g, default: 0] += 1
        for v in r.plasma {
            minGlucose = min(minGlucose, Double(v))
            maxGlucose = max(maxGlucose, Double(v))
        }
    }
}

/// Generates a cohort: subject profiles, then every subject's simulation (subjects are independent
/// and seeded by index, so they run in parallel and the output does not depend on thread timing).
public enum CohortSimulator {
    /// The subjects' profiles.
    public static func profiles(_ config: CohortConfig) -> [SubjectProfile] {
        let groups = config.groupAssignment()
        return parallelMap(groups.count) { SubjectProfile.draw(index: $0, status: groups[$0], config: config) }
    }

    /// Simulates one subject.
    public static func simulate(_ profile: SubjectProfile, config: CohortConfig) -> SubjectRecord {
        SubjectSimulation.run(profile, config: config)
    }

    /// Simulates every subject in memory (small cohorts, tests).
    public static func simulateAll(_ config: CohortConfig) -> [SubjectRecord] {
        let profiles = profiles(config)
        return parallelMap(profiles.count) { simulate(profiles[$0], config: config) }
    }

    /// Simulates the cohort and writes it under `directory` (see `CohortWriter`), a few subjects at
    /// a time so memory stays bounded.
    public static func run(_ config: CohortConfig, to directory: String, truth: Bool = true) throws -> CohortSummary {
        let start = DispatchTime.now().uptimeNanoseconds
        let writer = try CohortWriter(directory: directory, config: config, truth: truth)
        let profiles = profiles(config)
        var summary = CohortSummary()
        let chunk = 16
        var i = 0
        while i < profiles.count {
            let range = i..<min(i + chunk, profiles.count)
            let records = parallelMap(range.count) { simulate(profiles[range.lowerBound + $0], config: config) }
            for r in records {
                writer.append(r)
                summary.add(r)
            }
            i = range.upperBound
        }
        try writer.finish()
        summary.cgmRows = writer.cgmRows
        summary.seconds = Double(DispatchTime.now().uptimeNanoseconds - start) / 1e9
        return summary
    }

    /// `(0..<count).map(body)` on all cores, results in index order.
    static func parallelMap<T>(_ count: Int, _ body: (Int) -> T) -> [T] {
        guard count > 1 else { return (0..<count).map(body) }
        let slots = UnsafeMutablePointer<T?>.allocate(capacity: count)
        slots.initialize(repeating: nil, count: count)
        defer {
            slots.deinitialize(count: count)
            slots.deallocate()
        }
        withoutActuallyEscaping(body) { body in
            DispatchQueue.concurrentPerform(iterations: count) { slots[$0] = body($0) }
        }
        return (0..<count).map { slots[$0]! }
    }
}
