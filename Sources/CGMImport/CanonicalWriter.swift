// Writes the canonical cohort: cgm.csv (subject_id, timestamp, glucose_mg_dl, glucose_censored when any
// reading was censored, then the event and wearable columns present), subjects.csv and the report, into a
// temporary directory beside the output that is renamed into place only once everything is written (an
// existing output is replaced only with --overwrite, and only then). Rows are formatted from bytes:
//
//   timestamp   2024-03-01T08:05:00+01:00 (the local clock and its offset), …Z for UTC, or
//               2024-03-01T08:05:00 for a device-local time written without a zone (no --timezone)
//   numbers     at most 4 decimals, trailing zeros dropped (100.8896, 0.5, 120)
//
// Per subject, readings are sorted by time (stable) and events are merged into one row per instant
// (amounts summed, rates and states: the later one).

import DelimitedText
import Foundation

/// One subject's static covariates for subjects.csv (column → value).
public typealias SubjectStatics = [String: String]

/// Writes the canonical files of an imported cohort.
public struct CanonicalWriter {
    /// subjects.csv columns in the order they are written when present (others follow sorted).
    static let staticOrder = ["diabetes_status", "clinical_site", "age", "sex", "weight_kg", "hba1c", "bmi"]

    /// The rows of cgm.csv, built in memory.
    public static func cgmCSV(_ series: [SubjectSeries]) -> (bytes: [UInt8], readings: Int, eventRows: Int) {
        let columns = Set(series.flatMap(\.eventColumn)).sorted()
        let censored = series.contains { $0.censoring.contains { $0 != .none } }
        var out: [UInt8] = []
        out.reserveCapacity(series.reduce(0) { $0 + ($1.glucose.count + $1.eventValue.count) * 48 } + 256)
        out += Array("subject_id,timestamp,glucose_mg_dl".utf8)
        if censored { out += Array(",glucose_censored".utf8) }
        for c in columns { out.append(0x2C); out += Array(c.rawValue.utf8) }
        out.append(0x0A)
        var readings = 0, eventRows = 0
        var dates = DayText()
        let columnIndex = Dictionary(uniqueKeysWithValues: columns.enumerated().map { ($1, $0) })
        var rowValues = [Float](repeating: .nan, count: columns.count)
        for s in series {
            let id = Array(s.subject.utf8)
            // Readings in time order (stable).
            var order = Array(s.readingTime.indices)
            if zip(s.readingTime, s.readingTime.dropFirst()).contains(where: { $0 > $1 }) {
                order.sort { s.readingTime[$0] != s.readingTime[$1] ? s.readingTime[$0] < s.readingTime[$1] : $0 < $1 }
            }
            var events = Array(s.eventTime.indices)
            events.sort { s.eventTime[$0] != s.eventTime[$1] ? s.eventTime[$0] < s.eventTime[$1] : $0 < $1 }
            var r = 0, e = 0
            while r < order.count || e < events.count {
                if r < order.count, e >= events.count || s.readingTime[order[r]] <= s.eventTime[events[e]] {
                    let i = order[r]
                    out += id
                    out.append(0x2C)
                    appendTimestamp(&out, s.readingTime[i], s.readingOffset[i], &dates)
                    out.append(0x2C)
                    appendNumber(&out, Double(s.glucose[i]))
                    if censored {
                        out.append(0x2C)
                        if s.censoring[i] != .none { out.append(0x31) }
                    }
                    for _ in columns { out.append(0x2C) }
                    out.append(0x0A)
                    readings += 1
                    r += 1
                } else {
                    let t = s.eventTime[events[e]], offset = s.eventOffset[events[e]]
                    for k in rowValues.indices { rowValues[k] = .nan }
                    while e < events.count, s.eventTime[events[e]] == t {
                        let j = events[e], c = s.eventColumn[j], k = columnIndex[c]!
                        rowValues[k] = c.combinesBySum && !rowValues[k].isNaN ? rowValues[k] + s.eventValue[j] : s.eventValue[j]
                        e += 1
                    }
                    out += id
                    out.append(0x2C)
                    appendTimestamp(&out, t, offset, &dates)
                    out.append(0x2C)
                    if censored { out.append(0x2C) }
                    for (k, c) in columns.enumerated() {
                        out.append(0x2C)
                        let v = rowValues[k]
                        if v.isNaN { continue }
                        if c == .sleepStage {
                            out += Array(CanonicalColumn.sleepStageWords[min(max(Int(v), 0), 3)].utf8)
                        } else {
                            appendNumber(&out, Double(v))
                        }
                    }
                    out.append(0x0A)
                    eventRows += 1
                }
            }
        }
        return (out, readings, eventRows)
    }

    /// subjects.csv for `subjects` (in that order) with their statics.
    public static func subjectsCSV(_ subjects: [String], statics: [String: SubjectStatics]) -> String {
        let present = Set(statics.values.flatMap(\.keys))
        let columns = staticOrder.filter(present.contains) + present.subtracting(staticOrder).sorted()
        var lines = [(["subject_id"] + columns).joined(separator: ",")]
        for s in subjects {
            lines.append(([s] + columns.map { quoted(statics[s]?[$0] ?? "") }).joined(separator: ","))
        }
        return lines.joined(separator: "\n") + "\n"
    }

    static func quoted(_ v: String) -> String {
        v.contains(",") || v.contains("\"") || v.contains("\n") ? "\"" + v.replacingOccurrences(of: "\"", with: "\"\"") + "\"" : v
    }

