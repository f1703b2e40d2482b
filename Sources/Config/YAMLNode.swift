// The resolved configuration as an ordered YAML tree: keys in a fixed canonical order, every default
// filled in, so the text written to RUN/config.yaml and into checkpoints is the same bytes for the same
// settings (its FNV-1a hash is the config hash). Also flattens trees to "a.b.c = value" lines, which is
// how two configurations are compared (a resumed run against its checkpoint).

import Foundation

/// An ordered YAML value: a scalar (already formatted), a flow list of scalars, or a block mapping.
public indirect enum YAMLNode: Equatable {
    case scalar(String)
    case list([String])
    case map([(String, YAMLNode)])

    public static func == (a: YAMLNode, b: YAMLNode) -> Bool { a.text(indent: 0) == b.text(indent: 0) }

    /// Block YAML text (a mapping at top level), ending with a newline.
    public var yaml: String { text(indent: 0) }

    private func text(indent: Int) -> String {
        guard case .map(let entries) = self else { return inline + "\n" }
        let pad = String(repeating: "  ", count: indent)
        var out = ""
        for (key, value) in entries {
            switch value {
            case .map(let sub) where !sub.isEmpty:
                out += "\(pad)\(key):\n" + value.text(indent: indent + 1)
            case .map:
                out += "\(pad)\(key): {}\n"
            default:
                out += "\(pad)\(key): \(value.inline)\n"
            }
        }
        return out
    }

    private var inline: String {
        switch self {
        case .scalar(let s): return s
        case .list(let items): return "[" + items.joined(separator: ", ") + "]"
        case .map: return "{}"
        }
    }

    /// "a.b.c" → formatted value, for every leaf, in tree order.
    public var flattened: [(key: String, value: String)] {
        var out: [(String, String)] = []
        func walk(_ node: YAMLNode, _ prefix: String) {
            switch node {
            case .map(let entries):
                for (k, v) in entries { walk(v, prefix.isEmpty ? k : "\(prefix).\(k)") }
            default:
                out.append((prefix, node.inline))
            }
        }
        walk(self, "")
        return out
    }

    // MARK: Scalars

    /// An integer scalar.
    public static func int(_ v: Int) -> YAMLNode { .scalar("\(v)") }
    /// `true` / `false`.
    public static func bool(_ v: Bool) -> YAMLNode { .scalar(v ? "true" : "false") }
    /// A real scalar (`formatDouble`).
    public static func double(_ v: Double) -> YAMLNode { .scalar(formatDouble(v)) }
    /// A string scalar, quoted when YAML would read it as something else (`quoteIfNeeded`).
    public static func string(_ s: String) -> YAMLNode { .scalar(quoteIfNeeded(s)) }
    /// A flow list of reals.
    public static func doubles(_ v: [Double]) -> YAMLNode { .list(v.map(formatDouble)) }
    /// A flow list of strings.
    public static func strings(_ v: [String]) -> YAMLNode { .list(v.map(quoteIfNeeded)) }

    /// Shortest text that reads back as the same Double and as a YAML float (always has '.' or 'e').
    public static func formatDouble(_ v: Double) -> String {
        if v.isNaN { return ".nan" }
        if v.isInfinite { return v > 0 ? ".inf" : "-.inf" }
        var s = "\(v)"                                   // shortest round-trip representation
        if !s.contains(".") && !s.contains("e") { s += ".0" }
        if let e = s.firstIndex(of: "e"), !s[..<e].contains(".") {
            s.insert(contentsOf: ".0", at: e)             // "1e-05" → "1.0e-05": YAML 1.1 floats need a dot
        }
        return s
    }

    /// Plain identifiers stay bare; anything YAML could read as another type or as syntax is quoted.
    public static func quoteIfNeeded(_ s: String) -> String {
        let plain = s.range(of: "^[A-Za-z_][A-Za-z0-9_./@-]*$", options: .regularExpression) != nil
        let reserved: Set = ["true", "false", "yes", "no", "on", "off", "null", "y", "n", "~"]
        if plain && !reserved.contains(s.lowercased()) { return s }
        return "\"" + s.replacingOccurrences(of: "\\", with: "\\\\").replacingOccurrences(of: "\"", with: "\\\"") + "\""
    }
}

extension YAMLNode {
    /// Differences between two flattened configurations, as "key: A in the checkpoint, B now" strings.
    public static func differences(_ old: [(key: String, value: String)], _ new: [(key: String, value: String)],
                                   ignoring: Set<String> = []) -> [String] {
        let a = Dictionary(old, uniquingKeysWith: { x, _ in x }), b = Dictionary(new, uniquingKeysWith: { x, _ in x })
        var keys: [String] = []
        for (k, _) in old + new where !keys.contains(k) { keys.append(k) }
        return keys.compactMap { k in
            guard !ignoring.contains(k), a[k] != b[k] else { return nil }
            return "\(k): \(a[k] ?? "(absent)") in the checkpoint, \(b[k] ?? "(absent)") now"
        }
    }
}
