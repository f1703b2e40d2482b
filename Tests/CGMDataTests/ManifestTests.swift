// Manifest JSON format and validation: schema versions of the manifest and of individual shards, missing
// shards, and shards that contradict the manifest; every error names the offending file.

import Distributed
import Foundation
import HDF5IO
import XCTest
@testable import CGMData

final class ManifestTests: ShardTestCase {

    func testManifestJSONIsPrettySortedSnakeCase() throws {
        let out = path("data")
        let m = try prepare(SingleProcessCommunicator(), out: out)
        let text = try String(contentsOfFile: out + "/manifest.json", encoding: .utf8)
        let head = "{\n  \"config_hash\" : \"cfg-abc123\",\n  \"created_by\" : \"cgmtrain tests\",\n"
        XCTAssertTrue(text.hasPrefix(head), text)
        XCTAssertTrue(text.hasSuffix("}\n"))
        for key in ["\"schema_version\" : 1", "\"split_seed\" : 42", "\"history\" : 3", "\"horizon\" : 2",
                    "\"past_features\" : [", "\"feature_spec_json\" : ", "\"file\" : \"train/shard-00000.h5\"",
                    "\"qc\" : {", "\"totals\" : {", "\"extras\" : {"] {
            XCTAssertTrue(text.contains(key), "manifest lacks \(key):\n\(text)")
        }
        // Top-level keys appear sorted.
        let topKeys = text.split(separator: "\n").filter { $0.hasPrefix("  \"") }
            .map { String($0.dropFirst(3).prefix { $0 != "\"" }) }
        XCTAssertEqual(topKeys, topKeys.sorted())
        XCTAssertEqual(topKeys.count, 15)
        // And it decodes back to the same value; the feature spec survives verbatim.
        let decoded = try JSONDecoder().decode(Manifest.self, from: Data(text.utf8))
        XCTAssertEqual(decoded, m)
        XCTAssertEqual(decoded.featureSpecJSON, metadata.featureSpecJSON)
        XCTAssertEqual(m.split(.train).windows + m.split(.val).windows + m.split(.test).windows, m.totals.windows)
        XCTAssertEqual(m.split(.train).subjects, (1...7).map { "T\($0)" })
    }

    func testYieldFromCallerOrComputedFromSummedCounts() throws {
        let jobs = ShardJob.plan(subjects: ["A", "B"], splits: [.train], subjectsPerShard: 1)
        let given = try PreparedDatasetWriter(comm: SingleProcessCommunicator(), outDir: path("a"), metadata: metadata)
            .write(jobs: jobs, qc: ManifestQC(counts: ["x": 1], yield: 0.5)) { job in
                ShardJobOutput(windows: [.train: subjectWindows(job.subjects[0])], qcCounts: ["x": 2, "y": 1])
            }
        XCTAssertEqual(given.qc, ManifestQC(counts: ["x": 5, "y": 2], yield: 0.5))
        let computed = try PreparedDatasetWriter(comm: SingleProcessCommunicator(), outDir: path("b"),
                                                 metadata: metadata)
            .write(jobs: jobs, computeYield: { counts, windows in Double(windows) / Double(counts["candidates"]!) }) {
                job in ShardJobOutput(windows: [.train: makeWindows(subjects: job.subjects, perSubject: [3])],
                                      qcCounts: ["candidates": 4])
            }
        XCTAssertEqual(computed.qc.yield, 0.75)
        XCTAssertNil(try prepare(SingleProcessCommunicator(), out: path("c")).qc.yield)
    }

    func testWrongManifestSchemaVersionNamesTheManifest() throws {
        let out = path("data")
        try prepare(SingleProcessCommunicator(), out: out)
        let file = out + "/manifest.json"
        let text = try String(contentsOfFile: file, encoding: .utf8)
        try text.replacingOccurrences(of: "\"schema_version\" : 1", with: "\"schema_version\" : 99")
            .write(toFile: file, atomically: true, encoding: .utf8)
        XCTAssertThrowsError(try Manifest.load(out)) {
            let e = $0 as! ShardError
            XCTAssertEqual(e.file, file)
            XCTAssertTrue(e.message.contains("schema version 99, this build reads version 1"), e.message)
        }
        XCTAssertThrowsError(try ShardDataset(directory: out))
        XCTAssertThrowsError(try Manifest.load(path("nowhere"))) {
            XCTAssertTrue("\($0)".contains("is not a prepared dataset directory"), "\($0)")
        }
    }

    func testMissingShardNamesTheShard() throws {
        let out = path("data")
        try prepare(SingleProcessCommunicator(), out: out)
        let shard = out + "/train/shard-00001.h5"
        try FileManager.default.removeItem(atPath: shard)
        XCTAssertThrowsError(try ShardDataset(directory: out)) {
            let e = $0 as! ShardError
            XCTAssertEqual(e.file, shard)
            XCTAssertTrue("\(e)".contains("'\(shard)': shard listed in \(out)/manifest.json is missing"), "\(e)")
        }
    }

