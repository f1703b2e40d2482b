// Shard files, hyperslab reads, the shard reader and the distributed prepare writer, on real HDF5 files
// in a temporary directory. Also holds the fixtures the other CGMData shard tests share: deterministic
// WindowSets and an in-process multi-rank communicator (threads meeting at a rendezvous).

import CGMSchema
import Distributed
import Foundation
import HDF5IO
import XCTest
@testable import CGMData

// MARK: - Fixtures

/// Deterministic windows: every value is a function of (seed, array, position); `extras` adds "ode" (2,).
func makeWindows(subjects: [String], perSubject: [Int], history L: Int = 3, horizon H: Int = 2,
                 past P: Int = 2, future F: Int = 1, statics S: Int = 1, extras: Bool = true,
                 seed: UInt64 = 1) -> WindowSet {
    var w = WindowSet(history: L, horizon: H, pastFeatures: (0..<P).map { "p\($0)" },
                      futureFeatures: (0..<F).map { "f\($0)" }, staticFeatures: (0..<S).map { "s\($0)" },
                      subjects: subjects)
    var rng = SamplerRNG(seed: seed)
    func r() -> Float { Float(rng.next(below: 1_000_000)) / 1000 }
    for (k, n) in perSubject.enumerated() {
        for i in 0..<n {
            w.past += (0..<L * P).map { _ in r() }
            w.future += (0..<H * F).map { _ in r() }
            w.target += (0..<H).map { _ in r() }
            w.statics += (0..<S).map { _ in r() }
            w.subject.append(Int32(k))
            w.decisionTime.append(1_700_000_000 + Int64(k) * 86_400 + Int64(i) * 300)
        }
    }
    if extras { w.extras["ode"] = (shape: [2], values: (0..<w.count * 2).map { _ in r() }) }
    return w
}

/// Windows of one subject as produced by a `prepare` job: count and values depend on the name only.
func subjectWindows(_ name: String, split: ShardSplit = .train) -> WindowSet {
    let h = UInt64(ShardJSON.fingerprint(name + split.rawValue), radix: 16)!
    return makeWindows(subjects: [name], perSubject: [Int(h % 5) + 1], seed: h)
}

/// Concatenates single-subject WindowSets (default dimensions of `makeWindows`) into one.
func concatenate(_ parts: [WindowSet]) -> WindowSet {
    var w = WindowSet(history: 3, horizon: 2, pastFeatures: ["p0", "p1"], futureFeatures: ["f0"],
                      staticFeatures: ["s0"], subjects: [])
    var ode: [Float] = []
    for p in parts {
        let offset = Int32(w.subjects.count)
        w.subjects += p.subjects
        w.past += p.past
        w.future += p.future
        w.target += p.target
        w.statics += p.statics
        w.subject += p.subject.map { $0 + offset }
        w.decisionTime += p.decisionTime
        ode += p.extras["ode"]?.values ?? []
    }
    w.extras["ode"] = (shape: [2], values: ode)
    return w
}

/// Exchanges byte blobs between `size` threads; each call returns every rank's blob in rank order.
final class Rendezvous: @unchecked Sendable {
    let size: Int
    private let condition = NSCondition()
    private var slots: [[UInt8]?]
    private var arrived = 0
    private var generation = 0
    private var results: [[UInt8]] = []

    init(size: Int) {
        self.size = size
        slots = Array(repeating: nil, count: size)
    }

    func exchange(rank: Int, _ data: [UInt8]) -> [[UInt8]] {
        condition.lock()
        defer { condition.unlock() }
        let gen = generation
        slots[rank] = data
        arrived += 1
        if arrived == size {
            results = slots.map { $0! }
            slots = Array(repeating: nil, count: size)
            arrived = 0
            generation += 1
            condition.broadcast()
            return results
        }
        // The next round cannot complete before this rank joins it, so `results` stays valid here.
        while generation == gen { condition.wait() }
        return results
    }
}

/// Per-rank results collected from threads.
final class ResultBox<R>: @unchecked Sendable {
    let lock = NSLock()
    var results: [Result<R, Error>?]
    init(_ n: Int) { results = Array(repeating: nil, count: n) }
}

/// Test-only communicator: ranks are threads of this process (their HDF5 work is serialized by HDF5Lock).
final class ThreadCommunicator: Communicator, @unchecked Sendable {
    let rank: Int
    let size: Int
    var localRank: Int { rank }
    var localSize: Int { size }
    let rendezvous: Rendezvous

    init(rank: Int, rendezvous: Rendezvous) {
        self.rank = rank
        self.size = rendezvous.size
        self.rendezvous = rendezvous
    }

    private func bytes<T>(_ p: UnsafePointer<T>, _ count: Int) -> [UInt8] {
        Array(UnsafeRawBufferPointer(start: p, count: count * MemoryLayout<T>.stride))
    }

