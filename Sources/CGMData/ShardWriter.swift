// ShardWriter: one WindowSet (or a row range of it) → one self-describing HDF5 shard file (layout in
// ShardSchema.swift). Files are written through H5File.create (temporary sibling, renamed on commit), so
// a failed write leaves nothing at the shard path. All HDF5 work runs under HDF5Lock.

import CGMSchema
import Foundation
import HDF5IO

/// Provenance written into every shard and the manifest: identical for all shards of one `prepare` run.
public struct ShardMetadata: Codable, Equatable, Sendable {
    /// Hash of the preparing configuration (the caller's choice of hash, e.g. SHA-256 hex of the YAML).
    public var configHash: String
    /// Seed of the subject/time split.
    public var splitSeed: Int
    /// JSON of the feature spec (scaling constants etc.), stored verbatim.
    public var featureSpecJSON: String
    /// Producer string, e.g. "cgmtrain prepare 0.1".
    public var createdBy: String
    /// With ODE states: the twin's inputs over the horizon (`data.twin.future_inputs`), recorded in the
    /// manifest so evaluation knows which twin forecast it reads; nil without ODE states.
    public var twinFutureInputs: String?
    /// Where `meal_flag` came from when not the data (`prepare --meal-detector`); recorded in the manifest only.
    public var mealFlagSource: String? = nil
    /// Optional features the data could not give (`FeatureSpec.droppedFeatures`); recorded in the manifest only.
    public var droppedFeatures: [DroppedFeature]? = nil

    /// Creates shard metadata.
    public init(configHash: String, splitSeed: Int, featureSpecJSON: String, createdBy: String = "cgmtrain",
                twinFutureInputs: String? = nil) {
        self.configHash = configHash
        self.splitSeed = splitSeed
        self.featureSpecJSON = featureSpecJSON
        self.createdBy = createdBy
        self.twinFutureInputs = twinFutureInputs
    }
}

/// What was written to one shard file (collected for the manifest).
public struct ShardSummary: Codable, Equatable, Sendable {
    /// Split of the shard.
    public var split: ShardSplit
    /// Shard index within its split (file `shard-NNNNN.h5`).
    public var index: Int
    /// Number of windows (N).
    public var windowCount: Int
    /// Subject names the `subject` dataset indexes into (the WindowSet's `subjects`).
    public var subjects: [String]
    /// History length L.
    public var history: Int
    /// Horizon H.
    public var horizon: Int
    /// Past feature names (P of them).
    public var pastFeatures: [String]
    /// Future feature names (F of them).
    public var futureFeatures: [String]
    /// Static feature names (S of them).
    public var staticFeatures: [String]
    /// Extra arrays: name → per-window shape.
    public var extras: [String: [Int]]

    /// Path relative to the dataset directory.
    public var relativePath: String { ShardSchema.relativePath(split: split, index: index) }
}

/// Writes shard files: datasets chunked along N and compressed (gzip + shuffle), root attributes
/// describing everything needed to read them without this code.
public struct ShardWriter: Sendable {
    /// Provenance attributes.
    public var metadata: ShardMetadata
    /// Windows per chunk along N (capped at N); nil chooses `ShardSchema.automaticChunkRows` from the
    /// widest per-window dataset.
    public var chunkRows: Int?
    /// Gzip level 0...9.
    public var gzipLevel: Int
    /// Byte-shuffle filter before gzip (helps float compression).
    public var shuffle: Bool

    /// Creates a writer.
    public init(metadata: ShardMetadata, chunkRows: Int? = nil,
                gzipLevel: Int = ShardSchema.defaultGzipLevel, shuffle: Bool = true) {
        precondition((chunkRows ?? 1) > 0, "ShardWriter: chunkRows must be positive, got \(chunkRows ?? 0)")
        self.metadata = metadata
        self.chunkRows = chunkRows
        self.gzipLevel = gzipLevel
        self.shuffle = shuffle
    }

    /// Writes `windows[rows]` (default: all) as shard `index` of `split` at `path`, atomically.
    /// Errors name the file, the dataset and `rank` (when given).
    @discardableResult
    public func write(_ windows: WindowSet, rows: Range<Int>? = nil, split: ShardSplit, index: Int,
                      to path: String, rank: Int? = nil) throws -> ShardSummary {
        let rows = rows ?? 0..<windows.count
        if let problem = Self.validate(windows, rows: rows) {
            throw ShardError(file: path, dataset: problem.dataset, rank: rank, message: problem.message)
        }
        let summary = ShardSummary(
            split: split, index: index, windowCount: rows.count, subjects: windows.subjects,
            history: windows.history, horizon: windows.horizon, pastFeatures: windows.pastFeatures,
            futureFeatures: windows.futureFeatures, staticFeatures: windows.staticFeatures,
            extras: windows.extras.mapValues { $0.shape })
        do {
            try HDF5Lock.withLock {
                try H5File.create(path: path) { file in
                    try writeAttributes(file, summary)
                    try writeDatasets(file, windows, rows: rows)
                }
            }
        } catch {
            throw ShardError.wrap(error, file: path, rank: rank)
        }
        return summary
    }

    // MARK: Validation

