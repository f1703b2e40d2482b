// IngestReport: what reading the CSV files found and fixed. Printed by `prepare` and stored in the
// manifest next to the resampling and QC reports.

/// Counts and warnings from reading the cohort files.
public struct IngestReport: Codable, Equatable, Sendable {
    /// The measurements file (name only).
    public var file: String = ""
    /// Data rows read (header and blank lines excluded).
    public var rows = 0
    /// Subjects found in the measurements file.
    public var subjects = 0
    /// Glucose values kept (after range checks and deduplication).
    public var glucoseRows = 0
    /// Rows with no glucose but at least one event or wearable value (carbs, insulin, …).
    public var eventOnlyRows = 0
    /// Rows with no value at all besides subject and time (skipped).
    public var emptyRows = 0
    /// Glucose values outside the plausible range (20–600 mg/dL): dropped; the row's other values are kept.
    public var droppedOutOfRangeGlucose = 0
    /// Rows identical to an earlier row of the same subject and time (every value equal): removed.
    public var duplicatesRemoved = 0
    /// Second and later glucose values at a timestamp that already had one: dropped (the first in
    /// file order is kept); their other values are kept.
    public var duplicateTimestampGlucose = 0
    /// Rows whose time was earlier than the previous row of the same subject (the series were sorted).
    public var unsortedRowsFixed = 0
    /// Readings flagged glucose_censored = 1 (a sensor limit standing for a "Low"/"High" text); kept as is.
    public var censoredGlucose = 0
    /// Whether glucose came in mmol/L (converted ×18.016 to mg/dL).
    public var convertedFromMmol = false
    /// Columns not in the canonical format (ignored).
    public var ignoredColumns: [String] = []
    /// Human-readable warnings (ignored columns, subject-table mismatches, …).
    public var warnings: [String] = []

    /// Creates an empty report.
    public init() {}

    /// One line per count, then the warnings.
    public func summaryLines() -> [String] {
        var lines = [
            "ingest \(file): \(rows) rows, \(subjects) subjects, \(glucoseRows) glucose rows, \(eventOnlyRows) event-only rows"
                + (convertedFromMmol ? " (glucose converted from mmol/L ×18.016)" : ""),
            "  dropped glucose outside 20–600 mg/dL: \(droppedOutOfRangeGlucose); duplicate rows removed: \(duplicatesRemoved);"
                + " second glucose at one timestamp dropped: \(duplicateTimestampGlucose); unsorted rows fixed: \(unsortedRowsFixed);"
                + " empty rows skipped: \(emptyRows)",
        ]
        if censoredGlucose > 0 {
            lines.append("  censored readings (glucose_censored = 1, the sensor's Low/High limit): \(censoredGlucose)")
        }
        lines += warnings.map { "  warning: \($0)" }
        return lines
    }
}