    private func reduce<U: Comparable & AdditiveArithmetic>(_ buffer: UnsafeMutableRawPointer, _ count: Int,
                                                            _ all: [[UInt8]], _ op: ReduceOp, as: U.Type) {
        let out = buffer.bindMemory(to: U.self, capacity: count)
        for i in 0..<count {
            let values = all.map {
                $0.withUnsafeBytes { $0.loadUnaligned(fromByteOffset: i * MemoryLayout<U>.stride, as: U.self) }
            }
            switch op {
            case .sum: out[i] = values.reduce(.zero, +)
            case .max: out[i] = values.max()!
            case .min: out[i] = values.min()!
            }
        }
    }

    func allReduce<T: CommunicatorScalar>(_ buffer: UnsafeMutablePointer<T>, count: Int, op: ReduceOp) throws {
        let all = rendezvous.exchange(rank: rank, bytes(buffer, count))
        let raw = UnsafeMutableRawPointer(buffer)
        switch T.communicatorKind {
        case .float32: reduce(raw, count, all, op, as: Float.self)
        case .float64: reduce(raw, count, all, op, as: Double.self)
        case .int32: reduce(raw, count, all, op, as: Int32.self)
        case .int64: reduce(raw, count, all, op, as: Int64.self)
        case .uint8: reduce(raw, count, all, op, as: UInt8.self)
        }
    }

    func startAllReduce<T: CommunicatorScalar>(_ buffer: UnsafeMutablePointer<T>, count: Int,
                                                op: ReduceOp) throws -> Request {
        try allReduce(buffer, count: count, op: op)
        return try SingleProcessCommunicator().startAllReduce(buffer, count: count, op: op)  // a completed request
    }

    func broadcast<T: CommunicatorScalar>(_ buffer: UnsafeMutablePointer<T>, count: Int, root: Int) throws {
        try broadcast(bytes: UnsafeMutableRawPointer(buffer), count: count * MemoryLayout<T>.stride, root: root)
    }

    func broadcast(bytes: UnsafeMutableRawPointer, count: Int, root: Int) throws {
        let all = rendezvous.exchange(rank: rank, Array(UnsafeRawBufferPointer(start: bytes, count: count)))
        all[root].withUnsafeBytes { src in
            if count > 0 { bytes.copyMemory(from: src.baseAddress!, byteCount: count) }
        }
    }

    func allGather<T: CommunicatorScalar>(_ send: UnsafePointer<T>, count: Int,
                                           into recv: UnsafeMutablePointer<T>) throws {
        let all = rendezvous.exchange(rank: rank, bytes(send, count))
        let chunk = count * MemoryLayout<T>.stride
        for (r, blob) in all.enumerated() where chunk > 0 {
            blob.withUnsafeBytes {
                UnsafeMutableRawPointer(recv).advanced(by: r * chunk)
                    .copyMemory(from: $0.baseAddress!, byteCount: chunk)
            }
        }
    }

    func barrier() throws { _ = rendezvous.exchange(rank: rank, []) }
    func abort(code: Int32) -> Never { fatalError("abort(\(code)) on ThreadCommunicator") }
    func split(color: Int, key: Int) throws -> any Communicator {
        throw MPIError(call: "split", rank: rank, code: nil, message: "not supported by ThreadCommunicator")
    }
    func shutdown() throws {}

    /// Runs `body` on `size` threads, one per rank; returns each rank's result in rank order.
    static func run<R>(size: Int, _ body: @escaping (ThreadCommunicator) throws -> R) -> [Result<R, Error>] {
        let rendezvous = Rendezvous(size: size)
        let box = ResultBox<R>(size)
        let done = DispatchSemaphore(value: 0)
        for r in 0..<size {
            let t = Thread {
                let result = Result { try body(ThreadCommunicator(rank: r, rendezvous: rendezvous)) }
                box.lock.lock()
                box.results[r] = result
                box.lock.unlock()
                done.signal()
            }
            t.stackSize = 8 << 20
            t.start()
        }
        for _ in 0..<size { done.wait() }
        return box.results.map { $0! }
    }
}

/// Temporary directory per test, provenance, and a small prepared dataset.
class ShardTestCase: XCTestCase {
    var dir: URL!

    override func setUpWithError() throws {
        dir = FileManager.default.temporaryDirectory
            .appendingPathComponent("cgmdata-shards-\(getpid())-\(UUID().uuidString.prefix(8))")
        try FileManager.default.createDirectory(at: dir, withIntermediateDirectories: true)
    }

    override func tearDownWithError() throws {
        try? FileManager.default.removeItem(at: dir)
    }

    func path(_ name: String) -> String { dir.appendingPathComponent(name).path }