    /// First problem with `windows` or `rows`, naming the offending dataset.
    static func validate(_ w: WindowSet, rows: Range<Int>) -> (dataset: String?, message: String)? {
        if let m = w.validate() { return (nil, m) }
        if w.history <= 0 || w.horizon <= 0 {
            return (nil, "history \(w.history) and horizon \(w.horizon) must be positive")
        }
        if rows.lowerBound < 0 || rows.upperBound > w.count {
            return (nil, "rows \(rows) outside the \(w.count) windows of the WindowSet")
        }
        let lists = [(ShardSchema.Attribute.pastFeatures, w.pastFeatures),
                     (ShardSchema.Attribute.futureFeatures, w.futureFeatures),
                     (ShardSchema.Attribute.staticFeatures, w.staticFeatures),
                     (ShardSchema.Attribute.subjects, w.subjects)]
        for (name, list) in lists {
            if let bad = list.first(where: { $0.isEmpty || $0.contains("\n") }) {
                return (nil, "\(name) entry \(bad.debugDescription) is empty or contains a newline")
            }
            if Set(list).count != list.count { return (nil, "\(name) has duplicate entries") }
        }
        for name in w.extras.keys where name.isEmpty || name.contains("/") || name.contains("\n") || name == "." {
            return ("/\(ShardSchema.Dataset.extrasGroup)/\(name)", "invalid extra name \(name.debugDescription)")
        }
        for (name, e) in w.extras where e.shape.contains(where: { $0 < 0 }) {
            return ("/\(ShardSchema.Dataset.extrasGroup)/\(name)", "negative per-window shape \(e.shape)")
        }
        let nSubjects = Int32(clamping: w.subjects.count)
        if let i = rows.first(where: { w.subject[$0] < 0 || w.subject[$0] >= nSubjects }) {
            return ("/" + ShardSchema.Dataset.subject,
                    "window \(i) has subject index \(w.subject[i]) outside 0..<\(w.subjects.count)")
        }
        return nil
    }

    // MARK: Writing

    private func writeAttributes(_ file: H5File, _ s: ShardSummary) throws {
        typealias A = ShardSchema.Attribute
        try file.setAttribute(A.schemaVersion, .int64(Int64(ShardSchema.version)))
        try file.setAttribute(A.split, .string(s.split.rawValue))
        try file.setAttribute(A.shardIndex, .int64(Int64(s.index)))
        try file.setAttribute(A.windowCount, .int64(Int64(s.windowCount)))
        try file.setAttribute(A.history, .int64(Int64(s.history)))
        try file.setAttribute(A.horizon, .int64(Int64(s.horizon)))
        try file.setAttribute(A.pastFeatures, .string(ShardSchema.joinNames(s.pastFeatures)))
        try file.setAttribute(A.futureFeatures, .string(ShardSchema.joinNames(s.futureFeatures)))
        try file.setAttribute(A.staticFeatures, .string(ShardSchema.joinNames(s.staticFeatures)))
        try file.setAttribute(A.subjects, .string(ShardSchema.joinNames(s.subjects)))
        try file.setAttribute(A.extras, .string(ShardSchema.joinNames(s.extras.keys.sorted())))
        try file.setAttribute(A.featureSpecJSON, .string(metadata.featureSpecJSON))
        try file.setAttribute(A.configHash, .string(metadata.configHash))
        try file.setAttribute(A.splitSeed, .int64(Int64(metadata.splitSeed)))
        try file.setAttribute(A.createdBy, .string(metadata.createdBy))
        try file.setAttribute(A.layout, .string(ShardSchema.layoutDescription))
    }

    private func writeDatasets(_ file: H5File, _ w: WindowSet, rows: Range<Int>) throws {
        typealias D = ShardSchema.Dataset
        let (L, H) = (w.history, w.horizon)
        let widest = ([L * w.pastFeatures.count, H * w.futureFeatures.count, H, w.staticFeatures.count, 2]
                      + w.extras.values.map { $0.shape.reduce(1, *) }).max()! * 4
        let chunkRows = self.chunkRows ?? ShardSchema.automaticChunkRows(rowBytes: widest)
        try put(file, chunkRows, D.past, w.past, rows: rows, rowShape: [L, w.pastFeatures.count])
        try put(file, chunkRows, D.future, w.future, rows: rows, rowShape: [H, w.futureFeatures.count])
        try put(file, chunkRows, D.target, w.target, rows: rows, rowShape: [H])
        try put(file, chunkRows, D.statics, w.statics, rows: rows, rowShape: [w.staticFeatures.count])
        try put(file, chunkRows, D.subject, w.subject, rows: rows, rowShape: [])
        try put(file, chunkRows, D.decisionTime, w.decisionTime, rows: rows, rowShape: [])
        if !w.extras.isEmpty {
            _ = try file.createGroup(D.extrasGroup)
            for name in w.extras.keys.sorted() {
                let e = w.extras[name]!
                try put(file, chunkRows, D.extrasGroup + "/" + name, e.values, rows: rows, rowShape: e.shape)
            }
        }
    }

    /// Writes rows `rows` of a row-major (count, rowShape...) array as dataset `name`, chunked along N and
    /// compressed; empty datasets (N = 0 or a zero axis) are stored contiguously, uncompressed.
    private func put<T: H5Scalar>(_ file: H5File, _ chunkRows: Int, _ name: String, _ values: [T], rows: Range<Int>,
                                  rowShape: [Int]) throws {
        let rowSize = rowShape.reduce(1, *)
        let shape = [rows.count] + rowShape
        let compressible = shape.allSatisfy { $0 > 0 }
        try values.withUnsafeBufferPointer { all in
            let slice = UnsafeBufferPointer(rebasing: all[rows.lowerBound * rowSize ..< rows.upperBound * rowSize])
            if compressible {
                try file.createDataset(name, buffer: slice, shape: shape,
                                       chunks: [min(chunkRows, rows.count)] + rowShape,
                                       gzipLevel: gzipLevel, shuffle: shuffle)
            } else {
                try file.createDataset(name, buffer: slice, shape: shape)
            }
        }
    }
}
