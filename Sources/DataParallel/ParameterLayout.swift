// ParameterLayout: the names and shapes of a ParameterStore's entries, in registration order, with a
// hash that is stable across processes (FNV-1a 64 over a canonical text, never Swift's per-process
// seeded `Hasher`), so ranks can compare layouts by exchanging one 64-bit word.

import CGMData
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