    func listing() throws -> [String] { try FileManager.default.contentsOfDirectory(atPath: dir.path).sorted() }

    let metadata = ShardMetadata(configHash: "cfg-abc123", splitSeed: 42,
                                 featureSpecJSON: #"{"glucose":{"mean":140.5,"std":50.25}}"#,
                                 createdBy: "cgmtrain tests")

    /// Subjects of a small dataset: 7 train subjects (3 per shard → 3 shards), 2 val, 2 test.
    var subjectsBySplit: [ShardSplit: [String]] {
        [.train: (1...7).map { "T\($0)" }, .val: ["V1", "V2"], .test: ["X1", "X2"]]
    }

    /// Writes the small dataset with `comm` into `out` (job windows from `subjectWindows`); the job labelled
    /// `failing` throws.
    @discardableResult
    func prepare(_ comm: any Communicator, out: String, overwrite: Bool = false,
                 failing: String? = nil) throws -> Manifest {
        let jobs = ShardJob.plan(subjectsBySplit: subjectsBySplit, subjectsPerShard: 3)
        return try PreparedDatasetWriter(comm: comm, outDir: out, overwrite: overwrite, metadata: metadata,
                                         chunkRows: 4)
            .write(jobs: jobs, qc: ManifestQC(counts: ["csv_rows": 1000])) { job -> ShardJobOutput in
                if job.label == failing { throw ShardError(file: job.label, message: "injected failure") }
                let split = job.splits[0]
                let windows = concatenate(job.subjects.map { subjectWindows($0, split: split) })
                return ShardJobOutput(windows: [split: windows], qcCounts: ["subjects": job.subjects.count])
            }
    }

    /// Everything a reader sees of a prepared dataset: manifest, every window of every split, every
    /// shard's attributes. Equal snapshots = equal datasets.
    func snapshot(_ out: String) throws -> (Manifest, [ShardSplit: Batch], [String: [String: H5AttributeValue]]) {
        let ds = try ShardDataset(directory: out)
        var batches: [ShardSplit: Batch] = [:]
        var attributes: [String: [String: H5AttributeValue]] = [:]
        for split in ShardSplit.allCases {
            batches[split] = try ShardReader(dataset: ds, split: split).read(indices: Array(0..<ds.count(split)))
            for (k, shard) in ds.shards(split).enumerated() {
                let f = try H5File.open(path: ds.shardPath(split, shard: k))
                var attrs: [String: H5AttributeValue] = [:]
                for name in try f.attributeNames() { attrs[name] = try f.attribute(name) }
                attributes[shard.file] = attrs
            }
        }
        return (ds.manifest, batches, attributes)
    }
}

// MARK: - Tests

final class ShardTests: ShardTestCase {

    // MARK: Shard files

    func testShardRoundTripValuesAttributesAndStorage() throws {
        let w = makeWindows(subjects: ["A", "B", "C"], perSubject: [4, 0, 5])
        let p = path("shard-00007.h5")
        let summary = try ShardWriter(metadata: metadata, chunkRows: 4).write(w, split: .val, index: 7, to: p)
        XCTAssertEqual(summary.windowCount, 9)
        XCTAssertEqual(summary.relativePath, "val/shard-00007.h5")
        XCTAssertEqual(summary.extras, ["ode": [2]])
        XCTAssertEqual(try listing(), ["shard-00007.h5"])

        let f = try H5File.open(path: p)
        XCTAssertEqual(try f.int64Attribute("schema_version"), 1)
        XCTAssertEqual(try f.stringAttribute("split"), "val")
        XCTAssertEqual(try f.int64Attribute("shard_index"), 7)
        XCTAssertEqual(try f.int64Attribute("window_count"), 9)
        XCTAssertEqual(try f.int64Attribute("history"), 3)
        XCTAssertEqual(try f.int64Attribute("horizon"), 2)
        XCTAssertEqual(try f.stringAttribute("past_features"), "p0\np1")
        XCTAssertEqual(try f.stringAttribute("future_features"), "f0")
        XCTAssertEqual(try f.stringAttribute("static_features"), "s0")
        XCTAssertEqual(try f.stringAttribute("subjects"), "A\nB\nC")
        XCTAssertEqual(try f.stringAttribute("extras"), "ode")
        XCTAssertEqual(try f.stringAttribute("feature_spec_json"), metadata.featureSpecJSON)
        XCTAssertEqual(try f.stringAttribute("config_hash"), "cfg-abc123")
        XCTAssertEqual(try f.int64Attribute("split_seed"), 42)
        XCTAssertEqual(try f.stringAttribute("created_by"), "cgmtrain tests")
        XCTAssertTrue(try f.stringAttribute("layout").contains("decision_time int64"))

        XCTAssertEqual(try f.readDataset("past", as: Float.self), H5Array(shape: [9, 3, 2], values: w.past))
        XCTAssertEqual(try f.readDataset("future", as: Float.self), H5Array(shape: [9, 2, 1], values: w.future))
        XCTAssertEqual(try f.readDataset("target", as: Float.self), H5Array(shape: [9, 2], values: w.target))
        XCTAssertEqual(try f.readDataset("statics", as: Float.self), H5Array(shape: [9, 1], values: w.statics))
        XCTAssertEqual(try f.readDataset("subject", as: Int32.self), H5Array(shape: [9], values: w.subject))
        XCTAssertEqual(try f.readDataset("decision_time", as: Int64.self),
                       H5Array(shape: [9], values: w.decisionTime))
        XCTAssertEqual(try f.readDataset("extras/ode", as: Float.self),
                       H5Array(shape: [9, 2], values: w.extras["ode"]!.values))

        let past = try f.openDataset("past").storageInfo()
        XCTAssertEqual(past.chunks, [4, 3, 2])
        XCTAssertEqual(past.gzipLevel, 4)
        XCTAssertTrue(past.isShuffled)
        XCTAssertEqual(try f.openDataset("subject").storageInfo().chunks, [4])
        XCTAssertEqual(try f.openDataset("extras/ode").storageInfo().chunks, [4, 2])
        XCTAssertEqual(try f.openDataset("decision_time").storageInfo().gzipLevel, 4)
    }

