import ArgumentParser
import Foundation
import Physiology

/// `cgmtrain simulate`: generates a synthetic cohort in the canonical CSV schema (`DIR/cgm.csv`,
/// `DIR/subjects.csv`, `DIR/truth/`) with the Hovorka-based generator of the Physiology module.
struct SimulateCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "simulate",
        abstract: "Generate a synthetic CGM cohort (cgm.csv, subjects.csv, truth/) from the physiology simulator.")

    @Option(help: "Number of subjects.")
    var subjects: Int = 12

    @Option(help: "Days simulated per subject.")
    var days: Int = 3

    @Option(help: "Seed: the same seed writes the same bytes.")
    var seed: UInt64 = 42

    @Option(help: "Output directory (created if missing).")
    var out: String = "data/cohort"

    @Option(help: "First simulated day, UTC (YYYY-MM-DD).")
    var start: String = "2026-01-05"

    @Flag(help: "Do not write the DIR/truth/ extras.")
    var noTruth = false

    func validate() throws {
        guard subjects >= 1 else { throw ValidationError("--subjects must be at least 1 (got \(subjects))") }
        guard days >= 1 else { throw ValidationError("--days must be at least 1 (got \(days))") }
        guard Timestamp.parse(start) != nil else {
            throw ValidationError("--start must be a UTC date YYYY-MM-DD (got \(start))")
        }
    }

    func run() throws {
        let config = CohortConfig(subjects: subjects, days: days, seed: seed, startEpochSeconds: Timestamp.parse(start)!)
        let summary = try CohortSimulator.run(config, to: out, truth: !noTruth)
        print("simulated \(summary.subjects) subjects × \(days) days into \(out) in "
            + String(format: "%.2f", summary.seconds) + " s")
        print("  cgm.csv rows \(summary.cgmRows), CGM readings \(summary.readings) ("
            + String(format: "%.1f", 100 * summary.missingFraction) + " % missing)")
        for status in DiabetesStatus.allCases {
            guard let n = summary.groupCounts[status] else { continue }
            print("  \(status.rawValue): \(n) subjects, mean glucose "
                + String(format: "%.0f", summary.meanGlucose[status] ?? 0) + " mg/dL")
        }
        print("  plasma glucose range " + String(format: "%.0f–%.0f", summary.minGlucose, summary.maxGlucose) + " mg/dL")
    }
}
