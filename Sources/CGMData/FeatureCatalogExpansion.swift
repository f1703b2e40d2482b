// Expanding the feature lists of a config against what the data has (groups, `?optional` entries, required
// features and static columns); the names themselves are in CGMSchema's FeatureCatalog.

import CGMSchema
import DelimitedText

extension FeatureCatalog {
    /// Nil if `name` can be computed from data with `channels`; otherwise why not.
    public static func unavailability(of name: String, channels: [Channel]) -> String? {
        let has = Set(channels)
        if name == cgm || name == cgmScaled || time.contains(name) || cgmHistory.contains(name) { return nil }
        switch name {
        case iob, iobScaled:
            return has.contains(.bolus) || has.contains(.basal) ? nil
                : "needs an insulin_bolus_u or insulin_basal_u_per_h column"
        case mealFlag:
            return has.contains(.carbs) || has.contains(.mealFlag) ? nil : "needs a carbs_g or meal_flag column"
        default:
            if let channel = Channel(rawValue: name) {
                return has.contains(channel) ? nil : "the measurements file has no '\(name)' column"
            }
            return "unknown feature (known: \(allTimeVarying.joined(separator: ", ")); groups: "
                + groups.map { "@" + $0 }.joined(separator: ", ") + ")"
        }
    }

    /// Expands groups and optional entries of a time-varying feature list against the available channels.
    /// - Throws: `DataError` naming `keyPath` and the entry if a required feature cannot be computed.
    public static func expand(_ entries: [String], channels: [Channel], keyPath: String) throws -> [String] {
        try expandReporting(entries, channels: channels, keyPath: keyPath).features
    }

    /// `expand`, also returning the optional entries (`?name`) left out because the data cannot give them, with why.
    public static func expandReporting(_ entries: [String], channels: [Channel],
                                       keyPath: String) throws -> (features: [String], dropped: [DroppedFeature]) {
        var out: [String] = []
        var dropped: [DroppedFeature] = []
        func add(_ name: String) { if !out.contains(name) { out.append(name) } }
        for (i, entry) in entries.enumerated() {
            if entry.hasPrefix("@") {
                switch entry.dropFirst() {
                case "time": time.forEach(add)
                case "cgm_history": cgmHistory.forEach(add)
                case "wearables": channels.filter(\.isWearable).map(\.rawValue).forEach(add)
                default: throw DataError(key: .config("\(keyPath)[\(i)]"), "unknown group '\(TextExcerpt.of(entry))'")
                }
            } else if entry.hasPrefix("?") {
                let name = String(entry.dropFirst())
                if let reason = unavailability(of: name, channels: channels) {
                    dropped.append(DroppedFeature(name: name, list: keyPath, reason: reason))
                } else {
                    add(name)
                }
            } else if let reason = unavailability(of: entry, channels: channels) {
                throw DataError(key: .config("\(keyPath)[\(i)]"), "feature '\(TextExcerpt.of(entry))': \(reason)")
            } else {
                add(entry)
            }
        }
        return (out, dropped)
    }

    /// Expands a static feature list: built-ins always, `?name` only if subjects.csv has the column.
    /// - Throws: `DataError` naming `keyPath` if a required column is not in subjects.csv.
    public static func expandStatics(_ entries: [String], table: SubjectTable?, keyPath: String) throws -> [String] {
        try expandStaticsReporting(entries, table: table, keyPath: keyPath).features
    }

    /// `expandStatics`, also returning the optional entries left out, with why.
    public static func expandStaticsReporting(_ entries: [String], table: SubjectTable?,
                                              keyPath: String) throws -> (features: [String], dropped: [DroppedFeature]) {
        var out: [String] = []
        var dropped: [DroppedFeature] = []
        for (i, entry) in entries.enumerated() {
            let optional = entry.hasPrefix("?")
            let name = optional ? String(entry.dropFirst()) : entry
            if staticBuiltins.contains(name) || table?.columns.contains(name) == true {
                if !out.contains(name) { out.append(name) }
            } else if optional {
                dropped.append(DroppedFeature(name: name, list: keyPath, reason: table == nil
                    ? "no subjects file given" : "\(table!.file) has no '\(name)' column"))
            } else {
                let available = staticBuiltins + (table?.columns ?? [])
                throw DataError(key: .config("\(keyPath)[\(i)]"), "static feature '\(name)' is not available"
                    + (table == nil ? " (no subjects file given)" : " in \(table!.file)")
                    + " (available: \(available.joined(separator: ", ")))")
            }
        }
        return (out, dropped)
    }
}