    /// Writes `files` (name → bytes) into `outDir` through a temporary sibling directory renamed into place.
    /// - Throws: `DataError` if `outDir` exists and `overwrite` is false, or if writing fails (then nothing
    ///   at `outDir` has changed).
    public static func commit(_ files: [(name: String, bytes: [UInt8])], to outDir: String, overwrite: Bool) throws {
        let fm = FileManager.default
        let out = URL(fileURLWithPath: outDir).standardizedFileURL
        if fm.fileExists(atPath: out.path), !overwrite {
            throw DataError("\(outDir) exists; pass --overwrite to replace it")
        }
        let parent = out.deletingLastPathComponent()
        let tag = "\(ProcessInfo.processInfo.processIdentifier)-\(UInt32.random(in: 0 ... .max))"
        let tmp = parent.appendingPathComponent(".\(out.lastPathComponent).import-\(tag)")
        do {
            try fm.createDirectory(at: parent, withIntermediateDirectories: true)
            try fm.createDirectory(at: tmp, withIntermediateDirectories: false)
            for f in files {
                let url = tmp.appendingPathComponent(f.name)
                guard fm.createFile(atPath: url.path, contents: Data(f.bytes)) else {
                    throw DataError("cannot write \(url.path)")
                }
            }
            if fm.fileExists(atPath: out.path) {
                let old = parent.appendingPathComponent(".\(out.lastPathComponent).replaced-\(tag)")
                try fm.moveItem(at: out, to: old)
                do { try fm.moveItem(at: tmp, to: out) } catch {
                    try? fm.moveItem(at: old, to: out)
                    throw error
                }
                try? fm.removeItem(at: old)
            } else {
                try fm.moveItem(at: tmp, to: out)
            }
        } catch {
            try? fm.removeItem(at: tmp)
            if let e = error as? DataError { throw e }
            throw DataError("cannot write \(outDir): \(error.localizedDescription)")
        }
    }

    // MARK: Formatting

    /// The text `YYYY-MM-DD` of the last day written (successive rows mostly share it).
    struct DayText {
        var day = Int64.min
        var text: (UInt64, UInt64) = (0, 0)  // 10 bytes used
    }

    /// Appends the ISO 8601 text of instant `t` with `offsetMinutes` (or zone-less clock text, see the header).
    static func appendTimestamp(_ out: inout [UInt8], _ t: Int64, _ offsetMinutes: Int16, _ cache: inout DayText) {
        let zoneless = offsetMinutes == SubjectSeries.noOffset
        let local = zoneless ? t : t + Int64(offsetMinutes) * 60
        var days = local / 86_400, sod = local % 86_400
        if sod < 0 { sod += 86_400; days -= 1 }
        if days != cache.day {
            let (y, m, d) = TimestampParser.civil(fromDays: days)
            var text: [UInt8] = []
            append4(&text, y); text.append(0x2D); append2(&text, m); text.append(0x2D); append2(&text, d)
            withUnsafeMutableBytes(of: &cache.text) { p in for k in 0 ..< 10 { p[k] = text[k] } }
            cache.day = days
        }
        withUnsafeBytes(of: &cache.text) { p in out.append(contentsOf: p[0 ..< 10]) }
        out.append(0x54)
        append2(&out, Int(sod / 3600)); out.append(0x3A); append2(&out, Int(sod / 60 % 60)); out.append(0x3A); append2(&out, Int(sod % 60))
        if zoneless { return }
        if offsetMinutes == 0 { out.append(0x5A); return }
        let o = Int(offsetMinutes)
        out.append(o < 0 ? 0x2D : 0x2B)
        append2(&out, abs(o) / 60); out.append(0x3A); append2(&out, abs(o) % 60)
    }

    /// Appends `v` with at most 4 decimals, trailing zeros dropped.
    static func appendNumber(_ out: inout [UInt8], _ v: Double) {
        var scaled = (v * 10_000).rounded()
        if scaled < 0 { out.append(0x2D); scaled = -scaled }
        guard scaled < 9e15 else {
            out += Array(String(v).utf8)
            return
        }
        let n = UInt64(scaled)
        appendUInt(&out, n / 10_000)
        var frac = n % 10_000
        guard frac != 0 else { return }
        out.append(0x2E)
        var digits = 4
        while frac % 10 == 0 { frac /= 10; digits -= 1 }
        var buf: (UInt8, UInt8, UInt8, UInt8) = (0x30, 0x30, 0x30, 0x30)
        withUnsafeMutableBytes(of: &buf) { p in
            var f = frac
            for k in stride(from: digits - 1, through: 0, by: -1) { p[k] = UInt8(0x30 + f % 10); f /= 10 }
            out.append(contentsOf: p[0 ..< digits])
        }
    }

    static func appendUInt(_ out: inout [UInt8], _ v: UInt64) {
        if v < 10 { out.append(UInt8(0x30 + v)); return }
        var buf: (UInt64, UInt64, UInt64) = (0, 0, 0)  // 24 bytes: room for 20 digits
        withUnsafeMutableBytes(of: &buf) { p in
            var x = v, k = 24
            while x > 0 { k -= 1; p[k] = UInt8(0x30 + x % 10); x /= 10 }
            out.append(contentsOf: p[k ..< 24])
        }
    }

    @inline(__always) static func append2(_ out: inout [UInt8], _ v: Int) {
        out.append(UInt8(0x30 + v / 10))
        out.append(UInt8(0x30 + v % 10))
    }

    @inline(__always) static func append4(_ out: inout [UInt8], _ v: Int) {
        out.append(UInt8(0x30 + v / 1000 % 10))
        out.append(UInt8(0x30 + v / 100 % 10))
        out.append(UInt8(0x30 + v / 10 % 10))
        out.append(UInt8(0x30 + v % 10))
    }
}
