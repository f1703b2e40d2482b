// Gradient buckets (PyTorch DDP's Reducer; Horovod's tensor fusion): the flat gradient buffer cut into
// a few contiguous ranges, each averaged by one all-reduce, so many small parameters cost a few large
// messages instead of one latency each.
//
//   order   reverse registration order: in backward the last layers' gradients are final first, so
//           bucket 0 (the top of the buffer) can be reduced while earlier layers still back-propagate
//   size    whole parameters are packed while the bucket stays ≤ cap; a parameter larger than the cap is
//           cut into cap-sized pieces (the buffer is contiguous, so any range can be reduced). The first
//           bucket has its own, smaller cap (PyTorch: 1 MiB) so the first all-reduce starts early.
//   ranks   the plan depends only on the layout, which `DataParallel.verifyLayout` proves identical, so
//           every rank issues the same all-reduces in the same order.

import Layers

/// A contiguous range of the flat gradient buffer reduced by one all-reduce.
public struct GradientBucket: Equatable, Sendable {
    /// Position in launch order (0 = launched first).
    public let index: Int
    /// Scalars of the flat buffer covered by this bucket.
    public let range: Range<Int>
    /// Registration indices of the parameters overlapping the range, in reverse registration order.
    public let entries: [Int]

    /// Size in bytes (Float32).
    public var byteCount: Int { range.count * MemoryLayout<Float>.stride }
}

extension GradientBucket {
    /// Cuts a store's flat buffer into buckets: contiguous, disjoint, covering every scalar exactly once,
    /// in reverse registration order (descending offsets), bucket 0 at most `firstCapBytes` and the
    /// others at most `capBytes` (both at least one scalar).
    public static func plan(_ store: ParameterStore, capBytes: Int, firstCapBytes: Int? = nil) -> [GradientBucket] {
        plan(entries: store.entries.map { (offset: $0.offset, count: $0.count) },
             capBytes: capBytes, firstCapBytes: firstCapBytes)
    }

    /// `plan` over raw (offset, count) entries laid out contiguously in registration order.
    public static func plan(entries: [(offset: Int, count: Int)], capBytes: Int,
                            firstCapBytes: Int? = nil) -> [GradientBucket] {
        precondition(capBytes > 0, "bucket cap must be positive, got \(capBytes) bytes")
        let scalar = MemoryLayout<Float>.stride
        let laterCap = max(1, capBytes / scalar)
        let firstCap = max(1, min(firstCapBytes ?? capBytes, capBytes) / scalar)
        var buckets: [GradientBucket] = []
        var cap: Int { buckets.isEmpty ? firstCap : laterCap }
        // The open bucket is [lo, hi); it grows downwards.
        var hi = entries.last.map { $0.offset + $0.count } ?? 0, lo = hi
        var members: [Int] = []
        func close() {
            guard lo < hi else { return }
            buckets.append(GradientBucket(index: buckets.count, range: lo..<hi, entries: members))
            hi = lo
            members = []
        }
        for i in entries.indices.reversed() where entries[i].count > 0 {
            let e = entries[i]
            precondition(e.offset + e.count == lo, "entries must be contiguous in registration order")
            if hi - e.offset <= cap {
                lo = e.offset
                members.append(i)
                continue
            }
            close()   // at a parameter boundary
            var top = e.offset + e.count
            while top - e.offset > cap {   // a parameter larger than the cap: cap-sized pieces from the top
                lo = top - cap
                members = [i]
                close()
                top = lo
            }
            lo = e.offset
            members = [i]
        }
        close()
        return buckets
    }
}
