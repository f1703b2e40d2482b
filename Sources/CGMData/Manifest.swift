// Manifest: DIR/manifest.json, the index of a prepared dataset. Pretty-printed with sorted keys and
// snake_case names so it diffs cleanly and reads naturally from Python. `load` validates the schema
// version and that every listed shard exists; shard contents are checked when a reader opens them
// (or all at once by `ShardDataset.verifyShards()`).

import CGMSchema
import Config
import Foundation

/// One shard as listed in the manifest.
public struct ManifestShard: Codable, Equatable, Sendable {
    /// Path relative to the dataset directory, e.g. "train/shard-00000.h5".
    public var file: String
    /// Shard index within its split.
    public var index: Int
    /// Windows in the shard.
    public var windows: Int
    /// Subject names the shard's `subject` dataset indexes into.
    public var subjects: [String]

    /// Creates a shard entry.
    public init(file: String, index: Int, windows: Int, subjects: [String]) {
        self.file = file
        self.index = index
        self.windows = windows
        self.subjects = subjects
    }
}

/// One split: its shards in index order (global window indices run through them in this order).
public struct ManifestSplit: Codable, Equatable, Sendable {
    /// Total windows of the split.
    public var windows: Int
    /// Distinct subjects with a shard in this split, in shard order.
    public var subjects: [String]
    /// Shards in index order.
    public var shards: [ManifestShard]

    /// Creates a split entry; `windows` and `subjects` are derived from `shards`.
    public init(shards: [ManifestShard]) {
        self.shards = shards
        self.windows = shards.reduce(0) { $0 + $1.windows }
        self.subjects = Manifest.unique(shards.flatMap(\.subjects))
    }
}

/// Quality-control summary: counters (summed over jobs) and the window yield.
public struct ManifestQC: Codable, Equatable, Sendable {
    /// Named counters, e.g. readings dropped per rule.
    public var counts: [String: Int]
    /// Fraction of candidate windows kept, as computed by the caller (nil if not supplied).
    public var yield: Double?

    /// Creates a QC summary.
    public init(counts: [String: Int] = [:], yield: Double? = nil) {
        self.counts = counts
        self.yield = yield
    }
}

/// Totals over all splits.
public struct ManifestTotals: Codable, Equatable, Sendable {
    /// Windows in all splits.
    public var windows: Int
    /// Shard files in all splits.
    public var shards: Int
    /// Distinct subjects over all splits.
    public var subjects: Int
}

/// The index of a prepared dataset (`DIR/manifest.json`).
public struct Manifest: Codable, Equatable, Sendable {
    /// File name inside the dataset directory.
    public static let fileName = "manifest.json"

    /// Format version; must equal `ShardSchema.version` to be read.
    public var schemaVersion: Int
    /// Producer string.
    public var createdBy: String
    /// Hash of the preparing configuration.
    public var configHash: String
    /// Seed of the split.
    public var splitSeed: Int
    /// History length L.
    public var history: Int
    /// Horizon H.
    public var horizon: Int
    /// Past feature names, in tensor order.
    public var pastFeatures: [String]
    /// Known-future feature names, in tensor order.
    public var futureFeatures: [String]
    /// Static feature names, in tensor order.
    public var staticFeatures: [String]
    /// Extra per-window arrays: name → per-window shape.
    public var extras: [String: [Int]]
    /// Feature spec (scaling constants) JSON, verbatim.
    public var featureSpecJSON: String
    /// QC counters and yield.
    public var qc: ManifestQC
    /// Distinct subjects over all splits (train, val, test shards in order); `Batch.subject` indexes this.
    public var subjects: [String]
    /// Per split (keys "train", "val", "test"; all three present, possibly empty).
    public var splits: [String: ManifestSplit]
    /// Totals.
    public var totals: ManifestTotals
    /// With ODE states: what the twin was fed over the horizon (`basal_only` or `announced`, see
    /// `TwinFutureInputs`); absent (nil) for datasets without ODE states and for earlier manifests.
    public var twinFutureInputs: String?
    /// Source of the `meal_flag` covariate when it is not the data's meal events (`prepare --meal-detector`:
    /// the detector checkpoint, its checksum, θ and ρ); absent otherwise.
    public var mealFlagSource: String?
    /// Optional features (`?name` in the config) left out because the data could not give them, with why;
    /// absent when none were.
    public var droppedFeatures: [DroppedFeature]?