    func testH5DumpReadsTheAttributes() throws {
        let h5dump = "/usr/bin/h5dump"
        guard FileManager.default.isExecutableFile(atPath: h5dump) else { throw XCTSkip("h5dump not installed") }
        let p = path("s.h5")
        try ShardWriter(metadata: metadata).write(makeWindows(subjects: ["A"], perSubject: [3]), split: .train,
                                                  index: 0, to: p)
        let proc = Process()
        proc.executableURL = URL(fileURLWithPath: h5dump)
        proc.arguments = ["-A", p]
        let pipe = Pipe()
        proc.standardOutput = pipe
        try proc.run()
        let out = String(decoding: pipe.fileHandleForReading.readDataToEndOfFile(), as: UTF8.self)
        proc.waitUntilExit()
        XCTAssertEqual(proc.terminationStatus, 0)
        for needle in ["ATTRIBUTE \"schema_version\"", "(0): 1", "ATTRIBUTE \"past_features\"", "p0", "cfg-abc123",
                       "DATASET \"past\"", "( 3, 3, 2 )"] {
            XCTAssertTrue(out.contains(needle), "h5dump -A output lacks \(needle):\n\(out)")
        }
    }

    func testWriterSlicesRowsAndWritesEmptyShards() throws {
        let w = makeWindows(subjects: ["A", "B"], perSubject: [3, 4])
        let writer = ShardWriter(metadata: metadata, chunkRows: 256)
        try writer.write(w, rows: 2..<6, split: .train, index: 0, to: path("a.h5"))
        let f = try H5File.open(path: path("a.h5"))
        XCTAssertEqual(try f.readDataset("past", as: Float.self).values, Array(w.past[12..<36]))
        XCTAssertEqual(try f.readDataset("subject", as: Int32.self).values, [0, 1, 1, 1])
        XCTAssertEqual(try f.openDataset("past").storageInfo().chunks, [4, 3, 2], "chunk rows capped at N")

        try writer.write(w, rows: 3..<3, split: .train, index: 1, to: path("empty.h5"))
        let e = try H5File.open(path: path("empty.h5"))
        XCTAssertEqual(try e.openDataset("past").shape, [0, 3, 2])
        XCTAssertEqual(try e.int64Attribute("window_count"), 0)
    }

    func testAutomaticChunkRowsTargetAboutSixtyFourKiB() throws {
        XCTAssertEqual(ShardSchema.automaticChunkRows(rowBytes: 72 * 8 * 4), 28)
        XCTAssertEqual(ShardSchema.automaticChunkRows(rowBytes: 24), 256)
        XCTAssertEqual(ShardSchema.automaticChunkRows(rowBytes: 1 << 20), 8)
        let w = makeWindows(subjects: ["A"], perSubject: [40], history: 72, past: 8)
        try ShardWriter(metadata: metadata).write(w, split: .train, index: 0, to: path("auto.h5"))
        let f = try H5File.open(path: path("auto.h5"))
        XCTAssertEqual(try f.openDataset("past").storageInfo().chunks, [28, 72, 8])
        XCTAssertEqual(try f.openDataset("subject").storageInfo().chunks, [28])
        XCTAssertEqual(try f.readDataset("past", as: Float.self).values, w.past)
    }

