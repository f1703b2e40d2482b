// JSON inputs (Nightscout dumps, AI-READI's Open mHealth files): parsed with Foundation's JSONSerialization,
// plus the line on which each element of the array of interest starts, so reports and errors can name a line
// as they do for CSV (a byte scan that follows strings, nesting and object keys).

import DelimitedText
import Foundation

/// A parsed JSON file and the lines of one array's elements.
struct JSONDocument {
    let file: String
    let root: Any
    let bytes: [UInt8]

    /// Reads and parses `path`.
    /// - Throws: `DataError` naming the file (and, for a syntax error, the line Foundation reports).
    init(path: String) throws {
        file = (path as NSString).lastPathComponent
        guard let data = FileManager.default.contents(atPath: path) else { throw DataError(file: file, "cannot read file") }
        bytes = [UInt8](data)
        do {
            root = try JSONSerialization.jsonObject(with: data, options: [.fragmentsAllowed])
        } catch {
            let line = JSONDocument.lineMentioned(in: "\(error)", bytes: bytes)
            throw DataError(file: file, line: line, "not valid JSON" + (line == nil ? " (\(error.localizedDescription))" : ""))
        }
    }

    /// The line Foundation's error text points at ("line N", or "character N" counted in `bytes`), if any.
    static func lineMentioned(in text: String, bytes: [UInt8]) -> Int? {
        if let r = text.range(of: "line ") { return Int(text[r.upperBound...].prefix(while: \.isNumber)) }
        guard let r = text.range(of: "character "), let offset = Int(text[r.upperBound...].prefix(while: \.isNumber)) else { return nil }
        return 1 + bytes.prefix(offset).reduce(0) { $0 + ($1 == 0x0A ? 1 : 0) }
    }

    /// The line each element of the array at `path` (object keys from the root; [] = the root array) starts on.
    func elementLines(at path: [String]) -> [Int] {
        bytes.withUnsafeBufferPointer { b in
            var lines: [Int] = []
            var line = 1
            // Per open container: is it an array, the key path to it, and whether the next value is an element start.
            var stack: [(isArray: Bool, path: [String])] = []
            var lastKey: String?
            var expectingValue = true  // at the root
            var i = 0
            let n = b.count
            while i < n {
                let c = b[i]
                switch c {
                case 0x0A:
                    line += 1
                case 0x22:  // a string: a key if followed by ':'
                    var j = i + 1
                    var s: [UInt8] = []
                    while j < n, b[j] != 0x22 {
                        if b[j] == 0x5C { j += 1 } else { s.append(b[j]) }
                        if j < n, b[j] == 0x0A { line += 1 }
                        j += 1
                    }
                    var k = j + 1
                    while k < n, b[k] == 0x20 || b[k] == 0x09 || b[k] == 0x0D || b[k] == 0x0A { k += 1 }
                    if k < n, b[k] == 0x3A, let top = stack.last, !top.isArray {
                        lastKey = String(decoding: s, as: UTF8.self)
                    } else if expectingValue, let top = stack.last, top.isArray, top.path == path {
                        lines.append(line)
                    }
                    expectingValue = false
                    i = j
                case 0x7B, 0x5B:  // { [
                    if expectingValue, let top = stack.last, top.isArray, top.path == path { lines.append(line) }
                    var p = stack.last?.path ?? []
                    if let top = stack.last, !top.isArray, let k = lastKey { p.append(k) }
                    stack.append((c == 0x5B, stack.isEmpty ? [] : p))
                    lastKey = nil
                    expectingValue = c == 0x5B
                case 0x7D, 0x5D:
                    _ = stack.popLast()
                    expectingValue = false
                case 0x2C:
                    expectingValue = stack.last?.isArray ?? false
                case 0x3A:
                    expectingValue = false
                case 0x20, 0x09, 0x0D:
                    break
                default:  // a number, true, false, null
                    if expectingValue, let top = stack.last, top.isArray, top.path == path { lines.append(line) }
                    expectingValue = false
                }
                i += 1
            }
            return lines
        }
    }
}

/// Field access on parsed JSON objects.
extension Dictionary where Key == String, Value == Any {
    /// A number (or a numeric string).
    func number(_ key: String) -> Double? {
        switch self[key] {
        case let d as Double: return d
        case let i as Int: return Double(i)
        case let n as NSNumber: return n.doubleValue
        case let s as String: return Double(s.trimmingCharacters(in: .whitespaces))
        default: return nil
        }
    }

    /// A string (numbers as text).
    func text(_ key: String) -> String? {
        switch self[key] {
        case let s as String: return s
        case let i as Int: return String(i)
        case let d as Double: return String(d)
        case let n as NSNumber: return n.stringValue
        default: return nil
        }
    }

    /// A nested object.
    func object(_ key: String) -> [String: Any]? { self[key] as? [String: Any] }
}
