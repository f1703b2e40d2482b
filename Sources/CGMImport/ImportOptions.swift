// What the user chose for an import (the `cgmtrain import` options).

/// How subjects of single-subject files are named when no `--subject` is given.
public enum SubjectNaming: String, Sendable, CaseIterable {
    /// The file name without its extension (Nightscout: the folder the files are in).
    case fileName = "file"
    /// S001, S002, … in the order the files are read.
    case numbered
}

/// Which of CGMacros' two sensors becomes the glucose series.
public enum CGMacrosSensor: String, Sendable, CaseIterable {
    /// The Dexcom G6 Pro (5-minute native sampling; the default).
    case dexcom
    /// The FreeStyle Libre Pro (15-minute native sampling).
    case libre
}

/// Options of an import.
public struct ImportOptions: Sendable {
    /// The format of every input (nil: recognized per file or folder).
    public var format: ImportFormat?
    /// IANA zone of device-local times (and the local clock for UTC-stamped data).
    public var timezone: String?
    /// The subject of every single-subject input.
    public var subject: String?
    /// How subjects are named from files when `subject` is nil.
    public var subjectNaming: SubjectNaming = .fileName
    /// The order of ambiguous `NN-NN-YYYY` dates (nil: proven by the file, else the format's usual order).
    public var dateOrder: DateOrder?
    /// The column mapping of `--format csv`.
    public var map: ColumnMap?
    /// CGMacros' glucose sensor.
    public var cgmacrosSensor: CGMacrosSensor = .dexcom
    /// `diabetes_status` written for subjects whose input does not give one (healthy, prediabetes,
    /// t2d_oral, t2d_insulin, t1d).
    public var diabetesStatus: String?

    /// Default options: formats recognized, subjects named after files, no zone.
    public init() {}

    /// The values `prepare` knows for diabetes_status.
    public static let diabetesStatuses = ["healthy", "prediabetes", "t2d_oral", "t2d_insulin", "t1d"]
}
