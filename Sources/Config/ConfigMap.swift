// The one strict reader of YAML-loaded configs: typed reads from one mapping. Every getter returns nil when
// the key is absent and throws a `ConfigError` naming the source and the full key path
// ("train.optimizer.lr") when the value has the wrong type or range. Integers must be integers (YAML `2.0`
// is refused where an integer is expected); reals accept integers. Booleans are never numbers.

import DelimitedText
import Foundation

/// Strict reads from one mapping; `path` prefixes key names in errors.
public struct ConfigMap {
    /// The mapping as YAML loaded it.
    public let dict: [String: Any]
    /// Key path of the mapping ("train.optimizer"; empty at the top).
    public let path: String
    /// The config file (or "--set …") named in errors.
    public let source: String

    /// A reader of `dict`, found at `path` of `source`.
    public init(_ dict: [String: Any], path: String, source: String) {
        self.dict = dict
        self.path = path
        self.source = source
    }

    /// The full key path of `key`.
    public func keyPath(_ key: String) -> String { path.isEmpty ? key : "\(path).\(key)" }

    /// An error about `key` of this mapping.
    public func error(_ key: String, _ message: String) -> ConfigError {
        ConfigError(source: source, key: keyPath(key), message)
    }

    /// Refuses keys outside `known`, naming the first (sorted) unknown one.
    public func rejectUnknown(_ known: [String], context: String = "") throws {
        for key in dict.keys.sorted() where !known.contains(key) {
            throw error(key, "is not a known key\(context) (known: \(known.joined(separator: ", ")))")
        }
    }

    /// Whether `key` is present.
    public func has(_ key: String) -> Bool { dict[key] != nil }

    /// A string.
    public func string(_ key: String) throws -> String? {
        guard let value = dict[key] else { return nil }
        guard let s = value as? String else { throw typeError(key, "a string", value) }
        return s
    }

    /// One of `choices` ("must be a or b", "must be one of a, b, c" otherwise).
    public func choice(_ key: String, _ choices: [String]) throws -> String? {
        guard let s = try string(key) else { return nil }
        guard choices.contains(s) else {
            let list = choices.count == 2 ? "\(choices[0]) or \(choices[1])" : "one of \(choices.joined(separator: ", "))"
            throw error(key, "must be \(list) (got '\(TextExcerpt.of(s))')")
        }
        return s
    }

    /// An integer in `range`.
    public func int(_ key: String, in range: ClosedRange<Int>) throws -> Int? {
        guard let value = dict[key] else { return nil }
        guard !(value is Bool), let v = value as? Int else { throw typeError(key, "an integer", value) }
        if v < range.lowerBound { throw error(key, "must be ≥ \(range.lowerBound) (got \(v))") }
        if v > range.upperBound { throw error(key, "must be ≤ \(range.upperBound) (got \(v))") }
        return v
    }

    /// A real number satisfying `check` (whose failure text is `requirement`, e.g. "> 0").
    public func double(_ key: String, _ requirement: String, _ check: (Double) -> Bool) throws -> Double? {
        guard let value = dict[key] else { return nil }
        guard let v = Self.number(value) else { throw typeError(key, "a number", value) }
        guard v.isFinite, check(v) else { throw error(key, "must be \(requirement) (got \(Self.show(v)))") }
        return v
    }

    /// `true` or `false`.
    public func bool(_ key: String) throws -> Bool? {
        guard let value = dict[key] else { return nil }
        guard let b = value as? Bool else { throw typeError(key, "true or false", value) }
        return b
    }

    /// A switch: a YAML boolean, or the strings on/off, true/false, yes/no.
    public func onOff(_ key: String) throws -> Bool? {
        guard let value = dict[key] else { return nil }
        if let b = value as? Bool { return b }
        if let s = value as? String {
            switch s.lowercased() {
            case "on", "true", "yes": return true
            case "off", "false", "no": return false
            default: break
            }
        }
        throw error(key, "must be on or off (got \(Self.describe(value)))")
    }

    /// A mapping (nil when absent or null).
    public func map(_ key: String) throws -> [String: Any]? {
        guard let value = dict[key] else { return nil }
        if value is NSNull { return nil }
        guard let m = value as? [String: Any] else { throw typeError(key, "a mapping of keys", value) }
        return m
    }

    /// A list of `count` numbers (any length when nil).
    public func doubles(_ key: String, count: Int? = nil) throws -> [Double]? {
        guard let value = dict[key] else { return nil }
        guard let list = value as? [Any] else {
            throw typeError(key, count.map { "a list of \($0) numbers" } ?? "a list of numbers", value)
        }
        if let count, list.count != count { throw error(key, "must list \(count) numbers (got \(list.count))") }
        return try list.enumerated().map { i, item in
            guard let d = Self.number(item) else { throw typeError("\(key)[\(i)]", "a number", item) }
            return d
        }
    }

    /// A list of distinct strings.
    public func strings(_ key: String) throws -> [String]? {
        guard let value = dict[key] else { return nil }
        guard let list = value as? [Any] else { throw typeError(key, "a list of strings", value) }
        var seen = Set<String>()
        return try list.enumerated().map { i, item in
            guard let s = item as? String else { throw typeError("\(key)[\(i)]", "a string", item) }
            guard seen.insert(s).inserted else { throw error("\(key)[\(i)]", "repeats '\(TextExcerpt.of(s))'") }
            return s
        }
    }

    /// A sub-mapping reader for `key` (empty when absent).
    public func sub(_ key: String) throws -> ConfigMap {
        ConfigMap(try map(key) ?? [:], path: keyPath(key), source: source)
    }

    /// A YAML number as a Double (integers included, booleans not).
    public static func number(_ value: Any) -> Double? {
        if value is Bool { return nil }
        if let d = value as? Double { return d }
        if let i = value as? Int { return Double(i) }
        return nil
    }

    /// A real as written in messages.
    public static func show(_ v: Double) -> String { YAMLNode.formatDouble(v) }

    private func typeError(_ key: String, _ expected: String, _ value: Any) -> ConfigError {
        error(key, "must be \(expected) (got \(Self.describe(value)))")
    }

    /// A loaded value as named in messages ('text', a mapping, a list, null, 3).
    public static func describe(_ value: Any) -> String {
        if let s = value as? String { return "'\(TextExcerpt.of(s))'" }
        if value is [String: Any] { return "a mapping" }
        if value is [Any] { return "a list" }
        if value is NSNull { return "null" }
        return "\(value)"
    }
}
