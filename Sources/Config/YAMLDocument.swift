// The one place YAML text is parsed (Yams): config files, and the values of `--set` overrides. Every
// other target reads configs through `ConfigMap` and reports problems as `ConfigError`.

import DelimitedText
import Foundation
import Yams

/// Loading YAML text into the values `ConfigMap` reads.
public enum YAMLDocument {
    /// The text of the file at `path`; `what` names it in the error ("the config file").
    public static func text(path: String, what: String = "the config file") throws -> String {
        guard let text = try? String(contentsOfFile: path, encoding: .utf8) else {
            throw ConfigError(source: path, key: "", "cannot read \(what)")
        }
        return text
    }

    /// The value of YAML `text` (nil for an empty document); an error names `source` and starts with `problem`.
    /// Aliases, duplicate keys and deep bracket nesting are refused before any value is built
    /// (YAMLStrictness), so no text can make loading expand beyond its own size.
    public static func value(_ text: String, source: String, problem: String = "invalid YAML") throws -> Any? {
        do {
            try YAMLStrictness.checkNesting(text)
            guard let root = try Yams.compose(yaml: text) else { return nil }
            try YAMLStrictness.check(root)
            return root.any
        } catch let p as YAMLStrictness.Problem {
            throw ConfigError(source: source, key: "", "line \(p.line): \(p.message)")
        } catch {
            throw ConfigError(source: source, key: "", "\(problem): \(TextExcerpt.of("\(error)", limit: 400))")
        }
    }

    /// The top-level mapping of YAML `text`. When it is something else the error reads "expected
    /// `expected`"; an empty document is an empty mapping when `emptyIsMapping`, else that same error.
    public static func mapping(_ text: String, source: String, expected: String,
                               emptyIsMapping: Bool = false) throws -> [String: Any] {
        let node = try value(text, source: source)
        if emptyIsMapping && (node == nil || node is NSNull) { return [:] }
        guard let map = node as? [String: Any] else { throw ConfigError(source: source, key: "", "expected \(expected)") }
        return map
    }

    /// A strict reader of the top-level mapping of the file at `path` (see `mapping`).
    public static func load(path: String, expected: String, what: String = "the config file") throws -> ConfigMap {
        ConfigMap(try mapping(try text(path: path, what: what), source: path, expected: expected), path: "", source: path)
    }
}
