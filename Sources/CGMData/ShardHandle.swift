// ShardHandle: one open, validated shard file. Opening checks the file against the manifest (schema
// version first, then split, L, H, feature names, subjects, window count, dataset shapes and types) so
// that a stale or foreign shard fails with an error naming the file and the offending dataset/attribute.
// Callers hold HDF5Lock around `open`, reads and `close` (ShardReader does).

import Foundation
import HDF5IO

/// An open shard file with its datasets (opened with a sized chunk cache) and subject-index map.
final class ShardHandle {
    let path: String
    let file: H5File
    let rows: Int
    let past: H5Dataset
    let future: H5Dataset
    let target: H5Dataset
    let statics: H5Dataset
    let subject: H5Dataset
    let decisionTime: H5Dataset
    /// Extras in name order.
    let extras: [(name: String, dataset: H5Dataset)]
    /// Shard-local subject index → index into `Manifest.subjects`.
    let subjectMap: [Int32]

    private init(path: String, file: H5File, rows: Int, datasets: [String: H5Dataset],
                 extras: [(name: String, dataset: H5Dataset)], subjectMap: [Int32]) {
        typealias D = ShardSchema.Dataset
        self.path = path
        self.file = file
        self.rows = rows
        self.past = datasets[D.past]!
        self.future = datasets[D.future]!
        self.target = datasets[D.target]!
        self.statics = datasets[D.statics]!
        self.subject = datasets[D.subject]!
        self.decisionTime = datasets[D.decisionTime]!
        self.extras = extras
        self.subjectMap = subjectMap
    }

    /// Closes the file (and every dataset of it).
    func close() { file.discard() }

    /// Opens and validates the shard at `path` listed as `entry` of `split`. Call under HDF5Lock.
    /// With `checkAttributes: false` (a reopen of a shard checked before) only the datasets are checked.
    static func open(path: String, entry: ManifestShard, split: ShardSplit, manifest m: Manifest,
                     chunkCache: H5ChunkCache, checkAttributes: Bool = true, rank: Int?) throws -> ShardHandle {
        typealias A = ShardSchema.Attribute
        typealias D = ShardSchema.Dataset
        func fail(_ dataset: String?, _ message: String) -> ShardError {
            ShardError(file: path, dataset: dataset, rank: rank, message: message)
        }
        let file: H5File
        do {
            file = try H5File.open(path: path)
        } catch {
            throw ShardError.wrap(error, file: path, rank: rank)
        }
        do {
            if checkAttributes {
                guard try file.hasAttribute(A.schemaVersion) else {
                    throw fail("/", "no \(A.schemaVersion) attribute: not a CGMTrain shard")
                }
                let version = try file.int64Attribute(A.schemaVersion)
                guard version == Int64(ShardSchema.version) else {
                    throw fail("/", "shard schema version \(version), this build reads version \(ShardSchema.version); "
                               + "re-run prepare")
                }
                func expect<T: Equatable>(_ name: String, _ got: T, _ want: T) throws {
                    if got != want { throw fail("/", "attribute \(name) is \(got), manifest says \(want)") }
                }
                try expect(A.split, try file.stringAttribute(A.split), split.rawValue)
                try expect(A.history, try file.int64Attribute(A.history), Int64(m.history))
                try expect(A.horizon, try file.int64Attribute(A.horizon), Int64(m.horizon))
                try expect(A.windowCount, try file.int64Attribute(A.windowCount), Int64(entry.windows))
                try expect(A.pastFeatures, ShardSchema.splitNames(try file.stringAttribute(A.pastFeatures)),
                           m.pastFeatures)
                try expect(A.futureFeatures, ShardSchema.splitNames(try file.stringAttribute(A.futureFeatures)),
                           m.futureFeatures)
                try expect(A.staticFeatures, ShardSchema.splitNames(try file.stringAttribute(A.staticFeatures)),
                           m.staticFeatures)
                let subjects = ShardSchema.splitNames(try file.stringAttribute(A.subjects))
                try expect(A.subjects, subjects, entry.subjects)
            }

            let n = entry.windows
            let expected: [(String, [Int], H5ElementType)] = [
                (D.past, [n, m.history, m.pastFeatures.count], .float32),
                (D.future, [n, m.horizon, m.futureFeatures.count], .float32),
                (D.target, [n, m.horizon], .float32),
                (D.statics, [n, m.staticFeatures.count], .float32),
                (D.subject, [n], .int32),
                (D.decisionTime, [n], .int64),
            ] + m.extras.keys.sorted().map { (D.extrasGroup + "/" + $0, [n] + m.extras[$0]!, .float32) }
            var datasets: [String: H5Dataset] = [:]
            for (name, shape, type) in expected {
                guard try file.exists(name) else { throw fail("/" + name, "dataset is missing") }
                let ds = try file.openDataset(name, chunkCache: chunkCache)
                guard ds.shape == shape, ds.elementType == type else {
                    throw fail("/" + name, "dataset is \(ds.elementType?.rawValue ?? "?") \(ds.shape), expected "
                               + "\(type.rawValue) \(shape)")
                }
                datasets[name] = ds
            }
            let extras = m.extras.keys.sorted().map { ($0, datasets[D.extrasGroup + "/" + $0]!) }
            var globalIndex: [String: Int32] = [:]
            for (i, s) in m.subjects.enumerated() { globalIndex[s] = Int32(i) }
            let map = try entry.subjects.map { s -> Int32 in
                guard let g = globalIndex[s] else { throw fail("/", "subject \(s) is not in the manifest") }
                return g
            }
            return ShardHandle(path: path, file: file, rows: n, datasets: datasets, extras: extras, subjectMap: map)
        } catch {
            file.discard()
            throw ShardError.wrap(error, file: path, rank: rank)
        }
    }
}
