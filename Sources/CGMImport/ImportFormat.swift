// The input formats `cgmtrain import` reads, and how a file or folder is recognized from its header
// (`--format auto`) or its folder layout.

import Foundation

/// An input format.
public enum ImportFormat: String, CaseIterable, Codable, Sendable {
    /// Dexcom Clarity CSV export (G4–G7).
    case dexcomClarity = "dexcom-clarity"
    /// Abbott LibreView CSV export (FreeStyle Libre 1/2/3).
    case libreView = "libreview"
    /// Medtronic CareLink CSV export (pump and Guardian sensor).
    case careLink = "carelink"
    /// Nightscout entries and treatments (JSON API dump or CSV export).
    case nightscout
    /// The AI-READI release folder (participants.tsv, Dexcom G6 JSON, Garmin wearable JSON).
    case aiReadi = "ai-readi"
    /// The D1NAMO folder (per-subject glucose.csv, insulin.csv, food.csv).
    case d1namo
    /// The CGMacros folder (per-subject CSVs on a 1-minute grid).
    case cgmacros
    /// OhioT1DM XML (one file per patient).
    case ohioT1DM = "ohiot1dm"
    /// Any other CSV, read through a column mapping (`--map`).
    case mappedCSV = "csv"

    /// Whether the format is a folder layout rather than single files.
    var isFolderLayout: Bool { self == .aiReadi || self == .d1namo || self == .cgmacros }
}

/// Recognizes formats from file heads and folder layouts.
enum FormatDetection {
    /// The first bytes of a file as text (invalid UTF-8 replaced), at most `limit` bytes.
    static func head(_ path: String, limit: Int = 8192) -> String {
        guard let h = FileHandle(forReadingAtPath: path) else { return "" }
        defer { try? h.close() }
        let data = (try? h.read(upToCount: limit)) ?? Data()
        return String(decoding: data, as: UTF8.self)
    }

    /// The first `n` lines of `text` (split at LF, CR dropped).
    static func lines(_ text: String, _ n: Int) -> [String] {
        text.utf8.split(separator: 0x0A, maxSplits: n, omittingEmptySubsequences: false).prefix(n).map {
            String(decoding: $0.last == 0x0D ? $0.dropLast() : $0[...], as: UTF8.self)
        }
    }

    /// The format of a single file, from its head; nil if none matches.
    static func format(ofFile path: String) -> ImportFormat? {
        let text = head(path)
        let lower = text.lowercased()
        let firstLines = lines(text, 12).joined(separator: "\n")
        if firstLines.contains("Timestamp (YYYY-MM-DDThh:mm:ss)") && firstLines.contains("Event Type") { return .dexcomClarity }
        let libreHead = lines(text, 4).joined(separator: "\n")
        if libreHead.contains("Device Timestamp") && libreHead.contains("Record Type") { return .libreView }
        if text.contains("Sensor Glucose (mg/dL)") || text.contains("Sensor Glucose (mmol/L)")
            || (firstLines.contains("Last Name") && firstLines.contains("First Name") && text.contains("BG Reading")) {
            return .careLink
        }
        if text.contains("Libre GL") && text.contains("Dexcom GL") { return .cgmacros }
        if lower.contains("<patient") { return .ohioT1DM }
        let trimmed = text.drop(while: { $0.isWhitespace || $0 == "\u{FEFF}" })
        if trimmed.first == "[" || trimmed.first == "{" {
            if text.contains("\"sgv\"") || text.contains("\"eventType\"") || text.contains("\"created_at\"") { return .nightscout }
            return nil
        }
        let header = String(trimmed.prefix(while: { !$0.isNewline }))
        let fields = Set(header.split(separator: ",").map { $0.trimmingCharacters(in: CharacterSet(charactersIn: "\" ")) })
        if fields.contains("sgv") && (fields.contains("date") || fields.contains("dateString")) { return .nightscout }
        if fields.contains("created_at") && fields.contains("eventType") { return .nightscout }
        if fields == ["date", "time", "glucose", "type", "comments"] { return .d1namo }
        return nil
    }

    /// Whether `path` is a directory.
    static func isFolder(_ path: String) -> Bool {
        var d: ObjCBool = false
        return FileManager.default.fileExists(atPath: path, isDirectory: &d) && d.boolValue
    }

    /// The folder layout of a directory, if it is one.
    static func format(ofFolder path: String) -> ImportFormat? {
        let fm = FileManager.default
        let entries = (try? fm.contentsOfDirectory(atPath: path)) ?? []
        if entries.contains("participants.tsv") || entries.contains("wearable_blood_glucose") { return .aiReadi }
        func isDir(_ p: String) -> Bool {
            var d: ObjCBool = false
            return fm.fileExists(atPath: p, isDirectory: &d) && d.boolValue
        }
        let subdirs = entries.filter { isDir(path + "/" + $0) }
        if subdirs.contains(where: { fm.fileExists(atPath: "\(path)/\($0)/\($0).csv") && $0.lowercased().hasPrefix("cgmacros") }) {
            return .cgmacros
        }
        if fm.fileExists(atPath: path + "/glucose.csv") { return .d1namo }
        if subdirs.contains(where: { fm.fileExists(atPath: "\(path)/\($0)/glucose.csv") }) { return .d1namo }
        if subdirs.contains(where: { sub in
            ((try? fm.contentsOfDirectory(atPath: "\(path)/\(sub)")) ?? []).contains { fm.fileExists(atPath: "\(path)/\(sub)/\($0)/glucose.csv") }
        }) {
            return .d1namo
        }
        return nil
    }
}