    func testShardOfWrongSchemaVersionNamesTheShard() throws {
        let out = path("data")
        try prepare(SingleProcessCommunicator(), out: out)
        let shard = out + "/train/shard-00002.h5"
        let f = try H5File.open(path: shard, readOnly: false)
        try f.setAttribute("schema_version", .int64(2))
        try f.close()

        let ds = try ShardDataset(directory: out)   // the manifest alone is fine
        XCTAssertThrowsError(try ds.verifyShards(rank: 3)) {
            let e = $0 as! ShardError
            XCTAssertEqual(e.file, shard)
            XCTAssertEqual(e.rank, 3)
            XCTAssertTrue(e.message.contains("shard schema version 2, this build reads version 1"), e.message)
        }
        let reader = ShardReader(dataset: ds, split: .train, rank: 1)
        XCTAssertNoThrow(try reader.read(indices: [0]), "shards 0 and 1 are fine")
        let last = ds.count(.train) - 1
        XCTAssertThrowsError(try reader.read(indices: [0, last])) {
            let e = $0 as! ShardError
            XCTAssertEqual(e.file, shard)
            XCTAssertEqual(e.dataset, "/")
            XCTAssertEqual(e.rank, 1)
            XCTAssertTrue("\(e)".contains("(rank 1)"), "\(e)")
        }
    }

    func testShardContradictingTheManifestNamesFileAndDataset() throws {
        let out = path("data")
        try prepare(SingleProcessCommunicator(), out: out)
        let shard = out + "/val/shard-00000.h5"
        // Replace the shard with one whose past features are different.
        var w = concatenate(["V1", "V2"].map { subjectWindows($0, split: .val) })
        w.pastFeatures = ["p0", "other"]
        try ShardWriter(metadata: metadata).write(w, split: .val, index: 0, to: shard)
        XCTAssertThrowsError(try ShardDataset(directory: out).verifyShards()) {
            let e = $0 as! ShardError
            XCTAssertEqual(e.file, shard)
            XCTAssertTrue(e.message.contains("attribute past_features is [\"p0\", \"other\"], manifest says "
                                             + "[\"p0\", \"p1\"]"), e.message)
        }
        // A shard missing a dataset.
        let good = concatenate(["V1", "V2"].map { subjectWindows($0, split: .val) })
        var noExtras = good
        noExtras.extras = [:]
        try ShardWriter(metadata: metadata).write(noExtras, split: .val, index: 0, to: shard)
        XCTAssertThrowsError(try ShardReader(dataset: ShardDataset(directory: out), split: .val).read(indices: [0])) {
            let e = $0 as! ShardError
            XCTAssertEqual(e.file, shard)
            XCTAssertEqual(e.dataset, "/extras/ode")
            XCTAssertEqual(e.message, "dataset is missing")
        }
    }

    func testManifestRejectsDisagreeingOrDuplicateShards() throws {
        let a = ShardSummary(split: .train, index: 0, windowCount: 2, subjects: ["A"], history: 3, horizon: 2,
                             pastFeatures: ["g"], futureFeatures: [], staticFeatures: [], extras: [:])
        var b = a
        b.index = 1
        b.futureFeatures = ["carbs"]
        XCTAssertThrowsError(try Manifest(summaries: [a, b], metadata: metadata, qc: ManifestQC())) {
            XCTAssertTrue("\($0)".contains("'train/shard-00001.h5': shard disagrees with train/shard-00000.h5: "
                                           + "future features [\"carbs\"] vs []"), "\($0)")
        }
        XCTAssertThrowsError(try Manifest(summaries: [a, a], metadata: metadata, qc: ManifestQC())) {
            XCTAssertTrue("\($0)".contains("written twice"), "\($0)")
        }
        XCTAssertThrowsError(try Manifest(summaries: [], metadata: metadata, qc: ManifestQC()))
        var c = a
        c.split = .test
        c.subjects = ["C", "A"]
        let m = try Manifest(summaries: [c, a], metadata: metadata, qc: ManifestQC())
        XCTAssertEqual(m.subjects, ["A", "C"], "train subjects first, then new test ones")
        XCTAssertEqual(m.totals, ManifestTotals(windows: 4, shards: 2, subjects: 2))
        XCTAssertEqual(m.split(.val), ManifestSplit(shards: []))
    }

    func testLocateMapsGlobalIndicesAcrossShardsIncludingEmptyOnes() throws {
        let out = path("data")
        let sizes = [3, 0, 2, 0, 4]
        let jobs = sizes.indices.map { ShardJob(split: .train, index: $0, subjects: ["S\($0)"]) }
        try PreparedDatasetWriter(comm: SingleProcessCommunicator(), outDir: out, metadata: metadata)
            .write(jobs: jobs) { job in makeWindows(subjects: job.subjects, perSubject: [sizes[job.index]]) }
        let ds = try ShardDataset(directory: out)
        XCTAssertEqual(ds.count(.train), 9)
        XCTAssertEqual(ds.count(.val), 0)
        let located = (0..<9).map { ds.locate($0, in: .train) }
        XCTAssertEqual(located.map(\.shard), [0, 0, 0, 2, 2, 4, 4, 4, 4])
        XCTAssertEqual(located.map(\.row), [0, 1, 2, 0, 1, 0, 1, 2, 3])
        XCTAssertEqual(ds.firstIndex(.train, shard: 4), 5)
        let b = try ShardReader(dataset: ds, split: .train).read(indices: Array(0..<9))
        XCTAssertEqual(b.subject.map { ds.manifest.subjects[Int($0)] },
                       ["S0", "S0", "S0", "S2", "S2", "S4", "S4", "S4", "S4"])
    }
}
