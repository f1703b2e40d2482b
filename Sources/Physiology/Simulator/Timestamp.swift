/// ISO 8601 UTC timestamps ("2026-01-05T07:35:00Z") without Foundation's formatters: a pure,
/// deterministic function of the seconds since the Unix epoch (proleptic Gregorian calendar,
/// H. Hinnant's `days_from_civil` / `civil_from_days`).
public enum Timestamp {
    /// Seconds since 1970-01-01T00:00:00Z of a UTC date and time.
    public static func epochSeconds(year: Int, month: Int, day: Int, hour: Int = 0, minute: Int = 0,
                                    second: Int = 0) -> Int64 {
        let y = month <= 2 ? year - 1 : year
        let era = (y >= 0 ? y : y - 399) / 400
        let yoe = y - era * 400
        let mp = (month + 9) % 12
        let doy = (153 * mp + 2) / 5 + day - 1
        let doe = yoe * 365 + yoe / 4 - yoe / 100 + doy
        let days = era * 146_097 + doe - 719_468
        return Int64(days) * 86400 + Int64(hour * 3600 + minute * 60 + second)
    }

    /// `YYYY-MM-DDTHH:MM:SSZ` for seconds since the epoch.
    public static func iso8601(_ seconds: Int64) -> String {
        var days = seconds / 86400
        var rem = seconds % 86400
        if rem < 0 {
            rem += 86400
            days -= 1
        }
        let z = Int(days) + 719_468
        let era = (z >= 0 ? z : z - 146_096) / 146_097
        let doe = z - era * 146_097
        let yoe = (doe - doe / 1460 + doe / 36524 - doe / 146_096) / 365
        let doy = doe - (365 * yoe + yoe / 4 - yoe / 100)
        let mp = (5 * doy + 2) / 153
        let d = doy - (153 * mp + 2) / 5 + 1
        let m = mp < 10 ? mp + 3 : mp - 9
        let y = yoe + era * 400 + (m <= 2 ? 1 : 0)
        let h = Int(rem / 3600), mi = Int(rem % 3600 / 60), s = Int(rem % 60)
        return pad(y, 4) + "-" + pad(m, 2) + "-" + pad(d, 2) + "T" + pad(h, 2) + ":" + pad(mi, 2) + ":" + pad(s, 2) + "Z"
    }

    /// Parses `YYYY-MM-DD` or `YYYY-MM-DDTHH:MM:SSZ` (UTC); nil when malformed.
    public static func parse(_ text: String) -> Int64? {
        let parts = text.split(whereSeparator: { "-T:Z".contains($0) }).map { Int($0) }
        guard parts.allSatisfy({ $0 != nil }) else { return nil }
        let v = parts.map { $0! }
        guard v.count == 3 || v.count == 6, (1...12).contains(v[1]), (1...31).contains(v[2]) else { return nil }
        if v.count == 3 { return epochSeconds(year: v[0], month: v[1], day: v[2]) }
        guard (0...23).contains(v[3]), (0...59).contains(v[4]), (0...59).contains(v[5]) else { return nil }
        return epochSeconds(year: v[0], month: v[1], day: v[2], hour: v[3], minute: v[4], second: v[5])
    }

    private static func pad(_ v: Int, _ width: Int) -> String {
        let s = String(v)
        return s.count >= width ? s : String(repeating: "0", count: width - s.count) + s
    }
}
