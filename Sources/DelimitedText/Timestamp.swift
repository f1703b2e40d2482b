// Timestamps of the canonical CSV: ISO 8601 with or without a zone, or Unix seconds; parsed from
// bytes without Foundation date formatters (they are slow and locale-dependent).
//
// Accepted:
//   2024-03-01T08:05:00Z   2024-03-01T08:05:00+01:00   2024-03-01 08:05:00.250-0530   2024-03-01T08:05+01
//   2024-03-01 08:05:00    (no zone: the clock time is taken as-is, i.e. as UTC, and as the local time)
//   2024-03-01             (midnight)
//   1709280300  1709280300.5   (Unix seconds, UTC)
// The instant is Unix seconds (fractions truncated toward −∞). The UTC offset is kept because time of
// day features use the subject's local clock: with a zone, local = the written clock time; without a
// zone or for Unix seconds the offset is 0.

/// A parsed instant: Unix seconds and the UTC offset (minutes) its text was written in.
public struct Timestamp: Equatable, Sendable {
    /// Seconds since 1970-01-01T00:00:00Z.
    public var seconds: Int64
    /// Offset of the written local clock from UTC in minutes (0 for zone-less text and Unix seconds).
    public var utcOffsetMinutes: Int
    /// Whether the text carried an explicit zone (`Z` or `±hh:mm`).
    public var hadZone: Bool

    /// Creates a timestamp.
    public init(seconds: Int64, utcOffsetMinutes: Int = 0, hadZone: Bool = false) {
        self.seconds = seconds
        self.utcOffsetMinutes = utcOffsetMinutes
        self.hadZone = hadZone
    }
}

/// ISO 8601 / Unix-seconds timestamp parser.
public enum TimestampParser {
    /// Parses `text`; nil if it is neither ISO 8601 nor Unix seconds.
    public static func parse(_ text: String) -> Timestamp? {
        var copy = text
        return copy.withUTF8 { parse($0) }
    }

    /// Parses raw field bytes (trimmed first); nil if they are neither ISO 8601 nor Unix seconds.
    public static func parse(_ raw: UnsafeBufferPointer<UInt8>) -> Timestamp? {
        let b = CSVNumber.trim(raw)
        if b.count >= 5, b[4] == 0x2D { return parseISO(b) }
        return parseUnix(b)
    }

    /// Why `text` is not a timestamp (used only on the error path).
    public static func explain(_ text: String) -> String {
        let digits = text.drop(while: { $0 == "-" }).prefix(while: { $0.isASCII && $0.isNumber })
        if digits.count >= 12, !text.contains(":") {
            return "cannot parse '\(text)' as a timestamp: it looks like Unix milliseconds; expected Unix seconds"
        }
        return "cannot parse '\(text)' as a timestamp (expected ISO 8601 such as 2024-03-01T08:05:00+01:00 or 2024-03-01 08:05:00, or Unix seconds)"
    }

    /// Days from 1970-01-01 to the proleptic Gregorian date y-m-d (H. Hinnant's `days_from_civil`).
    public static func daysFromCivil(year: Int, month: Int, day: Int) -> Int64 {
        let y = Int64(month <= 2 ? year - 1 : year)
        let era = (y >= 0 ? y : y - 399) / 400
        let yoe = y - era * 400
        let mp = Int64(month > 2 ? month - 3 : month + 9)
        let doy = (153 * mp + 2) / 5 + Int64(day) - 1
        let doe = yoe * 365 + yoe / 4 - yoe / 100 + doy
        return era * 146_097 + doe - 719_468
    }

    /// The proleptic Gregorian (year, month, day) of day `days` since 1970-01-01 (H. Hinnant's
    /// `civil_from_days`, the inverse of `daysFromCivil`).
    public static func civil(fromDays days: Int64) -> (year: Int, month: Int, day: Int) {
        let z = days + 719_468
        let era = (z >= 0 ? z : z - 146_096) / 146_097
        let doe = z - era * 146_097
        let yoe = (doe - doe / 1460 + doe / 36524 - doe / 146_096) / 365
        let doy = doe - (365 * yoe + yoe / 4 - yoe / 100)
        let mp = (5 * doy + 2) / 153
        let d = doy - (153 * mp + 2) / 5 + 1
        let m = mp < 10 ? mp + 3 : mp - 9
        return (Int(yoe + era * 400 + (m <= 2 ? 1 : 0)), Int(m), Int(d))
    }