    func testWriterRejectsBadWindowsNamingFileAndDatasetAndLeavesNothing() throws {
        var w = makeWindows(subjects: ["A"], perSubject: [2])
        w.subject[1] = 3
        let p = path("bad.h5")
        XCTAssertThrowsError(try ShardWriter(metadata: metadata).write(w, split: .train, index: 0, to: p, rank: 1)) {
            let e = $0 as! ShardError
            XCTAssertEqual(e.file, p)
            XCTAssertEqual(e.dataset, "/subject")
            XCTAssertEqual(e.rank, 1)
            XCTAssertTrue("\(e)".contains("subject index 3"), "\(e)")
        }
        var short = makeWindows(subjects: ["A"], perSubject: [2])
        short.target.removeLast()
        XCTAssertThrowsError(try ShardWriter(metadata: metadata).write(short, split: .train, index: 0, to: p)) {
            XCTAssertTrue("\($0)".contains("WindowSet.target has 3 values, expected 4"), "\($0)")
        }
        XCTAssertEqual(try listing(), [])
    }

    // MARK: Hyperslab reads

    func testReadRowsRunsAndChunkCacheOpen() throws {
        let values = (0..<40).map { Float($0) }
        let p = path("rows.h5")
        try H5File.create(path: p) { f in
            try f.createDataset("x", values: values, shape: [10, 2, 2], chunks: [3, 2, 2], gzipLevel: 4, shuffle: true)
        }
        let f = try H5File.open(path: p)
        let ds = try f.openDataset("x", chunkCache: H5ChunkCache(bytes: 1 << 20))
        XCTAssertEqual(ds.rowSize, 4)
        let got = try ds.readRows([1..<3, 3..<4, 7..<7, 8..<10], as: Float.self)
        XCTAssertEqual(got.shape, [5, 2, 2])
        XCTAssertEqual(got.values, [1, 2, 3, 8, 9].flatMap { r in (0..<4).map { Float(r * 4 + $0) } })
        XCTAssertEqual(try ds.readRows([], as: Float.self).shape, [0, 2, 2])
        XCTAssertThrowsError(try ds.readRows([4..<6, 2..<3], as: Float.self)) {
            XCTAssertTrue("\($0)".contains("sorted, disjoint"), "\($0)")
        }
        XCTAssertThrowsError(try ds.readRows([9..<11], as: Float.self))
        XCTAssertThrowsError(try ds.readRows([0..<1], as: Int32.self)) {
            XCTAssertTrue("\($0)".contains("requested int32"), "\($0)")
        }
        XCTAssertEqual(H5ChunkCache(bytes: 16 << 20).slots, 1601)
    }

    // MARK: Reader

    func testReaderBatchesExactValuesInAnyOrderWithDuplicates() throws {
        let out = path("data")
        try prepare(SingleProcessCommunicator(), out: out)
        let ds = try ShardDataset(directory: out)
        let train = concatenate(subjectsBySplit[.train]!.map { subjectWindows($0) })
        XCTAssertEqual(ds.count(.train), train.count)
        XCTAssertEqual(ds.shards(.train).count, 3)

        let reader = ShardReader(dataset: ds, split: .train)
        let n = train.count
        let indices = [n - 1, 0, 5, 5, 1, n / 2, 2, n - 2]
        let b = try reader.read(indices: indices)
        XCTAssertEqual(b.indices, indices)
        XCTAssertEqual(b.pastShape, [8, 3, 2])
        XCTAssertEqual(b.futureShape, [8, 2, 1])
        for (k, i) in indices.enumerated() {
            XCTAssertEqual(Array(b.past[k * 6 ..< k * 6 + 6]), Array(train.past[i * 6 ..< i * 6 + 6]))
            XCTAssertEqual(Array(b.future[k * 2 ..< k * 2 + 2]), Array(train.future[i * 2 ..< i * 2 + 2]))
            XCTAssertEqual(Array(b.target[k * 2 ..< k * 2 + 2]), Array(train.target[i * 2 ..< i * 2 + 2]))
            XCTAssertEqual(b.statics[k], train.statics[i])
            XCTAssertEqual(b.decisionTime[k], train.decisionTime[i])
            XCTAssertEqual(ds.manifest.subjects[Int(b.subject[k])], train.subjects[Int(train.subject[i])])
            XCTAssertEqual(Array(b.extras["ode"]!.values[k * 2 ..< k * 2 + 2]),
                           Array(train.extras["ode"]!.values[i * 2 ..< i * 2 + 2]))
        }
        XCTAssertThrowsError(try reader.read(indices: [n])) {
            XCTAssertTrue("\($0)".contains("sample index \(n) outside 0..<\(n) of split train"), "\($0)")
        }
        XCTAssertEqual(try reader.read(indices: []).count, 0)

        // Subject indices are dataset-wide: a val window maps to its val subject.
        let val = try ShardReader(dataset: ds, split: .val).read(indices: [0])
        XCTAssertEqual(ds.manifest.subjects[Int(val.subject[0])], "V1")
    }