    enum CodingKeys: String, CodingKey {
        case schemaVersion = "schema_version", createdBy = "created_by", configHash = "config_hash"
        case splitSeed = "split_seed", history, horizon, pastFeatures = "past_features"
        case futureFeatures = "future_features", staticFeatures = "static_features", extras
        case featureSpecJSON = "feature_spec_json", qc, subjects, splits, totals
        case twinFutureInputs = "twin_future_inputs"
        case mealFlagSource = "meal_flag_source"
        case droppedFeatures = "dropped_features"
    }

    /// Builds a manifest from shard summaries (any order) and provenance. Throws if the summaries disagree
    /// on L, H, feature names or extras, or list a (split, index) twice.
    public init(summaries: [ShardSummary], metadata: ShardMetadata, qc: ManifestQC) throws {
        let sorted = summaries.sorted { ($0.split, $0.index) < ($1.split, $1.index) }
        guard let first = sorted.first else {
            throw ShardError(file: Manifest.fileName, message: "no shards to list: the job list was empty")
        }
        for s in sorted {
            var diffs: [String] = []
            if s.history != first.history { diffs.append("history \(s.history) vs \(first.history)") }
            if s.horizon != first.horizon { diffs.append("horizon \(s.horizon) vs \(first.horizon)") }
            if s.pastFeatures != first.pastFeatures {
                diffs.append("past features \(s.pastFeatures) vs \(first.pastFeatures)")
            }
            if s.futureFeatures != first.futureFeatures {
                diffs.append("future features \(s.futureFeatures) vs \(first.futureFeatures)")
            }
            if s.staticFeatures != first.staticFeatures {
                diffs.append("static features \(s.staticFeatures) vs \(first.staticFeatures)")
            }
            if s.extras != first.extras { diffs.append("extras \(s.extras) vs \(first.extras)") }
            if !diffs.isEmpty {
                throw ShardError(file: s.relativePath, message: "shard disagrees with \(first.relativePath): "
                                 + diffs.joined(separator: "; "))
            }
        }
        for (a, b) in zip(sorted, sorted.dropFirst()) where a.split == b.split && a.index == b.index {
            throw ShardError(file: a.relativePath, message: "shard written twice (duplicate job)")
        }
        var splits: [String: ManifestSplit] = [:]
        for split in ShardSplit.allCases {
            splits[split.rawValue] = ManifestSplit(shards: sorted.filter { $0.split == split }.map {
                ManifestShard(file: $0.relativePath, index: $0.index, windows: $0.windowCount, subjects: $0.subjects)
            })
        }
        let allSubjects = Manifest.unique(ShardSplit.allCases.flatMap { splits[$0.rawValue]!.subjects })
        self.schemaVersion = ShardSchema.version
        self.createdBy = metadata.createdBy
        self.configHash = metadata.configHash
        self.splitSeed = metadata.splitSeed
        self.history = first.history
        self.horizon = first.horizon
        self.pastFeatures = first.pastFeatures
        self.futureFeatures = first.futureFeatures
        self.staticFeatures = first.staticFeatures
        self.extras = first.extras
        self.featureSpecJSON = metadata.featureSpecJSON
        self.twinFutureInputs = metadata.twinFutureInputs
        self.mealFlagSource = metadata.mealFlagSource
        self.droppedFeatures = metadata.droppedFeatures
        self.qc = qc
        self.subjects = allSubjects
        self.splits = splits
        self.totals = ManifestTotals(windows: sorted.reduce(0) { $0 + $1.windowCount }, shards: sorted.count,
                                     subjects: allSubjects.count)
    }

    /// The entry of `split` (empty if absent).
    public func split(_ split: ShardSplit) -> ManifestSplit {
        splits[split.rawValue] ?? ManifestSplit(shards: [])
    }

    // MARK: JSON

