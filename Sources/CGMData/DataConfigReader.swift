// Typed, strict access to a YAML-loaded dictionary for DataConfig: every getter returns nil when the
// key is absent and throws a `DataError` naming the key path when the value has the wrong type or
// range. Integers must be integers (YAML `2.0` is rejected); reals accept integers.

/// Strict typed reads from one config dictionary.
struct ConfigReader {
    let dict: [String: Any]
    let path: String

    func rejectUnknown(_ known: [String]) throws {
        for key in dict.keys.sorted() where !known.contains(key) {
            throw DataError(key: .config("\(path).\(key)"), "is not a known key (known: \(known.joined(separator: ", ")))")
        }
    }

    func string(_ key: String) throws -> String? {
        guard let value = dict[key] else { return nil }
        guard let s = value as? String else { throw typeError(key, "a string", value) }
        return s
    }

    func int(_ key: String, in range: ClosedRange<Int>) throws -> Int? {
        guard let value = dict[key] else { return nil }
        guard !(value is Bool), let v = value as? Int else { throw typeError(key, "an integer", value) }
        if v < range.lowerBound { throw DataError(key: .config("\(path).\(key)"), "must be ≥ \(range.lowerBound) (got \(v))") }
        if v > range.upperBound { throw DataError(key: .config("\(path).\(key)"), "must be ≤ \(range.upperBound) (got \(v))") }
        return v
    }

    func doubles(_ key: String) throws -> [Double]? {
        guard let value = dict[key] else { return nil }
        guard let list = value as? [Any] else { throw typeError(key, "a list of numbers", value) }
        return try list.enumerated().map { i, item in
            if item is Bool { throw typeError("\(key)[\(i)]", "a number", item) }
            if let d = item as? Double { return d }
            if let n = item as? Int { return Double(n) }
            throw typeError("\(key)[\(i)]", "a number", item)
        }
    }

    func strings(_ key: String) throws -> [String]? {
        guard let value = dict[key] else { return nil }
        guard let list = value as? [Any] else { throw typeError(key, "a list of strings", value) }
        var seen = Set<String>()
        return try list.enumerated().map { i, item in
            guard let s = item as? String else { throw typeError("\(key)[\(i)]", "a string", item) }
            guard seen.insert(s).inserted else {
                throw DataError(key: .config("\(path).\(key)[\(i)]"), "repeats '\(s)'")
            }
            return s
        }
    }

    /// A boolean (`true|false|on|off|yes|no`).
    func bool(_ key: String) throws -> Bool? {
        guard let value = dict[key] else { return nil }
        return try onOff(value, "\(path).\(key)")
    }

    /// `qc: on|off|true|false` (all rules except residual_nan) or a map rule-key → on/off.
    func qc(_ key: String) throws -> Set<QCRule> {
        let value = dict[key]!
        if let all = try? onOff(value, "\(path).\(key)") {
            return all ? Set(QCRule.allCases) : [.residualNaN]
        }
        guard let map = value as? [String: Any] else { throw typeError(key, "on/off or a map of rule: on/off", value) }
        var enabled = Set(QCRule.allCases)
        for name in map.keys.sorted() {
            let rulePath = "\(path).\(key).\(name)"
            guard let rule = QCRule.allCases.first(where: { $0.key == name }) else {
                throw DataError(key: .config(rulePath), "is not a QC rule (rules: \(QCRule.allCases.map(\.key).joined(separator: ", ")))")
            }
            let on = try onOff(map[name]!, rulePath)
            if rule == .residualNaN, !on {
                throw DataError(key: .config(rulePath), "cannot be turned off: windows need complete CGM history and targets")
            }
            if on { enabled.insert(rule) } else { enabled.remove(rule) }
        }
        return enabled
    }

    private func onOff(_ value: Any, _ fullPath: String) throws -> Bool {
        if let b = value as? Bool { return b }
        if let s = value as? String {
            switch s.lowercased() {
            case "on", "true", "yes": return true
            case "off", "false", "no": return false
            default: break
            }
        }
        throw DataError(key: .config(fullPath), "must be on or off (got \(describe(value)))")
    }

    private func typeError(_ key: String, _ expected: String, _ value: Any) -> DataError {
        DataError(key: .config("\(path).\(key)"), "must be \(expected) (got \(describe(value)))")
    }

    private func describe(_ value: Any) -> String {
        if let s = value as? String { return "'\(s)'" }
        return "\(value)"
    }
}
