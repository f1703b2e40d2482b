// Device-local clock readings as exports write them ("03-01-2024 08:05", "2024/03/01;08:05:00",
// "01.03.2024 8:05 PM", "2014:10:01 19:27:49"), parsed from bytes into a packed value that keeps the two
// leading date fields undecided until the whole file has been read: a day-first file shows itself by a
// first field above 12 somewhere, a month-first one by a second field above 12 (`DateOrderEvidence`).
//
//   packed = year << 32 | first << 27 | second << 22 | secondOfDay      (year-first texts: first = month)

import DelimitedText

/// Which of the two leading fields of a `NN-NN-YYYY` date is the month.
public enum DateOrder: String, Sendable, CaseIterable {
    /// Month first (`MM-DD-YYYY`, US exports).
    case mdy
    /// Day first (`DD-MM-YYYY`, most other locales).
    case dmy
}

/// A local date and time of day, packed (see the file header); `isYearFirst` dates are never ambiguous.
public struct LocalStamp: Equatable, Sendable {
    /// The packed value.
    public var packed: UInt64
    /// Whether the text started with the year (`YYYY-MM-DD`), so `first` is the month.
    public var isYearFirst: Bool

    var year: Int { Int(packed >> 32) }
    var first: Int { Int((packed >> 27) & 31) }
    var second: Int { Int((packed >> 22) & 31) }
    var secondOfDay: Int { Int(packed & 0x3F_FFFF) }

    init(year: Int, first: Int, second: Int, secondOfDay: Int, yearFirst: Bool) {
        packed = UInt64(year) << 32 | UInt64(first) << 27 | UInt64(second) << 22 | UInt64(secondOfDay)
        isYearFirst = yearFirst
    }

    /// Seconds since 1970-01-01 00:00 of this clock reading taken as UTC; nil if the date does not exist
    /// (month 13, 31 April) under `order`.
    public func clockSeconds(order: DateOrder) -> Int64? {
        let (month, day) = isYearFirst || order == .mdy ? (first, second) : (second, first)
        guard (1 ... 12).contains(month), day >= 1, day <= LocalStamp.daysIn(month: month, year: year) else { return nil }
        return TimestampParser.daysFromCivil(year: year, month: month, day: day) * 86_400 + Int64(secondOfDay)
    }

    static func daysIn(month: Int, year: Int) -> Int {
        switch month {
        case 2: return (year % 4 == 0 && year % 100 != 0) || year % 400 == 0 ? 29 : 28
        case 4, 6, 9, 11: return 30
        default: return 31
        }
    }
}

/// What a file's dates say about their order: the largest first and second field of ambiguous dates.
public struct DateOrderEvidence: Sendable {
    var maxFirst = 0, maxSecond = 0, ambiguous = 0
    /// The first lines whose first (second) field is above 12, i.e. that can only be day-first (month-first).
    var dayFirstLine: Int?, monthFirstLine: Int?

    /// Records one parsed date from `line`.
    mutating func note(_ s: LocalStamp, line: Int) {
        guard !s.isYearFirst else { return }
        ambiguous += 1
        if s.first > 12, dayFirstLine == nil { dayFirstLine = line }
        if s.second > 12, monthFirstLine == nil { monthFirstLine = line }
        maxFirst = max(maxFirst, s.first)
        maxSecond = max(maxSecond, s.second)
    }

    /// The order the dates prove, or nil when every date reads both ways (or none is ambiguous).
    var proven: DateOrder? {
        if maxFirst > 12, maxSecond <= 12 { return .dmy }
        if maxSecond > 12, maxFirst <= 12 { return .mdy }
        return nil
    }

    /// Whether the dates contradict each other (a first field and a second field both above 12).
    var contradictory: Bool { maxFirst > 12 && maxSecond > 12 }
}

/// Byte-level parser of local date-time texts.
public enum LocalClockText {
    /// Parses a date and time in one field: a date (`YYYY-MM-DD`, `YYYY/MM/DD`, `YYYY:MM:DD`, `NN-NN-YYYY`,
    /// `NN/NN/YYYY`, `NN.NN.YYYY`, two-digit years as 20YY), then `T` or spaces, then `H:MM[:SS[.fff]]`
    /// with an optional `AM`/`PM`. A date alone is midnight. Nil if the text is none of these.
    public static func parse(_ raw: UnsafeBufferPointer<UInt8>) -> LocalStamp? {
        let b = CSVNumber.trim(raw)
        var i = 0
        guard let date = parseDate(b, &i) else { return nil }
        var sod = 0
        if i < b.count {
            guard b[i] == 0x54 || b[i] == 0x20 else { return nil }  // 'T' or ' '
            while i < b.count, b[i] == 0x20 || b[i] == 0x54 { i += 1 }
            guard let t = parseTime(b, &i), i == b.count else { return nil }
            sod = t
        }
        return LocalStamp(year: date.year, first: date.first, second: date.second, secondOfDay: sod, yearFirst: date.yearFirst)
    }