    func testZeroWidthFeaturesAndNoExtrasRoundTrip() throws {
        let out = path("data")
        let w = makeWindows(subjects: ["A", "B"], perSubject: [3, 2], future: 0, statics: 0, extras: false)
        try PreparedDatasetWriter(comm: SingleProcessCommunicator(), outDir: out, metadata: metadata)
            .write(jobs: [ShardJob(split: .test, index: 0, subjects: ["A", "B"])]) { _ in w }
        let ds = try ShardDataset(directory: out)
        try ds.verifyShards()
        let b = try ShardReader(dataset: ds, split: .test).read(indices: [4, 0])
        XCTAssertEqual(b.futureShape, [2, 2, 0])
        XCTAssertEqual(b.staticsShape, [2, 0])
        XCTAssertEqual(b.future, [])
        XCTAssertEqual(b.extras, [:])
        XCTAssertEqual(b.past, Array(w.past[24..<30]) + Array(w.past[0..<6]))
        XCTAssertEqual(b.subject, [1, 0])
    }

    func testReaderKeepsAtMostKShardsOpen() throws {
        let out = path("data")
        let jobs = ShardJob.plan(subjects: (0..<12).map { "S\($0)" }, splits: [.train], subjectsPerShard: 2)
        try PreparedDatasetWriter(comm: SingleProcessCommunicator(), outDir: out, metadata: metadata, chunkRows: 2)
            .write(jobs: jobs) { job in concatenate(job.subjects.map { subjectWindows($0) }) }
        let ds = try ShardDataset(directory: out)
        XCTAssertEqual(ds.shards(.train).count, 6)
        let everything = try ShardReader(dataset: ds, split: .train, maxOpenShards: 6)
            .read(indices: Array(0..<ds.count(.train)))

        let reader = ShardReader(dataset: ds, split: .train, maxOpenShards: 2, chunkCacheBytes: 4096)
        var sampler = DistributedSampler(count: ds.count(.train), seed: 3)
        for epoch in 0..<3 {
            sampler.setEpoch(epoch)
            for batch in sampler.batches(batchSize: 5) {
                let b = try reader.read(indices: batch)
                XCTAssertLessThanOrEqual(reader.openShardCount, 2)
                for (k, i) in batch.enumerated() {
                    XCTAssertEqual(Array(b.past[k * 6 ..< k * 6 + 6]), Array(everything.past[i * 6 ..< i * 6 + 6]))
                    XCTAssertEqual(b.subject[k], everything.subject[i])
                }
            }
        }
        XCTAssertEqual(reader.peakOpenShardCount, 2, "the LRU bound held while every shard was visited")
        XCTAssertGreaterThan(reader.shardOpens, 6, "shards were evicted and reopened")
        reader.close()
        XCTAssertEqual(reader.openShardCount, 0)
    }

    // MARK: Distributed prepare

    func testPrepareWritesManifestAndShardLayout() throws {
        let out = path("data")
        let m = try prepare(SingleProcessCommunicator(), out: out)
        XCTAssertEqual(try listing(), ["data"], "no temporary directory left")
        XCTAssertEqual(try FileManager.default.contentsOfDirectory(atPath: out).sorted(),
                       ["manifest.json", "test", "train", "val"])
        XCTAssertEqual(try FileManager.default.contentsOfDirectory(atPath: out + "/train").sorted(),
                       ["shard-00000.h5", "shard-00001.h5", "shard-00002.h5"])
        XCTAssertEqual(m.split(.train).shards.map(\.subjects), [["T1", "T2", "T3"], ["T4", "T5", "T6"], ["T7"]])
        XCTAssertEqual(m.split(.val).shards.map(\.file), ["val/shard-00000.h5"])
        XCTAssertEqual(m.qc.counts, ["csv_rows": 1000, "subjects": 11])
        XCTAssertEqual(m.totals.shards, 5)
        XCTAssertEqual(m.totals.subjects, 11)
        XCTAssertEqual(m.subjects.first, "T1")
        XCTAssertEqual(try Manifest.load(out), m)
        try ShardDataset(directory: out).verifyShards()
    }

    func testPrepareOutputIsIdenticalForAnyNumberOfRanks() throws {
        try prepare(SingleProcessCommunicator(), out: path("np1"))
        let reference = try snapshot(path("np1"))
        for size in [2, 3] {
            let out = path("np\(size)")
            let results = ThreadCommunicator.run(size: size) { comm in try self.prepare(comm, out: out) }
            for r in results { XCTAssertEqual(try r.get(), reference.0) }
            let s = try snapshot(out)
            XCTAssertEqual(s.0, reference.0)
            XCTAssertEqual(s.1, reference.1)
            XCTAssertEqual(s.2, reference.2)
            XCTAssertEqual(try Data(contentsOf: URL(fileURLWithPath: out + "/manifest.json")),
                           try Data(contentsOf: URL(fileURLWithPath: path("np1") + "/manifest.json")))
        }
        XCTAssertEqual(try listing(), ["np1", "np2", "np3"])
    }

