// `--set a.b.c=value` overrides, applied to the YAML-loaded dictionary before it is validated, so an
// override is checked exactly like the same value written in the file. The value is read as a YAML
// scalar or flow collection (`3e-3` is a float, `64` an integer, `[0.9, 0.99]` a list, `off` a string).
// Intermediate mappings are created when absent ("--set train.early_stopping.patience=3" works with no
// early_stopping section); a path that runs through a non-mapping value is an error naming the path.
// Unknown keys are refused by the validation that follows, which names the full key path.

import DelimitedText
import Foundation

/// One parsed `--set` override.
public struct ConfigOverride: Equatable {
    /// Key path components, e.g. ["train", "optimizer", "lr"].
    public var path: [String]
    /// The value text as given.
    public var text: String

    /// Parses "a.b.c=value"; the error names the argument.
    public init(_ argument: String) throws {
        // The first '=' byte: as a Character, '=' followed by a combining mark is another character.
        guard let eq = argument.utf8.firstIndex(of: UInt8(ascii: "=")) else {
            throw ConfigError(source: "--set \(argument)", key: "", "expected KEY.PATH=VALUE, e.g. train.optimizer.lr=3e-3")
        }
        let key = String(argument[..<eq])
        let parts = key.split(separator: ".", omittingEmptySubsequences: false).map(String.init)
        guard !key.isEmpty, parts.allSatisfy({ !$0.isEmpty && !$0.contains(" ") }) else {
            throw ConfigError(source: "--set \(argument)", key: "", "'\(TextExcerpt.of(key))' is not a dotted key path like train.optimizer.lr")
        }
        path = parts
        text = String(argument[argument.index(after: eq)...])
    }

    /// The `--set key.path=value` argument, as errors name it.
    public var argument: String { "--set \(path.joined(separator: "."))=\(text)" }

    /// The value as YAML reads it (a scalar, list or mapping; empty text is null).
    func value() throws -> Any {
        try YAMLDocument.value(text, source: argument, problem: "the value is not valid YAML") ?? NSNull()
    }

    /// Applies the override to `root` (creating intermediate mappings).
    public func apply(to root: inout [String: Any]) throws {
        let v = try value()
        func set(_ dict: inout [String: Any], _ depth: Int) throws {
            let key = path[depth]
            if depth == path.count - 1 {
                dict[key] = v
                return
            }
            var child: [String: Any]
            switch dict[key] {
            case nil, is NSNull: child = [:]
            case let m as [String: Any]: child = m
            default:
                let prefix = path[...depth].joined(separator: ".")
                throw ConfigError(source: argument, key: prefix,
                                     "is not a mapping, so it has no key '\(path[depth + 1])'")
            }
            try set(&child, depth + 1)
            dict[key] = child
        }
        try set(&root, 0)
    }
}

extension Array where Element == ConfigOverride {
    /// Parses every `--set` argument.
    public init(arguments: [String]) throws { self = try arguments.map(ConfigOverride.init) }
}