    /// Parses a date field and a separate time-of-day field (D1NAMO, CareLink).
    public static func parse(date rawDate: UnsafeBufferPointer<UInt8>, time rawTime: UnsafeBufferPointer<UInt8>) -> LocalStamp? {
        let d = CSVNumber.trim(rawDate), t = CSVNumber.trim(rawTime)
        var i = 0, j = 0
        guard let date = parseDate(d, &i), i == d.count, let sod = parseTime(t, &j), j == t.count else { return nil }
        return LocalStamp(year: date.year, first: date.first, second: date.second, secondOfDay: sod, yearFirst: date.yearFirst)
    }

    /// Parses `text` (tests, error paths).
    public static func parse(_ text: String) -> LocalStamp? {
        var copy = text
        return copy.withUTF8 { parse($0) }
    }

    private static func digits(_ b: UnsafeBufferPointer<UInt8>, _ i: inout Int, max: Int) -> (value: Int, count: Int)? {
        var v = 0, n = 0
        while i < b.count, n < max, b[i] &- 0x30 < 10 {
            v = v * 10 + Int(b[i] &- 0x30)
            i += 1
            n += 1
        }
        return n == 0 ? nil : (v, n)
    }

    private static func parseDate(_ b: UnsafeBufferPointer<UInt8>, _ i: inout Int) -> (year: Int, first: Int, second: Int, yearFirst: Bool)? {
        guard let f1 = digits(b, &i, max: 4), i < b.count else { return nil }
        let sep = b[i]
        guard sep == 0x2D || sep == 0x2F || sep == 0x2E || sep == 0x3A else { return nil }  // - / . :
        i += 1
        guard let f2 = digits(b, &i, max: 2), i < b.count, b[i] == sep else { return nil }
        i += 1
        guard let f3 = digits(b, &i, max: 4) else { return nil }
        if f1.count == 4 {
            guard f3.count <= 2, (1 ... 12).contains(f2.value), f3.value >= 1,
                  f3.value <= LocalStamp.daysIn(month: f2.value, year: f1.value) else { return nil }
            return (f1.value, f2.value, f3.value, true)
        }
        guard sep != 0x3A, f1.count <= 2, f3.count == 4 || f3.count == 2 else { return nil }
        guard (1 ... 31).contains(f1.value), (1 ... 31).contains(f2.value) else { return nil }
        return (f3.count == 2 ? 2000 + f3.value : f3.value, f1.value, f2.value, false)
    }

    private static func parseTime(_ b: UnsafeBufferPointer<UInt8>, _ i: inout Int) -> Int? {
        guard let h = digits(b, &i, max: 2), i < b.count, b[i] == 0x3A else { return nil }
        i += 1
        guard let m = digits(b, &i, max: 2), m.count == 2 else { return nil }
        var s = 0
        if i < b.count, b[i] == 0x3A {
            i += 1
            guard let sec = digits(b, &i, max: 2), sec.count == 2 else { return nil }
            s = sec.value
            if i < b.count, b[i] == 0x2E || b[i] == 0x2C {  // fraction of a second: truncated
                i += 1
                guard digits(b, &i, max: 9) != nil else { return nil }
            }
        }
        var hour = h.value
        var k = i
        while k < b.count, b[k] == 0x20 { k += 1 }
        if k + 1 < b.count, b[k] | 0x20 == 0x61 || b[k] | 0x20 == 0x70, b[k + 1] | 0x20 == 0x6D {  // am / pm
            guard (1 ... 12).contains(hour) else { return nil }
            let pm = b[k] | 0x20 == 0x70
            hour = hour % 12 + (pm ? 12 : 0)
            i = k + 2
        }
        guard hour < 24, m.value < 60, s < 60 else { return nil }
        return hour * 3600 + m.value * 60 + s
    }
}
