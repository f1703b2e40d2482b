// Prefetcher: a background thread producing items 0..<count in order (typically the epoch's batches,
// read from shards) into a bounded queue, so reading and decompression overlap the training step.
//
//   producer thread:  for step in 0..<count { wait while queue.count == depth; queue += produce(step) }
//   consumer (next):  wait while queue is empty and the producer is running; pop the front
//
// An error thrown by `produce` stops the producer and is rethrown by the consumer's `next()` in its place
// in the sequence (items before it are delivered first). `cancel()` (also run by deinit) stops the
// producer and joins it: afterwards no producer code runs, so the reader may be used again.
//
// HDF5 is not thread-safe: the producer's HDF5 calls must be made under HDF5Lock (ShardReader does), and
// so must any HDF5 call the consumer thread makes while a prefetcher is live (e.g. writing a checkpoint).
// The objects `produce` uses (the ShardReader) belong to the producer thread until the prefetcher finished
// or was cancelled.

import CGMSchema
import Foundation

/// Runs `produce(step)` for steps 0..<count on a background thread, at most `depth` items ahead.
public final class Prefetcher<Element>: @unchecked Sendable {
    /// Number of items the sequence yields (fewer if `produce` throws).
    public let count: Int
    /// Maximum items buffered ahead of the consumer.
    public let depth: Int
    private let state: PrefetchState<Element>

    /// Starts producing immediately. `depth` ≥ 1 (2–4 is typical: one in use, the next ones ready).
    public init(count: Int, depth: Int = 2, produce: @escaping (Int) throws -> Element) {
        precondition(count >= 0, "Prefetcher: count must be non-negative, got \(count)")
        precondition(depth >= 1, "Prefetcher: depth must be at least 1, got \(depth)")
        self.count = count
        self.depth = depth
        let state = PrefetchState<Element>()
        self.state = state
        let thread = Thread {
            Thread.current.name = "cgm-prefetch"   // set from inside: Linux applies it to the running pthread
            Self.run(state: state, count: count, depth: depth, produce: produce)
        }
        thread.stackSize = 4 << 20
        thread.start()
    }

    deinit { cancel() }

    /// The next item in step order; nil once all `count` items were delivered (or after an error was
    /// thrown, or after `cancel`). Rethrows a producer error on the consumer thread.
    public func next() throws -> Element? {
        let c = state.condition
        c.lock()
        while state.queue.isEmpty && !state.finished && !state.cancelled { c.wait() }
        guard !state.cancelled, !state.queue.isEmpty else {
            c.unlock()
            return nil
        }
        let item = state.queue.removeFirst()
        c.broadcast()
        c.unlock()
        return try item.get()
    }

    /// Stops the producer (after the step it is working on) and waits for its thread to exit. Idempotent.
    public func cancel() {
        let c = state.condition
        c.lock()
        state.cancelled = true
        state.queue.removeAll()
        c.broadcast()
        while !state.finished { c.wait() }
        c.unlock()
    }

    /// Producer loop (runs on the background thread).
    private static func run(state: PrefetchState<Element>, count: Int, depth: Int,
                            produce: (Int) throws -> Element) {
        let c = state.condition
        for step in 0..<count {
            c.lock()
            while state.queue.count >= depth && !state.cancelled { c.wait() }
            let stop = state.cancelled
            c.unlock()
            if stop { break }
            let item = Result { try produce(step) }
            c.lock()
            if !state.cancelled { state.queue.append(item) }
            c.broadcast()
            c.unlock()
            if case .failure = item { break }
        }
        c.lock()
        state.finished = true
        c.broadcast()
        c.unlock()
    }
}

extension Prefetcher where Element == Batch {
    /// Prefetches `batches` (lists of global indices, e.g. `sampler.batches(batchSize:)`) read by `reader`.
    /// The reader belongs to the prefetch thread until this prefetcher is finished or cancelled.
    public convenience init(batches: [[Int]], reader: ShardReader, depth: Int = 2) {
        self.init(count: batches.count, depth: depth) { step in try reader.read(indices: batches[step]) }
    }
}

/// Shared state between the consumer and the producer thread (guarded by `condition`).
final class PrefetchState<Element>: @unchecked Sendable {
    let condition = NSCondition()
    var queue: [Result<Element, Error>] = []
    var finished = false
    var cancelled = false
}
