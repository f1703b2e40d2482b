// Prefetcher: same items as direct production, in order, with bounded read-ahead; errors surface on the
// consumer thread; cancel joins the producer. Also the HDF5Lock contract with a live shard prefetcher.

import CGMSchema
import Distributed
import Foundation
import HDF5IO
import XCTest
@testable import CGMData

/// Thread-safe counters observed from a producer closure.
private final class Probe: @unchecked Sendable {
    private let lock = NSLock()
    private var produced = 0
    private var threads = Set<String>()

    func record() -> Int {
        lock.lock()
        defer { lock.unlock() }
        produced += 1
        threads.insert(Thread.isMainThread ? "main" : (Thread.current.name ?? "?"))
        return produced
    }

    var count: Int { lock.lock(); defer { lock.unlock() }; return produced }
    var threadNames: Set<String> { lock.lock(); defer { lock.unlock() }; return threads }
}

private struct Injected: Error, Equatable { let step: Int }

final class PrefetchTests: ShardTestCase {

    func testYieldsTheSameBatchesAsDirectReadingInOrder() throws {
        let out = path("data")
        try prepare(SingleProcessCommunicator(), out: out)
        let ds = try ShardDataset(directory: out)
        var sampler = DistributedSampler(count: ds.count(.train), numReplicas: 2, rank: 1, seed: 4)
        sampler.setEpoch(3)
        let batches = sampler.batches(batchSize: 3)
        XCTAssertGreaterThan(batches.count, 2)
        let direct = try batches.map { try ShardReader(dataset: ds, split: .train).read(indices: $0) }

        let reader = ShardReader(dataset: ds, split: .train, maxOpenShards: 2)
        let prefetcher = Prefetcher(batches: batches, reader: reader, depth: 3)
        var got: [Batch] = []
        while let b = try prefetcher.next() { got.append(b) }
        XCTAssertEqual(got, direct)
        XCTAssertEqual(got.map(\.indices), batches)
        XCTAssertNil(try prefetcher.next(), "stays finished")
        // After the prefetcher is done the reader is the caller's again.
        XCTAssertEqual(try reader.read(indices: batches[0]), direct[0])
    }

    func testRunsAheadAtMostDepthItemsOnABackgroundThread() throws {
        let probe = Probe()
        let prefetcher = Prefetcher<Int>(count: 10, depth: 2) { step in
            _ = probe.record()
            return step * step
        }
        // Without consumption the producer stops after `depth` items.
        let deadline = Date().addingTimeInterval(2)
        while probe.count < 2 && Date() < deadline { usleep(1000) }
        usleep(20_000)
        XCTAssertEqual(probe.count, 2)
        var got: [Int] = []
        while let x = try prefetcher.next() {
            got.append(x)
            XCTAssertLessThanOrEqual(probe.count, got.count + 2, "at most depth items ahead of the consumer")
        }
        XCTAssertEqual(got, (0..<10).map { $0 * $0 })
        XCTAssertEqual(probe.threadNames, ["cgm-prefetch"])
    }

    func testProducerErrorIsRethrownOnTheConsumerAfterEarlierItems() throws {
        let probe = Probe()
        let prefetcher = Prefetcher<Int>(count: 10, depth: 4) { step in
            _ = probe.record()
            if step == 3 { throw Injected(step: step) }
            return step
        }
        XCTAssertEqual(try prefetcher.next(), 0)
        XCTAssertEqual(try prefetcher.next(), 1)
        XCTAssertEqual(try prefetcher.next(), 2)
        XCTAssertThrowsError(try prefetcher.next()) { XCTAssertEqual($0 as? Injected, Injected(step: 3)) }
        XCTAssertNil(try prefetcher.next())
        XCTAssertEqual(probe.count, 4, "the producer stopped at the failing step")
    }

    func testReaderErrorSurfacesWithShardFileName() throws {
        let out = path("data")
        try prepare(SingleProcessCommunicator(), out: out)
        let ds = try ShardDataset(directory: out)
        let shard = ds.shardPath(.train, shard: 1)
        try FileManager.default.removeItem(atPath: shard)   // vanishes after the dataset was opened
        let first = ds.firstIndex(.train, shard: 1)
        let reader = ShardReader(dataset: ds, split: .train, rank: 0)
        let prefetcher = Prefetcher(batches: [[0], [first], [0]], reader: reader)
        XCTAssertEqual(try prefetcher.next()?.indices, [0])
        XCTAssertThrowsError(try prefetcher.next()) {
            let e = $0 as! ShardError
            XCTAssertEqual(e.file, shard)
            XCTAssertEqual(e.rank, 0)
        }
        XCTAssertNil(try prefetcher.next())
    }

    func testCancelStopsAndJoinsTheProducer() throws {
        let probe = Probe()
        var prefetcher: Prefetcher<Int>? = Prefetcher<Int>(count: 1000, depth: 2) { step in
            _ = probe.record()
            usleep(1000)
            return step
        }
        XCTAssertEqual(try prefetcher!.next(), 0)
        prefetcher!.cancel()
        let after = probe.count
        usleep(20_000)
        XCTAssertEqual(probe.count, after, "no production after cancel returned")
        XCTAssertNil(try prefetcher!.next())
        XCTAssertLessThan(after, 10)
        prefetcher = nil   // deinit after cancel is fine

        // Dropping an unfinished prefetcher cancels and joins it too.
        let probe2 = Probe()
        do {
            let p = Prefetcher<Int>(count: 1000, depth: 2) { step in
                _ = probe2.record()
                return step
            }
            _ = try p.next()
        }
        let dropped = probe2.count
        usleep(20_000)
        XCTAssertEqual(probe2.count, dropped)
        XCTAssertEqual(try Prefetcher<Int>(count: 0) { $0 }.next(), nil)
    }

    func testHDF5UseUnderTheLockWhilePrefetchingIsSafe() throws {
        let out = path("data")
        try prepare(SingleProcessCommunicator(), out: out)
        let ds = try ShardDataset(directory: out)
        var sampler = DistributedSampler(count: ds.count(.train), seed: 1)
        var expected: [Batch] = []
        var batches: [[Int]] = []
        for epoch in 0..<8 {
            sampler.setEpoch(epoch)
            batches += sampler.batches(batchSize: 2)
        }
        let check = ShardReader(dataset: ds, split: .train)
        expected = try batches.map { try check.read(indices: $0) }
        let prefetcher = Prefetcher(batches: batches, reader: ShardReader(dataset: ds, split: .train), depth: 2)
        var step = 0
        while let b = try prefetcher.next() {
            XCTAssertEqual(b, expected[step])
            // The consumer writes and reads its own HDF5 files meanwhile (as a checkpoint writer would).
            let p = path("ckpt-\(step % 2).h5")
            try HDF5Lock.withLock {
                try H5File.create(path: p) { f in try f.createDataset("w", values: [Float(step)]) }
                XCTAssertEqual(try H5File.open(path: p).readDataset("w", as: Float.self).values, [Float(step)])
            }
            step += 1
        }
        XCTAssertEqual(step, batches.count)
    }
}
