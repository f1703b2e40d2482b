// Device-local clock times → instants, for one IANA time zone, DST-aware. The zone's offset changes
// (from Foundation's tz database) are listed once over the years the data spans; each change at instant t
// from offset a to offset b makes the local times between t + min(a, b) and t + max(a, b) either missing
// (spring forward, b > a: the clock jumps over them) or repeated (fall back, b < a: the clock passes them
// twice). Anything else has one offset.
//
//   missing  (spring)  a local time the clock never showed: read with the offset before the change, i.e.
//                      moved forward by the jump (02:30 → 03:30 CEST), and counted;
//   repeated (autumn)  a local time the clock showed twice: the first pass (offset a) until the readings
//                      show the clock going back (a local time earlier than one already seen in the same
//                      repeated hour), the second pass (offset b) from then on; counted either way.

import Foundation

/// The local-to-UTC rules of one time zone.
public struct ZoneClock: Sendable {
    /// The IANA name, e.g. Europe/Berlin.
    public let identifier: String
    private let zone: TimeZone
    /// Offset changes in time order.
    private var changes: [Change] = []
    /// The span of instants `changes` covers.
    private var covered: ClosedRange<Int64>?
    /// The offset at the start of `covered` (in force until the first change).
    private var initialOffset: Int32 = 0

    struct Change: Sendable {
        /// The instant of the change (Unix seconds).
        var at: Int64
        /// Offsets before and after (seconds east of UTC).
        var before: Int32, after: Int32
        /// Local clock seconds where the affected window starts and ends.
        var windowStart: Int64 { at + Int64(min(before, after)) }
        var windowEnd: Int64 { at + Int64(max(before, after)) }
    }

    /// The zone named `identifier`; nil if the tz database has no such zone.
    public init?(identifier: String) {
        guard let zone = TimeZone(identifier: identifier) else { return nil }
        self.identifier = identifier
        self.zone = zone
    }

    /// Lists the offset changes between the instants (with a 2-day margin on each side).
    mutating func cover(_ range: ClosedRange<Int64>) {
        let lo = range.lowerBound - 2 * 86_400, hi = range.upperBound + 2 * 86_400
        if let covered, covered.lowerBound <= lo, covered.upperBound >= hi { return }
        let from = min(lo, covered?.lowerBound ?? lo), to = max(hi, covered?.upperBound ?? hi)
        var found: [Change] = []
        var cursor = Date(timeIntervalSince1970: TimeInterval(from))
        while let next = zone.nextDaylightSavingTimeTransition(after: cursor), next.timeIntervalSince1970 <= TimeInterval(to) {
            let at = Int64(next.timeIntervalSince1970.rounded())
            let before = Int32(zone.secondsFromGMT(for: Date(timeIntervalSince1970: TimeInterval(at - 1))))
            let after = Int32(zone.secondsFromGMT(for: Date(timeIntervalSince1970: TimeInterval(at))))
            if before != after { found.append(Change(at: at, before: before, after: after)) }
            cursor = next.addingTimeInterval(1)
        }
        changes = found
        covered = from ... to
        initialOffset = offset(at: from)
    }

    /// The zone's offset (seconds) at an instant.
    public func offset(at instant: Int64) -> Int32 {
        Int32(zone.secondsFromGMT(for: Date(timeIntervalSince1970: TimeInterval(instant))))
    }

    /// How a local clock time maps to instants.
    enum Reading {
        /// One instant: `offset` seconds east of UTC.
        case unique(offset: Int32)
        /// A time the clock skipped (change `index`): read with the offset before the change.
        case missing(index: Int, offsetBefore: Int32)
        /// A time the clock showed twice (change `index`): first pass `first`, second pass `second`.
        case repeated(index: Int, first: Int32, second: Int32)
    }

    /// How `clock` (local clock seconds) maps to instants; `hint` speeds up sequential look-ups.
    func reading(ofClock clock: Int64, hint: inout Int) -> Reading {
        // The last change whose window starts at or before `clock` (windows are months apart).
        var k = min(max(hint, -1), changes.count - 1)
        while k + 1 < changes.count, changes[k + 1].windowStart <= clock { k += 1 }
        while k >= 0, changes[k].windowStart > clock { k -= 1 }
        hint = k
        guard k >= 0 else { return .unique(offset: covered == nil ? offset(at: clock) : initialOffset) }
        let c = changes[k]
        if clock < c.windowEnd {
            return c.after > c.before ? .missing(index: k, offsetBefore: c.before)
                                      : .repeated(index: k, first: c.before, second: c.after)
        }
        return .unique(offset: c.after)
    }
}

/// Converts one stream of local clock times (in the order the file wrote them) to instants, resolving the
/// repeated autumn hour by the order of the readings and counting what was missing or repeated.
struct ZoneClockStream {
    private var hint = -1
    /// Per repeated window (change index): the latest clock time seen in it and whether the second pass began.
    private var latestInWindow: [Int: Int64] = [:]
    private var secondPass: Set<Int> = []
    /// Local times the clock skipped (moved forward by the jump).
    var missing = 0
    /// Local times in a repeated hour read as its first pass / its second pass.
    var repeatedFirst = 0, repeatedSecond = 0

    /// The instant and offset (minutes) of local clock time `clock`.
    mutating func resolve(_ clock: Int64, with zone: ZoneClock) -> (instant: Int64, offsetMinutes: Int16) {
        switch zone.reading(ofClock: clock, hint: &hint) {
        case .unique(let o):
            return (clock - Int64(o), Int16(o / 60))
        case .missing(_, let before):
            missing += 1
            let instant = clock - Int64(before)
            return (instant, Int16(zone.offset(at: instant) / 60))
        case .repeated(let k, let first, let second):
            if let latest = latestInWindow[k], clock < latest { secondPass.insert(k) }
            latestInWindow[k] = max(latestInWindow[k] ?? clock, clock)
            let o = secondPass.contains(k) ? second : first
            if secondPass.contains(k) { repeatedSecond += 1 } else { repeatedFirst += 1 }
            return (clock - Int64(o), Int16(o / 60))
        }
    }
}
