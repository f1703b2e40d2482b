// What a config's YAML may not do, checked on the composed node tree before any value is built:
//
//   • aliases (`*name`, merge keys `<<: *name`): an alias is a pointer to an anchored node, so nine lines of
//     anchors that each repeat the previous one nine times stand for 9⁹ ≈ 387 M values once loaded (the
//     "billion laughs" bomb). Composing keeps them as pointers (linear in the text); building values would
//     not. No config needs them, so every alias is refused, naming its line and its anchor's.
//   • duplicate keys in one mapping (`seed: 0` then `seed: 1`): YAML says keys are unique, loaders keep
//     the last one silently; refused naming both lines.
//   • keys that are not names (a list or mapping as a key, `[a]: 1`): Yams' constructor force-unwraps every
//     key as a string, so one such key crashed the process (found by fuzz-config); refused naming the line.
//   • nesting deeper than `maxDepth` flow brackets (`[[[[…`): the composer recurses once per level, so a
//     few hundred thousand brackets would overflow the stack; checked on the text, before composing.
//
// An aliased node is the anchored node itself, so it carries the anchor's position (Yams' `Mark`): the
// walk below meets a (position, kind) twice exactly when an alias is used, and stops there, so the check
// is linear in the text however far the aliases would expand.

import DelimitedText
import Foundation
import Yams

/// The checks in the file comment.
enum YAMLStrictness {
    /// Deepest flow-bracket nesting accepted (configs use 2 or 3).
    static let maxDepth = 64

    /// A problem found, with its 1-based line.
    struct Problem: Error {
        var line: Int
        var message: String
    }

    /// Refuses text whose flow brackets (`[`, `{` outside quotes and comments) nest deeper than `maxDepth`.
    static func checkNesting(_ text: String) throws {
        var depth = 0, line = 1
        var quote: UInt8? = nil
        var comment = false
        var previous: UInt8 = 0x20
        for byte in text.utf8 {
            defer { previous = byte }
            if byte == 0x0A { line += 1; comment = false; if quote == 0x27 || quote == 0x22 { continue } }
            if comment { continue }
            if let q = quote {
                if byte == q && !(q == 0x22 && previous == 0x5C) { quote = nil }
                continue
            }
            switch byte {
            case 0x23 where previous == 0x20 || previous == 0x09 || previous == 0x0A: comment = true
            case 0x22, 0x27: quote = byte
            case 0x5B, 0x7B:
                depth += 1
                if depth > maxDepth {
                    throw Problem(line: line, message: "brackets nest deeper than \(maxDepth) levels")
                }
            case 0x5D, 0x7D: depth = max(0, depth - 1)
            default: break
            }
        }
    }

    /// Refuses aliases and duplicate keys anywhere under `root` (see the file comment).
    static func check(_ root: Node) throws {
        // A block collection starts where its first key or item starts, so the kind is part of a node's identity.
        struct Position: Hashable { var line: Int, column: Int, kind: Int }
        var seen = Set<Position>()
        // (node, line where it is used: the key's line for a mapping value, else the node's own)
        var stack: [(Node, Int)] = [(root, root.mark?.line ?? 1)]
        while let (node, usedAt) = stack.popLast() {
            // An empty plain scalar (an implicit null, `key:` with no value) takes the next token's position.
            let implicitNull = node.scalar.map { $0.string.isEmpty && $0.style == .plain } ?? false
            if let mark = node.mark, !implicitNull {
                let kind = node.mapping != nil ? 0 : node.sequence != nil ? 1 : 2
                guard seen.insert(Position(line: mark.line, column: mark.column, kind: kind)).inserted else {
                    throw Problem(line: usedAt, message: "YAML aliases (*name, <<: *name) are not accepted in configs: "
                                  + "this one repeats the anchored node of line \(mark.line); write the values out")
                }
            }
            switch node {
            case .mapping(let mapping):
                var lines: [String: Int] = [:]
                var children: [(Node, Int)] = []
                for (key, value) in mapping {
                    let keyLine = key.mark?.line ?? usedAt
                    // Yams' constructor force-unwraps a key as a string: a list or mapping as a key (`[a]: 1`,
                    // `? {a: 1}`) would crash the process (found by fuzz-config).
                    guard let name = key.scalar?.string else {
                        throw Problem(line: keyLine, message: "a key must be a name, not a list or mapping")
                    }
                    if let first = lines[name] {
                        throw Problem(line: keyLine, message: "key '\(TextExcerpt.of(name))' appears twice in "
                                      + "one mapping (lines \(first) and \(keyLine)); keep one")
                    }
                    lines[name] = keyLine
                    children.append((key, keyLine))
                    children.append((value, keyLine))
                }
                stack.append(contentsOf: children.reversed())      // popped in document order
            case .sequence(let sequence):
                // An item's own mark is its anchor's when it is an alias: name the sequence's line instead.
                stack.append(contentsOf: sequence.reversed().map { ($0, usedAt) })
            default:
                break
            }
        }
    }
}