    func testFailedJobLeavesNothingAndEveryRankNamesTheFailingRank() throws {
        let out = path("data")
        // Jobs: train 0, 1, 2, val 0, test 0 → job 3 (val/shard-00000.h5) runs on rank 1 of 2.
        let results = ThreadCommunicator.run(size: 2) { comm in
            try self.prepare(comm, out: out, failing: "val/shard-00000.h5")
        }
        for r in results {
            XCTAssertThrowsError(try r.get()) {
                let e = $0 as! PreparedDatasetError
                XCTAssertEqual(e.failures.map(\.rank), [1])
                XCTAssertEqual(e.failures.first?.job, "val/shard-00000.h5")
                XCTAssertTrue(e.description.contains("rank 1 (job val/shard-00000.h5)"), e.description)
                XCTAssertTrue(e.description.contains("injected failure"), e.description)
            }
        }
        XCTAssertEqual(try listing(), [], "neither DIR nor DIR.tmp-* exists")

        XCTAssertThrowsError(try prepare(SingleProcessCommunicator(), out: out, failing: "train/shard-00002.h5"))
        XCTAssertEqual(try listing(), [])
    }

    func testInconsistentJobsFailTogether() throws {
        let out = path("data")
        let jobs = ShardJob.plan(subjects: ["A", "B", "C"], splits: [.train], subjectsPerShard: 1)
        let results = ThreadCommunicator.run(size: 2) { comm in
            try PreparedDatasetWriter(comm: comm, outDir: out, metadata: self.metadata)
                .write(jobs: jobs) { job -> WindowSet in
                    // Job 1 has a different history length.
                    makeWindows(subjects: job.subjects, perSubject: [2], history: job.index == 1 ? 4 : 3)
                }
        }
        for r in results {
            XCTAssertThrowsError(try r.get()) {
                XCTAssertTrue("\($0)".contains("all ranks: 'train/shard-00001.h5': shard disagrees with "
                                               + "train/shard-00000.h5: history 4 vs 3"), "\($0)")
            }
        }
        XCTAssertEqual(try listing(), [])
    }

    func testManifestShardNamesMustBeThoseWrittenByPrepare() throws {
        // Names read from a file are untrusted (issue 17): only the exact name prepare gives each shard.
        let out = path("data")
        _ = try prepare(SingleProcessCommunicator(), out: out)
        let manifestPath = out + "/manifest.json"
        let text = try String(contentsOfFile: manifestPath, encoding: .utf8)
        for hostile in ["../../etc/passwd", "train/../../outside.h5", "/etc/passwd", "val/shard-00000.h5"] {
            try text.replacingOccurrences(of: "\"train/shard-00000.h5\"", with: "\"\(hostile)\"")
                .write(toFile: manifestPath, atomically: true, encoding: .utf8)
            XCTAssertThrowsError(try Manifest.load(out), hostile) {
                XCTAssertTrue("\($0)".contains("lists the shard file '\(hostile)', not the name prepare gives shard 0 "
                                               + "('train/shard-00000.h5')"), "\($0)")
            }
        }
    }

    func testAFileAsOutputIsRefusedWithoutSuggestingOverwrite() throws {
        let out = path("file")
        try Data("keep".utf8).write(to: URL(fileURLWithPath: out))
        for overwrite in [false, true] {
            XCTAssertThrowsError(try prepare(SingleProcessCommunicator(), out: out, overwrite: overwrite)) {
                XCTAssertTrue("\($0)".contains("exists and is not a directory; choose another output directory"), "\($0)")
                XCTAssertFalse("\($0)".contains("--overwrite"), "\($0)")
            }
        }
        XCTAssertEqual(try String(contentsOfFile: out, encoding: .utf8), "keep")
    }

    func testLeftoversOfAKilledPrepareAreRemovedByTheNextOneIntoTheSameDirectory() throws {
        // A prepare killed outright leaves DIR.tmp-PID-HEX; the next prepare into DIR removes those whose process
        // is gone, and nothing that merely looks similar.
        let out = path("data")
        let dead = "2147480001"                                     // above any pid_max: no such process
        let leftovers = ["data.tmp-\(dead)-1a2b3c", "data.tmp-\(dead)-ff"]
        let kept = ["data.tmp-\(getpid())-abc", "data.tmp-notes", "data.tmp-\(dead)-xyz", "other.tmp-\(dead)-abc",
                    "data.old-\(dead)-abc"]
        for name in leftovers + kept {
            try FileManager.default.createDirectory(atPath: path(name) + "/train", withIntermediateDirectories: true)
        }
        _ = try prepare(SingleProcessCommunicator(), out: out)
        XCTAssertEqual(try listing(), (["data"] + kept).sorted())
    }

