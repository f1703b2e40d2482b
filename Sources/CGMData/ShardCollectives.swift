// Small collective helpers for exchanging metadata (JSON strings) between ranks during `prepare`.

import Distributed
import Foundation

extension Communicator {
    /// All-gathers one UTF-8 string per rank: every rank receives all of them, in rank order.
    /// Two collectives (max length, then a padded byte all-gather); every rank must call it.
    func allGatherStrings(_ string: String) throws -> [String] {
        let bytes = Array(string.utf8)
        let lengths = try allGather([Int64(bytes.count)])
        let maxLength = Int(lengths.max() ?? 0)
        if maxLength == 0 { return [String](repeating: "", count: size) }
        let padded = bytes + [UInt8](repeating: 0, count: maxLength - bytes.count)
        let all = try allGather(padded)
        return (0..<size).map { r in
            String(decoding: all[r * maxLength ..< r * maxLength + Int(lengths[r])], as: UTF8.self)
        }
    }
}

/// JSON helpers shared by the prepare protocol (sorted keys: identical bytes on every rank).
enum ShardJSON {
    static func encode<T: Encodable>(_ value: T) throws -> String {
        let e = JSONEncoder()
        e.outputFormatting = [.sortedKeys]
        return String(decoding: try e.encode(value), as: UTF8.self)
    }

    static func decode<T: Decodable>(_ type: T.Type, _ string: String) throws -> T {
        try JSONDecoder().decode(type, from: Data(string.utf8))
    }

    /// FNV-1a 64-bit hash as 16 hex digits (deterministic across processes, unlike `Hasher`).
    static func fingerprint(_ string: String) -> String { FNV1a64.hex(string) }
}
