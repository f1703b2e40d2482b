// The column mapping of `--format csv`: which columns of an arbitrary CSV hold the glucose, the time and
// (optionally) the subject and events, in what units and time format. Given on the command line
// (`--map glucose="Sensor Reading",time="DateTime",units=mmol/L`) or as a flat YAML file of the same keys.
//
//   glucose     column with glucose (required)            units      mg/dL | mmol/L | auto (header, then values)
//   time        timestamp column (required), or with      format     auto | unix | unix_ms | a pattern such as
//   date        a date column, time is its time of day               MM/DD/YYYY hh:mm (sets the date order)
//   subject     column of subject ids (else the file name / --subject)
//   timezone    IANA zone of local times (else --timezone)            delimiter  , | ; | tab (else sniffed)
//   decimal     . | ,                                     skip       lines before the header
//   low, high   mg/dL written for Low / High texts (40, 400)
//   <column>    an event or wearable column: carbs_g (or carbs), protein_g, fat_g, fibre_g (fiber), insulin_bolus_u
//               (bolus), insulin_basal_u_per_h (basal), heart_rate_bpm (heart_rate), respiration_rate, spo2, steps,
//               stress, calories, sleep_stage, meal_flag

import DelimitedText
import Foundation

/// A column mapping for `--format csv`.
public struct ColumnMap: Equatable, Sendable {
    /// How the time column is written.
    public enum TimeFormat: Equatable, Sendable {
        /// ISO 8601 (with or without zone), a local date-time, or Unix seconds — told apart per value.
        case auto
        /// Unix seconds.
        case unixSeconds
        /// Unix milliseconds.
        case unixMilliseconds
        /// A local date-time whose ambiguous dates are in this order.
        case ordered(DateOrder)
    }

    /// The glucose column.
    public var glucose: String
    /// The timestamp column (with `date`: the time-of-day column).
    public var time: String
    /// A separate date column, if any.
    public var date: String?
    /// The subject-id column, if any.
    public var subject: String?
    /// The glucose unit; nil: from the header, then the values.
    public var units: GlucoseUnit?
    /// How the time column is written.
    public var timeFormat: TimeFormat = .auto
    /// IANA zone of local times (used when --timezone is not given).
    public var timezone: String?
    /// The field delimiter; nil: sniffed from the header line.
    public var delimiter: UInt8?
    /// Whether decimals are written with a comma.
    public var decimalComma = false
    /// Lines before the header.
    public var skipLines = 0
    /// mg/dL written for Low / High texts.
    public var limits = SensorLimits.dexcom
    /// Event and wearable columns: input column name per canonical column.
    public var events: [(CanonicalColumn, String)] = []

    public static func == (a: ColumnMap, b: ColumnMap) -> Bool {
        a.glucose == b.glucose && a.time == b.time && a.date == b.date && a.subject == b.subject && a.units == b.units
            && a.timeFormat == b.timeFormat && a.timezone == b.timezone && a.delimiter == b.delimiter
            && a.decimalComma == b.decimalComma && a.skipLines == b.skipLines && a.limits.low == b.limits.low
            && a.limits.high == b.limits.high && a.events.map(\.0) == b.events.map(\.0) && a.events.map(\.1) == b.events.map(\.1)
    }

    /// Aliases of canonical column names.
    static let aliases: [String: CanonicalColumn] = [
        "carbs": .carbs, "protein": .protein, "fat": .fat, "fibre": .fibre, "fiber": .fibre, "bolus": .bolus, "basal": .basal,
        "heart_rate": .heartRate, "hr": .heartRate,
    ]

