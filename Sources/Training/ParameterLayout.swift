// ParameterLayout: the names and shapes of a ParameterStore's entries, in registration order, with a
// hash that is stable across processes (FNV-1a 64 over a canonical text, never Swift's per-process
// seeded `Hasher`), so ranks can compare layouts by exchanging one 64-bit word.

import Layers

/// The names and shapes of a model's parameters, in registration order.
public struct ParameterLayout: Equatable, Sendable {
    /// One parameter: its dotted name and shape.
    public struct Entry: Equatable, Sendable, CustomStringConvertible {
        public var name: String
        public var shape: [Int]

        public init(name: String, shape: [Int]) {
            self.name = name
            self.shape = shape
        }

        /// "name [d0, d1]".
        public var description: String { "'\(name)' \(shape)" }

        /// FNV-1a 64 of "name:d0,d1;".
        public var hash: UInt64 {
            var h = FNV1a64()
            h.add(name)
            h.add(":" + shape.map(String.init).joined(separator: ",") + ";")
            return h.value
        }
    }

    public var entries: [Entry]

    public init(entries: [Entry]) { self.entries = entries }

    /// The layout of `store`.
    public init(_ store: ParameterStore) {
        entries = store.entries.map { Entry(name: $0.name, shape: $0.shape) }
    }

    /// Hash of the whole layout (entry count and every entry hash, in order).
    public var hash: UInt64 {
        var h = FNV1a64()
        h.add(UInt64(entries.count))
        for e in entries { h.add(e.hash) }
        return h.value
    }

    /// Index of the first entry where the layouts differ (a missing entry counts as a difference),
    /// or nil when they are equal.
    public func firstDifference(from other: ParameterLayout) -> Int? {
        for i in 0..<max(entries.count, other.entries.count) {
            if i >= entries.count || i >= other.entries.count || entries[i] != other.entries[i] { return i }
        }
        return nil
    }
}

/// 64-bit FNV-1a (Fowler–Noll–Vo): stable across processes and platforms.
struct FNV1a64 {
    private(set) var value: UInt64 = 0xcbf2_9ce4_8422_2325
    private static let prime: UInt64 = 0x0000_0100_0000_01b3

    mutating func add(_ bytes: UnsafeRawBufferPointer) {
        for b in bytes { value = (value ^ UInt64(b)) &* Self.prime }
    }

    mutating func add(_ string: String) {
        for b in string.utf8 { value = (value ^ UInt64(b)) &* Self.prime }
    }

    mutating func add(_ word: UInt64) {
        withUnsafeBytes(of: word.littleEndian) { add($0) }
    }

    /// Hash of 32-bit words (parameter bits): one multiply per word rather than per byte, so hashing
    /// the parameters of a large model every few steps stays cheap.
    mutating func add(words: UnsafePointer<UInt32>, count: Int) {
        for i in 0..<count { value = (value ^ UInt64(words[i])) &* Self.prime }
    }
}
