// A config section declares each of its keys once: the property's initial value is the default, and one
// `ConfigKey` entry names the key, reads it into the property (strictly, through `ConfigMap`) and writes
// the resolved value back. The list of entries is at once the parser, the set of known keys (anything
// else is an error naming the key path) and the canonical order of the resolved YAML.
//
//   struct OptimizerConfig: ConfigSection {
//       var lr = 1e-3                                              // the default, written once
//       var keys: [ConfigKey<Self>] { [.double("lr", \.lr, "≥ 0") { $0 >= 0 }, …] }
//   }

/// One key of a config section `Section`: its name, how its value is read, how it is written back.
public struct ConfigKey<Section> {
    /// The key as written in YAML.
    public let name: String
    /// Reads the key from the mapping into the section (leaves the default when the key is absent).
    public let read: (ConfigMap, inout Section) throws -> Void
    /// The resolved value, or nil when the key is not written (keys listed only when set).
    public let write: (Section) -> YAMLNode?

    /// A key with its own reading and writing.
    public init(_ name: String, read: @escaping (ConfigMap, inout Section) throws -> Void,
                write: @escaping (Section) -> YAMLNode?) {
        self.name = name
        self.read = read
        self.write = write
    }

    /// A key read by `read`, stored at `keyPath`, written by `node`, and only written when `writeIf` holds.
    static func value<Value>(_ name: String, _ keyPath: WritableKeyPath<Section, Value>,
                             read: @escaping (ConfigMap) throws -> Value?, node: @escaping (Value) -> YAMLNode,
                             writeIf: ((Section) -> Bool)?) -> ConfigKey {
        ConfigKey(name, read: { m, s in if let v = try read(m) { s[keyPath: keyPath] = v } },
                  write: { s in writeIf?(s) == false ? nil : node(s[keyPath: keyPath]) })
    }
}

extension ConfigKey {
    /// An integer in `range`.
    public static func int(_ name: String, _ keyPath: WritableKeyPath<Section, Int>, _ range: ClosedRange<Int>,
                           writeIf: ((Section) -> Bool)? = nil) -> ConfigKey {
        value(name, keyPath, read: { try $0.int(name, in: range) }, node: YAMLNode.int, writeIf: writeIf)
    }

    /// A seed: an integer in 0…Int.max, stored as UInt64.
    public static func seed(_ name: String, _ keyPath: WritableKeyPath<Section, UInt64>) -> ConfigKey {
        value(name, keyPath, read: { try $0.int(name, in: 0...Int.max).map(UInt64.init) }, node: { .scalar("\($0)") },
              writeIf: nil)
    }

    /// A real number satisfying `check`, whose failure reads "must be `requirement`".
    public static func double(_ name: String, _ keyPath: WritableKeyPath<Section, Double>, _ requirement: String,
                              _ check: @escaping (Double) -> Bool) -> ConfigKey {
        value(name, keyPath, read: { try $0.double(name, requirement, check) }, node: YAMLNode.double, writeIf: nil)
    }

    /// `count` reals, each satisfying `check`; a failure reads "must be `requirement`".
    public static func doubles(_ name: String, _ keyPath: WritableKeyPath<Section, [Double]>, count: Int,
                               _ requirement: String, _ check: @escaping (Double) -> Bool) -> ConfigKey {
        value(name, keyPath, read: { m in
            guard let v = try m.doubles(name, count: count) else { return nil }
            guard v.allSatisfy(check) else { throw m.error(name, "must be \(requirement)") }
            return v
        }, node: YAMLNode.doubles, writeIf: nil)
    }

    /// `true` or `false`.
    public static func bool(_ name: String, _ keyPath: WritableKeyPath<Section, Bool>) -> ConfigKey {
        value(name, keyPath, read: { try $0.bool(name) }, node: YAMLNode.bool, writeIf: nil)
    }

    /// A switch (on/off, true/false, yes/no), written as true/false, only when `writeIf` holds.
    public static func onOff(_ name: String, _ keyPath: WritableKeyPath<Section, Bool>,
                             writeIf: ((Section) -> Bool)? = nil) -> ConfigKey {
        value(name, keyPath, read: { try $0.onOff(name) }, node: YAMLNode.bool, writeIf: writeIf)
    }

    /// A string, only written when `writeIf` holds.
    public static func string(_ name: String, _ keyPath: WritableKeyPath<Section, String>,
                              writeIf: ((Section) -> Bool)? = nil) -> ConfigKey {
        value(name, keyPath, read: { try $0.string(name) }, node: YAMLNode.string, writeIf: writeIf)
    }

    /// One of the raw values of `Choice`, only written when `writeIf` holds.
    public static func choice<Choice: RawRepresentable & CaseIterable>(
        _ name: String, _ keyPath: WritableKeyPath<Section, Choice>, writeIf: ((Section) -> Bool)? = nil
    ) -> ConfigKey where Choice.RawValue == String {
        value(name, keyPath, read: { m in
            try m.choice(name, Choice.allCases.map(\.rawValue)).flatMap(Choice.init(rawValue:))
        }, node: { .string($0.rawValue) }, writeIf: writeIf)
    }

    /// A nested section (an absent or null key leaves its defaults).
    public static func section<Sub: ConfigSection>(_ name: String, _ keyPath: WritableKeyPath<Section, Sub>) -> ConfigKey {
        ConfigKey(name, read: { m, s in try s[keyPath: keyPath].read(try m.sub(name)) },
                  write: { s in s[keyPath: keyPath].yamlNode })
    }
}

/// A config section: its defaults (`init()`), its keys, and the checks that span keys.
public protocol ConfigSection {
    /// Every default.
    static var defaults: Self { get }
    /// The keys in canonical order (may depend on what `readVariant` read, e.g. the optimizer's name).
    var keys: [ConfigKey<Self>] { get }
    /// Reads the keys that select a variant and its defaults (e.g. `name`), before the others are checked.
    mutating func readVariant(_ m: ConfigMap) throws
    /// Appended to "is not a known key" (e.g. " for optimizer sgd").
    var unknownKeyContext: String { get }
    /// Checks across keys and derived values, after every key is read; errors name the key path.
    mutating func validate(_ m: ConfigMap) throws
}

extension ConfigSection {
    public mutating func readVariant(_ m: ConfigMap) throws {}
    public var unknownKeyContext: String { "" }
    public mutating func validate(_ m: ConfigMap) throws {}

    /// Parses `m` strictly over the defaults; `alsoKnown` keys are read by the caller (e.g. a model's `name`).
    public static func parse(_ m: ConfigMap, alsoKnown: [String] = []) throws -> Self {
        var s = defaults
        try s.read(m, alsoKnown: alsoKnown)
        return s
    }

    /// Reads `m` strictly over the current values.
    public mutating func read(_ m: ConfigMap, alsoKnown: [String] = []) throws {
        try readVariant(m)
        try m.rejectUnknown(alsoKnown + keys.map(\.name), context: unknownKeyContext)
        for key in keys { try key.read(m, &self) }
        try validate(m)
    }

    /// The resolved keys and values in canonical order.
    public var entries: [(String, YAMLNode)] { keys.compactMap { k in k.write(self).map { (k.name, $0) } } }

    /// The resolved section as a YAML mapping.
    public var yamlNode: YAMLNode { .map(entries) }
}
