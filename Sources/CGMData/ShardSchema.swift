// The on-disk layout of a prepared dataset, in one place:
//
//   DIR/manifest.json                      Manifest (schema version, features, per-split shard list, QC)
//   DIR/{train,val,test}/shard-NNNNN.h5    one ShardWriter file per (split, shard index)
//
// Each shard file (schema version 1) holds, for its N windows:
//   /past           float32 (N, L, P)   historical covariates, names in attribute past_features
//   /future         float32 (N, H, F)   known-future covariates, names in attribute future_features
//   /target         float32 (N, H)      glucose (mg/dL) at t+1 ... t+H
//   /statics        float32 (N, S)      static covariates, names in attribute static_features
//   /subject        int32   (N)         index into the newline-separated attribute `subjects`
//   /decision_time  int64   (N)         Unix seconds of the decision time t
//   /extras/<name>  float32 (N, ...)    optional per-window arrays (names in attribute `extras`)
// chunked along N, gzip + shuffle; root attributes listed in `ShardSchema.Attribute`.

import Foundation
import HDF5IO

/// Constants of the prepared-dataset format (bump `version` on any incompatible change).
public enum ShardSchema {
    /// Version written to every shard (`schema_version`) and to the manifest; readers refuse others.
    public static let version = 1

    /// Target size of one chunk of the widest per-window dataset (usually `past`). Small chunks keep
    /// random access cheap (a read inflates whole chunks) while still compressing well.
    public static let targetChunkBytes = 64 << 10

    /// Bounds of the automatic rows (windows) per chunk along N.
    public static let chunkRowsRange = 8...256

    /// Rows per chunk for windows of `rowBytes` bytes in the widest dataset: about `targetChunkBytes`,
    /// clamped to `chunkRowsRange` (e.g. L = 72, P = 8 floats → 28 rows; small windows → 256).
    public static func automaticChunkRows(rowBytes: Int) -> Int {
        min(max(targetChunkBytes / max(rowBytes, 1), chunkRowsRange.lowerBound), chunkRowsRange.upperBound)
    }

    /// Default gzip level.
    public static let defaultGzipLevel = 4

    /// Dataset names inside a shard file.
    public enum Dataset {
        public static let past = "past"
        public static let future = "future"
        public static let target = "target"
        public static let statics = "statics"
        public static let subject = "subject"
        public static let decisionTime = "decision_time"
        /// Group holding one dataset per extra array.
        public static let extrasGroup = "extras"
    }

    /// Root attribute names of a shard file.
    public enum Attribute {
        public static let schemaVersion = "schema_version"
        public static let split = "split"
        public static let shardIndex = "shard_index"
        public static let windowCount = "window_count"
        public static let history = "history"
        public static let horizon = "horizon"
        public static let pastFeatures = "past_features"
        public static let futureFeatures = "future_features"
        public static let staticFeatures = "static_features"
        public static let subjects = "subjects"
        public static let extras = "extras"
        public static let featureSpecJSON = "feature_spec_json"
        public static let configHash = "config_hash"
        public static let splitSeed = "split_seed"
        public static let createdBy = "created_by"
        public static let layout = "layout"
    }

    /// Human-readable description stored in each shard's `layout` attribute.
    public static let layoutDescription = """
        past float32 (N, history, len(past_features)); future float32 (N, horizon, len(future_features)); \
        target float32 (N, horizon) glucose mg/dL at t+1..t+horizon; statics float32 (N, len(static_features)); \
        subject int32 (N) index into subjects; decision_time int64 (N) Unix seconds of t; \
        extras/<name> float32 (N, ...). Name lists are newline-separated.
        """

    /// File name of shard `index`: `shard-NNNNN.h5`.
    public static func shardFileName(index: Int) -> String {
        let digits = String(index)
        return "shard-" + String(repeating: "0", count: max(0, 5 - digits.count)) + digits + ".h5"
    }

    /// Path of a shard relative to the dataset directory: `split/shard-NNNNN.h5`.
    public static func relativePath(split: ShardSplit, index: Int) -> String {
        split.rawValue + "/" + shardFileName(index: index)
    }

    /// Joins names for a newline-separated attribute.
    static func joinNames(_ names: [String]) -> String { names.joined(separator: "\n") }

    /// Splits a newline-separated attribute ("" is the empty list).
    static func splitNames(_ s: String) -> [String] {
        s.isEmpty ? [] : s.split(separator: "\n", omittingEmptySubsequences: false).map(String.init)
    }
}

/// The three splits of a prepared dataset (directory names).
public enum ShardSplit: String, Codable, CaseIterable, Sendable, Comparable {
    case train, val, test

    /// Order train < val < test.
    public static func < (a: ShardSplit, b: ShardSplit) -> Bool {
        allCases.firstIndex(of: a)! < allCases.firstIndex(of: b)!
    }
}

/// Error about a prepared dataset: names the file, the dataset inside it (if any) and the rank (if known).
public struct ShardError: Error, CustomStringConvertible, Equatable {
    /// File on disk (shard, manifest, or the dataset directory).
    public var file: String
    /// Dataset or object inside the file, e.g. "/past".
    public var dataset: String?
    /// Rank that hit the error, when running distributed.
    public var rank: Int?
    /// What is wrong.
    public var message: String

    /// Creates an error value.
    public init(file: String, dataset: String? = nil, rank: Int? = nil, message: String) {
        self.file = file
        self.dataset = dataset
        self.rank = rank
        self.message = message
    }

    /// "<file>[ dataset '<d>'][ (rank r)]: message".
    public var description: String {
        var s = "'\(file)'"
        if let dataset { s += " dataset '\(dataset)'" }
        if let rank { s += " (rank \(rank))" }
        return s + ": " + message
    }

    /// Wraps any error as a ShardError for `file` (an HDF5Error keeps its own file and object).
    static func wrap(_ error: Error, file: String, dataset: String? = nil, rank: Int?) -> ShardError {
        if var e = error as? ShardError {
            if e.rank == nil { e.rank = rank }
            return e
        }
        if let h = error as? HDF5Error {
            return ShardError(file: h.file, dataset: h.object, rank: rank,
                              message: "cannot \(h.operation): \(h.message)")
        }
        return ShardError(file: file, dataset: dataset, rank: rank, message: "\(error)")
    }
}
