// Strict typed reads from one mapping of a YAML-loaded training config. Every getter returns nil when
// the key is absent and throws a `RunConfigError` naming the full key path ("train.optimizer.lr") when
// the value has the wrong type or range. Integers must be integers (YAML `2.0` is refused where an
// integer is expected); reals accept integers. Booleans are never numbers.

import Foundation

/// A configuration error: names the config file (or `--set`) and the key path at fault.
public struct RunConfigError: Error, CustomStringConvertible, Equatable {
    /// Where the value came from: the config file path, or "--set a.b=value".
    public var source: String
    /// Dotted key path ("train.optimizer.lr"), empty for file-level problems.
    public var key: String
    /// What is wrong, and where useful what was expected.
    public var message: String

    /// Creates an error.
    public init(source: String, key: String, _ message: String) {
        self.source = source
        self.key = key
        self.message = message
    }

    /// "configs/x.yaml: train.optimizer.lr must be > 0 (got -1)".
    public var description: String {
        key.isEmpty ? "\(source): \(message)" : "\(source): \(key) \(message)"
    }
}

/// Strict reads from one mapping; `path` prefixes key names in errors.
public struct RunConfigMap {
    public let dict: [String: Any]
    public let path: String
    public let source: String

    public init(_ dict: [String: Any], path: String, source: String) {
        self.dict = dict
        self.path = path
        self.source = source
    }

    /// The full key path of `key`.
    public func keyPath(_ key: String) -> String { path.isEmpty ? key : "\(path).\(key)" }

    /// An error about `key` of this mapping.
    public func error(_ key: String, _ message: String) -> RunConfigError {
        RunConfigError(source: source, key: keyPath(key), message)
    }

    /// Refuses keys outside `known`, naming the first (sorted) unknown one.
    public func rejectUnknown(_ known: [String], context: String = "") throws {
        for key in dict.keys.sorted() where !known.contains(key) {
            throw error(key, "is not a known key\(context) (known: \(known.joined(separator: ", ")))")
        }
    }

    public func has(_ key: String) -> Bool { dict[key] != nil }

    public func string(_ key: String) throws -> String? {
        guard let value = dict[key] else { return nil }
        guard let s = value as? String else { throw typeError(key, "a string", value) }
        return s
    }

    /// One of `choices`.
    public func choice(_ key: String, _ choices: [String]) throws -> String? {
        guard let s = try string(key) else { return nil }
        guard choices.contains(s) else {
            throw error(key, "must be one of \(choices.joined(separator: ", ")) (got '\(s)')")
        }
        return s
    }

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

    public func bool(_ key: String) throws -> Bool? {
        guard let value = dict[key] else { return nil }
        guard let b = value as? Bool else { throw typeError(key, "true or false", value) }
        return b
    }

    public func map(_ key: String) throws -> [String: Any]? {
        guard let value = dict[key] else { return nil }
        if value is NSNull { return nil }
        guard let m = value as? [String: Any] else { throw typeError(key, "a mapping of keys", value) }
        return m
    }

    public func doubles(_ key: String, count: Int) throws -> [Double]? {
        guard let value = dict[key] else { return nil }
        guard let list = value as? [Any] else { throw typeError(key, "a list of \(count) numbers", value) }
        guard list.count == count else { throw error(key, "must list \(count) numbers (got \(list.count))") }
        return try list.enumerated().map { i, item in
            guard let d = Self.number(item) else { throw typeError("\(key)[\(i)]", "a number", item) }
            return d
        }
    }

    /// A sub-mapping reader for `key` (empty when absent).
    public func sub(_ key: String) throws -> RunConfigMap {
        RunConfigMap(try map(key) ?? [:], path: keyPath(key), source: source)
    }

    public static func number(_ value: Any) -> Double? {
        if value is Bool { return nil }
        if let d = value as? Double { return d }
        if let i = value as? Int { return Double(i) }
        return nil
    }

    public static func show(_ v: Double) -> String { YAMLNode.formatDouble(v) }

    private func typeError(_ key: String, _ expected: String, _ value: Any) -> RunConfigError {
        error(key, "must be \(expected) (got \(Self.describe(value)))")
    }

    public static func describe(_ value: Any) -> String {
        if let s = value as? String { return "'\(s)'" }
        if value is [String: Any] { return "a mapping" }
        if value is [Any] { return "a list" }
        if value is NSNull { return "null" }
        return "\(value)"
    }
}