    private static func parseUnix(_ b: UnsafeBufferPointer<UInt8>) -> Timestamp? {
        let n = b.count
        var i = 0
        let negative = n > 0 && b[0] == 0x2D
        if negative { i = 1 }
        var whole: Int64 = 0, wholeDigits = 0
        while i < n, b[i] &- 0x30 < 10 {
            whole = whole * 10 + Int64(b[i] &- 0x30)
            wholeDigits += 1
            i += 1
            if wholeDigits > 11 { return nil }  // ≥ 12 digits: milliseconds or garbage
        }
        guard wholeDigits > 0 else { return nil }
        var hasFraction = false
        if i < n, b[i] == 0x2E {
            i += 1
            while i < n, b[i] &- 0x30 < 10 {
                if b[i] != 0x30 { hasFraction = true }
                i += 1
            }
        }
        guard i == n else { return nil }
        let seconds = negative ? -whole - (hasFraction ? 1 : 0) : whole
        return Timestamp(seconds: seconds)
    }

    private static func parseISO(_ b: UnsafeBufferPointer<UInt8>) -> Timestamp? {
        let n = b.count
        func number(_ at: Int, _ count: Int) -> Int? {
            guard at + count <= n else { return nil }
            var v = 0
            for k in at ..< at + count {
                let d = b[k] &- 0x30
                guard d < 10 else { return nil }
                v = v * 10 + Int(d)
            }
            return v
        }
        guard n >= 10, let year = number(0, 4), b[4] == 0x2D, let month = number(5, 2), b[7] == 0x2D,
              let day = number(8, 2) else { return nil }
        guard (1 ... 12).contains(month), day >= 1, day <= daysIn(month: month, year: year) else { return nil }
        var hour = 0, minute = 0, second = 0, offset = 0, hadZone = false
        var i = 10
        if i < n {
            guard b[i] == 0x54 || b[i] == 0x74 || b[i] == 0x20 else { return nil }  // T t ' '
            guard let h = number(11, 2), 13 < n, b[13] == 0x3A, let m = number(14, 2) else { return nil }
            hour = h
            minute = m
            i = 16
            if i < n, b[i] == 0x3A {
                guard let s = number(i + 1, 2) else { return nil }
                second = s
                i += 3
            }
            if i < n, b[i] == 0x2E || b[i] == 0x2C {  // fraction of a second: truncated
                i += 1
                let start = i
                while i < n, b[i] &- 0x30 < 10 { i += 1 }
                guard i > start else { return nil }
            }
            if i + 1 < n, b[i] == 0x20, b[i + 1] == 0x2B || b[i + 1] == 0x2D || b[i + 1] == 0x5A { i += 1 }
            if i < n {
                hadZone = true
                if b[i] == 0x5A || b[i] == 0x7A {  // Z z
                    i += 1
                } else if b[i] == 0x2B || b[i] == 0x2D {
                    let sign = b[i] == 0x2D ? -1 : 1
                    guard let oh = number(i + 1, 2) else { return nil }
                    i += 3
                    var om = 0
                    if i < n {
                        if b[i] == 0x3A { i += 1 }
                        guard let m = number(i, 2) else { return nil }
                        om = m
                        i += 2
                    }
                    guard oh <= 18, om < 60 else { return nil }
                    offset = sign * (oh * 60 + om)
                } else {
                    return nil
                }
                guard i == n else { return nil }
            }
        }
        guard hour < 24, minute < 60, second <= 60 else { return nil }
        let days = daysFromCivil(year: year, month: month, day: day)
        let local = days * 86_400 + Int64(hour * 3600 + minute * 60 + min(second, 59))
        return Timestamp(seconds: local - Int64(offset * 60), utcOffsetMinutes: offset, hadZone: hadZone)
    }

    private static func daysIn(month: Int, year: Int) -> Int {
        switch month {
        case 2: return (year % 4 == 0 && year % 100 != 0) || year % 400 == 0 ? 29 : 28
        case 4, 6, 9, 11: return 30
        default: return 31
        }
    }
}