    /// Pretty-printed JSON with sorted keys and a trailing newline.
    public func encoded() throws -> Data {
        let encoder = JSONEncoder()
        encoder.outputFormatting = [.prettyPrinted, .sortedKeys, .withoutEscapingSlashes]
        var data = try encoder.encode(self)
        data.append(0x0A)
        return data
    }

    /// Writes `DIR/manifest.json` atomically (temporary file, then rename).
    public func write(toDirectory dir: String) throws {
        let path = (dir as NSString).appendingPathComponent(Manifest.fileName)
        do {
            try encoded().write(to: URL(fileURLWithPath: path), options: .atomic)
        } catch {
            throw ShardError(file: path, message: "cannot write manifest: \(error)")
        }
    }

    /// Reads and validates `DIR/manifest.json`: schema version, consistent counts, every shard file present.
    /// Errors name the manifest or the missing shard file.
    public static func load(_ dir: String) throws -> Manifest {
        let path = (dir as NSString).appendingPathComponent(fileName)
        guard FileManager.default.fileExists(atPath: path) else {
            throw ShardError(file: path, message: "no manifest: '\(dir)' is not a prepared dataset directory")
        }
        let data: Data
        do {
            data = try Data(contentsOf: URL(fileURLWithPath: path))
        } catch {
            throw ShardError(file: path, message: "cannot read manifest: \(error)")
        }
        return try parse(data, directory: dir, path: path)
    }

    /// Decodes and validates the bytes of `DIR/manifest.json` (at `path`); see `load`. The bytes are untrusted:
    /// every failure is a ShardError naming `path`, quoting at most a short excerpt of the file.
    public static func parse(_ data: Data, directory dir: String, path: String) throws -> Manifest {
        // Check the version before decoding the rest, so a future format fails with the right message.
        struct VersionProbe: Decodable {
            let schemaVersion: Int?
            enum CodingKeys: String, CodingKey { case schemaVersion = "schema_version" }
        }
        guard let probe = try? JSONDecoder().decode(VersionProbe.self, from: data) else {
            throw ShardError(file: path, message: "not a JSON object")
        }
        guard let version = probe.schemaVersion else { throw ShardError(file: path, message: "no schema_version") }
        guard version == ShardSchema.version else {
            throw ShardError(file: path, message: "schema version \(version), this build reads version "
                             + "\(ShardSchema.version); re-run prepare")
        }
        let manifest: Manifest
        do {
            manifest = try JSONDecoder().decode(Manifest.self, from: data)
        } catch {
            throw ShardError(file: path, message: "malformed manifest: \(TextExcerpt.of("\(error)", limit: 400))")
        }
        try manifest.validate(directory: dir, manifestPath: path)
        return manifest
    }

    /// Structural checks plus existence of each shard file.
    func validate(directory dir: String, manifestPath path: String) throws {
        guard history > 0, horizon > 0 else {
            throw ShardError(file: path, message: "history \(history) and horizon \(horizon) must be positive")
        }
        for split in ShardSplit.allCases {
            let entry = self.split(split)
            let sum = entry.shards.reduce(0) { $0 + $1.windows }
            guard sum == entry.windows, entry.shards.allSatisfy({ $0.windows >= 0 }) else {
                throw ShardError(file: path, message: "split \(split.rawValue) lists \(entry.windows) windows but "
                                 + "its shards hold \(sum)")
            }
            for shard in entry.shards {
                // Names read from the file: only the exact name prepare gives the shard, inside the directory.
                guard shard.index >= 0, shard.file == ShardSchema.relativePath(split: split, index: shard.index) else {
                    throw ShardError(file: path, message: "split \(split.rawValue) lists the shard file "
                                     + "'\(TextExcerpt.of(shard.file))', not the name prepare gives shard \(shard.index) "
                                     + "('\(ShardSchema.relativePath(split: split, index: max(0, shard.index)))')")
                }
                let shardPath = (dir as NSString).appendingPathComponent(shard.file)
                guard FileManager.default.fileExists(atPath: shardPath) else {
                    throw ShardError(file: shardPath, message: "shard listed in \(path) is missing")
                }
            }
        }
    }

    /// Distinct elements in first-appearance order.
    static func unique(_ names: [String]) -> [String] {
        var seen = Set<String>()
        return names.filter { seen.insert($0).inserted }
    }
}