    func testExistingDirectoryNeedsOverwriteAndIsReplacedOnlyWhenComplete() throws {
        let out = path("data")
        try FileManager.default.createDirectory(atPath: out, withIntermediateDirectories: false)
        try Data("keep".utf8).write(to: URL(fileURLWithPath: out + "/notes.txt"))
        // Not a prepared dataset: --overwrite would not help, so the message does not suggest it (issue 17).
        XCTAssertThrowsError(try prepare(SingleProcessCommunicator(), out: out)) {
            XCTAssertTrue("\($0)".contains("is not a prepared dataset"), "\($0)")
            XCTAssertFalse("\($0)".contains("pass --overwrite"), "\($0)")
        }
        XCTAssertThrowsError(try prepare(SingleProcessCommunicator(), out: out, overwrite: true)) {
            XCTAssertTrue("\($0)".contains("is not a prepared dataset"), "\($0)")
        }
        XCTAssertEqual(try listing(), ["data"])
        XCTAssertTrue(FileManager.default.fileExists(atPath: out + "/notes.txt"))

        try FileManager.default.removeItem(atPath: out)
        let first = try prepare(SingleProcessCommunicator(), out: out)
        XCTAssertThrowsError(try prepare(SingleProcessCommunicator(), out: out)) {
            XCTAssertTrue("\($0)".contains("already exists; pass --overwrite"), "\($0)")
        }
        // A failing overwrite keeps the old dataset intact.
        XCTAssertThrowsError(try prepare(SingleProcessCommunicator(), out: out, overwrite: true,
                                         failing: "test/shard-00000.h5"))
        XCTAssertEqual(try Manifest.load(out), first)
        XCTAssertEqual(try listing(), ["data"])
        // A successful overwrite replaces it.
        let w = makeWindows(subjects: ["Z"], perSubject: [2])
        let second = try PreparedDatasetWriter(comm: SingleProcessCommunicator(), outDir: out + "/", overwrite: true,
                                               metadata: metadata)
            .write(jobs: [ShardJob(split: .train, index: 0, subjects: ["Z"])]) { _ in w }
        XCTAssertEqual(try Manifest.load(out), second)
        XCTAssertEqual(second.subjects, ["Z"])
        XCTAssertFalse(FileManager.default.fileExists(atPath: out + "/val/shard-00000.h5"))
        XCTAssertEqual(try listing(), ["data"])
    }

    func testMultiSplitJobsAndJobValidation() throws {
        let out = path("data")
        let jobs = ShardJob.plan(subjects: ["A", "B", "C"], splits: [.train, .val, .test], subjectsPerShard: 2)
        XCTAssertEqual(jobs.map(\.label), ["{train,val,test}/shard-00000.h5", "{train,val,test}/shard-00001.h5"])
        let m = try PreparedDatasetWriter(comm: SingleProcessCommunicator(), outDir: out, metadata: metadata)
            .write(jobs: jobs) { job -> [ShardSplit: WindowSet] in
                var windows: [ShardSplit: WindowSet] = [:]
                for s in job.splits { windows[s] = concatenate(job.subjects.map { subjectWindows($0, split: s) }) }
                return windows
            }
        XCTAssertEqual(m.split(.val).shards.map(\.file), ["val/shard-00000.h5", "val/shard-00001.h5"])
        XCTAssertEqual(m.subjects, ["A", "B", "C"])

        XCTAssertThrowsError(try PreparedDatasetWriter(comm: SingleProcessCommunicator(), outDir: path("x"),
                                                       metadata: metadata)
            .write(jobs: jobs) { job in subjectWindows(job.subjects[0]) }) {
            XCTAssertTrue("\($0)".contains("return [ShardSplit: WindowSet] or ShardJobOutput"), "\($0)")
        }
        let duplicate = [ShardJob(split: .train, index: 0, subjects: ["A"]),
                         ShardJob(split: .train, index: 0, subjects: ["B"])]
        XCTAssertThrowsError(try PreparedDatasetWriter(comm: SingleProcessCommunicator(), outDir: path("x"),
                                                       metadata: metadata)
            .write(jobs: duplicate) { job in subjectWindows(job.subjects[0]) }) {
            XCTAssertTrue("\($0)".contains("train/shard-00000.h5 is produced by two jobs"), "\($0)")
        }
        XCTAssertEqual(try listing(), ["data"])
    }
}