    /// Builds a mapping from `key=value` pairs.
    /// - Throws: `DataError` naming the key for an unknown key, a missing glucose/time key or a bad value.
    public init(pairs: [(String, String)]) throws {
        var glucose: String?, time: String?
        for (rawKey, value) in pairs {
            let key = rawKey.trimmingCharacters(in: .whitespaces).lowercased()
            func bad(_ why: String) -> DataError { DataError(key: .config("--map \(key)"), why) }
            switch key {
            case "glucose": glucose = value
            case "time": time = value
            case "date": date = value
            case "subject": subject = value
            case "units":
                switch value.lowercased().replacingOccurrences(of: " ", with: "") {
                case "mg/dl", "mgdl", "mg_dl": units = .mgdl
                case "mmol/l", "mmol", "mmol_l": units = .mmol
                case "auto": units = nil
                default: throw bad("must be mg/dL, mmol/L or auto, got '\(value)'")
                }
            case "format":
                let v = value.trimmingCharacters(in: .whitespaces)
                switch v.lowercased() {
                case "auto", "iso", "iso8601": timeFormat = .auto
                case "unix", "unix_s", "epoch": timeFormat = .unixSeconds
                case "unix_ms", "epoch_ms": timeFormat = .unixMilliseconds
                default:
                    let u = v.uppercased()
                    if u.hasPrefix("MM") { timeFormat = .ordered(.mdy) }
                    else if u.hasPrefix("DD") { timeFormat = .ordered(.dmy) }
                    else if u.hasPrefix("YYYY") || u.hasPrefix("YY-") { timeFormat = .auto }
                    else { throw bad("must be auto, unix, unix_ms or a pattern starting with MM, DD or YYYY (e.g. MM/DD/YYYY hh:mm), got '\(value)'") }
                }
            case "timezone": timezone = value
            case "delimiter":
                switch value {
                case ",": delimiter = Delimiter.comma
                case ";": delimiter = Delimiter.semicolon
                case "tab", "\\t", "\t": delimiter = Delimiter.tab
                default: throw bad("must be , ; or tab, got '\(value)'")
                }
            case "decimal":
                guard value == "." || value == "," else { throw bad("must be . or , got '\(value)'") }
                decimalComma = value == ","
            case "skip":
                guard let n = Int(value), n >= 0 else { throw bad("must be a number of lines ≥ 0, got '\(value)'") }
                skipLines = n
            case "low", "high":
                guard let v = Double(value), v > 0 else { throw bad("must be a glucose value in mg/dL, got '\(value)'") }
                if key == "low" { limits.low = v } else { limits.high = v }
            default:
                guard let column = CanonicalColumn(rawValue: key) ?? Self.aliases[key] else {
                    throw DataError(key: .config("--map \(rawKey)"), "unknown key (known: glucose, time, date, subject, units, format, timezone, "
                                    + "delimiter, decimal, skip, low, high, and the event columns "
                                    + CanonicalColumn.allCases.map(\.rawValue).joined(separator: ", ") + ")")
                }
                events.removeAll { $0.0 == column }
                events.append((column, value))
            }
        }
        guard let glucose else { throw DataError(key: .config("--map glucose"), "missing: name the glucose column (glucose=COLUMN)") }
        guard let time else { throw DataError(key: .config("--map time"), "missing: name the time column (time=COLUMN)") }
        self.glucose = glucose
        self.time = time
    }

    /// Parses `glucose="Sensor Reading",time=DateTime,…`: comma-separated `key=value` pairs, values optionally in
    /// double quotes (which may then hold commas).
    public static func parse(_ text: String) throws -> [(String, String)] {
        var pairs: [(String, String)] = []
        var key = "", value = "", inKey = true, quoted = false
        func flush() throws {
            let k = key.trimmingCharacters(in: .whitespaces)
            guard !k.isEmpty || !value.isEmpty else { return }
            guard !inKey, !k.isEmpty else { throw DataError(key: .config("--map"), "expected key=value, got '\(key)\(value)'") }
            pairs.append((k, value.trimmingCharacters(in: .whitespaces)))
            key = ""; value = ""; inKey = true
        }
        for ch in text {
            if quoted {
                if ch == "\"" { quoted = false } else { value.append(ch) }
            } else if ch == "\"" && !inKey {
                quoted = true
            } else if ch == "=" && inKey {
                inKey = false
            } else if ch == "," {
                try flush()
            } else if inKey {
                key.append(ch)
            } else {
                value.append(ch)
            }
        }
        guard !quoted else { throw DataError(key: .config("--map"), "unterminated quote in '\(text)'") }
        try flush()
        return pairs
    }
}
