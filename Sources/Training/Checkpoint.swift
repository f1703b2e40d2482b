// Checkpoint files (HDF5, schema version 1), written by rank 0 only:
//
//   /                      attributes: format = "cgmtrain-checkpoint", schema_version, created_by,
//                          model_name, layout_hash, parameter_count, config_yaml (resolved config text),
//                          config_hash, manifest_hash (FNV-1a of the dataset's manifest.json),
//                          data_config_hash (the manifest's config_hash), seed, sampler_seed, world_size,
//                          epoch (0-based epoch in progress), sampler_epoch (= epoch: the shuffle is
//                          SplitMix64(sampler_seed + sampler_epoch), so this is the sampler's RNG state),
//                          position (next batch of the epoch), global_step, samples_seen, elapsed_seconds,
//                          val_loss (of the check that wrote this file; NaN for none), learning_rate,
//                          state_json (TrainingState), state_checksum
//   /params/<name>         float32 dataset per parameter, its shape, exact bits; attribute fnv1a64
//   /optimizer             attributes name, step; one float32 dataset per exported state tensor
//                          (exp_avg, exp_avg_sq, step | momentum_buffer, step), flat (store.count,); fnv1a64
//   /scheduler             attributes name + every exported scheduler value (Double)
//   /early_stopping        attributes enabled + best, wait, checks, should_stop, patience, min_delta
//   /preprocessing         optional: the dataset's fitted FeatureSpec, L, H and feature lists, with a
//                          checksum (CheckpointPreprocessing.swift); absent in checkpoints written before it
//
// Files are written with H5File.create (temporary sibling, fsync, rename), so a crash never leaves a
// half-written file under a checkpoint's name. Reading verifies the format, the schema version and every
// checksum, so a truncated or corrupted file is refused with an error naming the file (and the dataset).
// All HDF5 calls run under HDF5Lock (the prefetch thread reads shards concurrently).

import CGMData
import CGMTensor
import Config
import DataParallel
import DelimitedText
import Foundation
import HDF5IO
import Layers

/// Everything a checkpoint holds.
public struct CheckpointContents {
    /// Registry name of the model.
    public var modelName: String
    /// `ParameterFingerprint.hash` of the model's store, 16 hex digits.
    public var layoutHash: String
    /// Resolved config YAML and its hash.
    public var configYAML: String
    public var configHash: String
    /// FNV-1a of the dataset's manifest.json and the manifest's own config_hash.
    public var manifestHash: String
    public var dataConfigHash: String
    /// train.seed (the sampler seed too).
    public var seed: UInt64
    /// Parameters in store order: name, shape, values.
    public var parameters: [(name: String, shape: [Int], values: [Float])]
    /// Optimizer name and exported state (flat tensors).
    public var optimizerName: String
    public var optimizerState: [String: Tensor]
    /// Counters and states.
    public var state: TrainingState
    /// Validation loss of the check that wrote the file (NaN for none).
    public var valLoss: Double
    /// The data preprocessing of the training dataset (nil in checkpoints written before it was recorded).
    public var preprocessing: CheckpointPreprocessing? = nil

    /// Snapshot of a store's parameters (copies).
    public static func parameters(of store: ParameterStore) -> [(name: String, shape: [Int], values: [Float])] {
        store.entries.map { e in
            (e.name, e.shape, Array(UnsafeBufferPointer(start: store.values.pointer + e.offset, count: e.count)))
        }
    }
}

/// A checkpoint that cannot be used; the message names the file and what is wrong.
public struct CheckpointError: Error, CustomStringConvertible {
    public let file: String
    public let message: String
    public init(file: String, _ message: String) {
        self.file = file
        self.message = message
    }
    public var description: String { "checkpoint \(file): \(message)" }
}

/// Reading and writing checkpoint files (layout in the file comment).
public enum Checkpoint {
    /// Format version written and read.
    public static let schemaVersion: Int64 = 1
    static let format = "cgmtrain-checkpoint"

    // MARK: Write

    /// Writes `c` to `path` atomically (temporary sibling, fsync, rename).
    public static func write(_ c: CheckpointContents, to path: String) throws {
        let stateJSON = try c.state.json()
        try HDF5Lock.withLock {
            try H5File.create(path: path) { f in
                let params = try f.createGroup("params")
                for p in c.parameters {
                    let ds = try params.createDataset(p.name, values: p.values, shape: p.shape)
                    try ds.setAttribute("fnv1a64", .string(checksum(p.values)))
                }
                let opt = try f.createGroup("optimizer")
                try opt.setAttribute("name", .string(c.optimizerName))
                try opt.setAttribute("step", .int64(Int64(c.state.globalStep)))
                for key in c.optimizerState.keys.sorted() {
                    let t = c.optimizerState[key]!
                    let values = Array(UnsafeBufferPointer(start: t.pointer, count: t.count))
                    let ds = try opt.createDataset(key, values: values, shape: t.shape)
                    try ds.setAttribute("fnv1a64", .string(checksum(values)))
                }
                let sched = try f.createGroup("scheduler")
                try sched.setAttribute("name", .string(c.state.schedulerName))
                for (k, v) in c.state.scheduler.sorted(by: { $0.key < $1.key }) { try sched.setAttribute(k, .double(v)) }
                let es = try f.createGroup("early_stopping")
                try es.setAttribute("enabled", .int64(c.state.earlyStopping.isEmpty ? 0 : 1))
                for (k, v) in c.state.earlyStopping.sorted(by: { $0.key < $1.key }) { try es.setAttribute(k, .double(v)) }
                if let p = c.preprocessing { try p.write(to: f) }
                for (name, value) in rootAttributes(c, stateJSON: stateJSON) { try f.setAttribute(name, value) }
                try f.setAttribute("state_checksum", .string(stateChecksum(rootAttributes(c, stateJSON: stateJSON))))
            }
        }
    }

    /// The root attributes in write order (the state checksum covers exactly these).
    static func rootAttributes(_ c: CheckpointContents, stateJSON: String, parameterCount: Int? = nil) -> [(String, H5AttributeValue)] {
        let s = c.state
        return [
            ("format", .string(format)), ("schema_version", .int64(schemaVersion)), ("created_by", .string("cgmtrain train")),
            ("model_name", .string(c.modelName)), ("layout_hash", .string(c.layoutHash)),
            ("parameter_count", .int64(Int64(parameterCount ?? c.parameters.reduce(0) { $0 + $1.values.count }))),
            ("config_yaml", .string(c.configYAML)), ("config_hash", .string(c.configHash)),
            ("manifest_hash", .string(c.manifestHash)), ("data_config_hash", .string(c.dataConfigHash)),
            ("seed", .int64(Int64(bitPattern: c.seed))), ("sampler_seed", .int64(Int64(bitPattern: c.seed))),
            ("world_size", .int64(Int64(s.worldSize))), ("epoch", .int64(Int64(s.epoch))),
            ("sampler_epoch", .int64(Int64(s.epoch))), ("position", .int64(Int64(s.position))),
            ("global_step", .int64(Int64(s.globalStep))), ("samples_seen", .int64(Int64(s.samplesSeen))),
            ("elapsed_seconds", .double(s.elapsedSeconds)), ("val_loss", .double(c.valLoss)),
            ("learning_rate", .double(s.learningRate)), ("state_json", .string(stateJSON)),
        ]
    }

    static func stateChecksum(_ attrs: [(String, H5AttributeValue)]) -> String {
        var h = FNV1a64()
        for (k, v) in attrs { h.add("\(k)=\(v)\n") }
        return h.hex
    }

    static func checksum(_ values: [Float]) -> String {
        var h = FNV1a64()
        values.withUnsafeBytes { h.add($0) }
        return h.hex
    }

    // MARK: Read

    /// Reads and verifies `path`: format, schema version, state checksum, every dataset's checksum.
    /// Errors are `CheckpointError`s naming the file (and the dataset or attribute at fault). A file that keeps
    /// libhdf5 busy past `HDF5ReadDeadline` ends the process naming it.
    public static func read(_ path: String) throws -> CheckpointContents {
        guard FileManager.default.fileExists(atPath: path) else { throw CheckpointError(file: path, "no such file") }
        do {
            return try HDF5Lock.withLock { try HDF5ReadDeadline.reading(path, what: "checkpoint") { try readUnlocked(path) } }
        } catch let e as CheckpointError {
            throw e
        } catch let e as HDF5Error {
            throw CheckpointError(file: path, "unreadable (truncated or corrupt?): cannot \(e.operation) '\(e.object)': \(e.message)")
        } catch {
            throw CheckpointError(file: path, "unreadable (truncated or corrupt?): \(error)")
        }
    }

    private static func readUnlocked(_ path: String) throws -> CheckpointContents {
        let f = try H5File.open(path: path)
        defer { f.discard() }
        func fail(_ m: String) -> CheckpointError { CheckpointError(file: path, m) }
        // A dataset cannot hold more values than the file has bytes (checkpoints are written uncompressed):
        // a corrupt shape must not make us allocate gigabytes before HDF5 notices.
        let fileBytes = ((try? FileManager.default.attributesOfItem(atPath: path))?[.size] as? Int) ?? Int.max
        func floats(_ ds: H5Dataset, _ what: String) throws -> H5Array<Float> {
            guard ds.count <= fileBytes / MemoryLayout<Float>.size else {
                throw fail("\(what) has shape \(ds.shape), more values than the file's \(fileBytes) bytes hold: the file is corrupt")
            }
            return try ds.read()
        }
        guard (try? f.stringAttribute("format")) == format else {
            throw fail("not a cgmtrain checkpoint (no format = \"\(format)\" attribute)")
        }
        let version = try f.int64Attribute("schema_version")
        guard version == schemaVersion else {
            throw fail("schema version \(version), this build reads version \(schemaVersion)")
        }
        let stateJSON = try f.stringAttribute("state_json")
        var state: TrainingState
        do { state = try TrainingState.fromJSON(stateJSON) } catch { throw fail("state_json is corrupt: \(TextExcerpt.of("\(error)"))") }
        try CheckpointRetention.validate(topK: state.topK, file: path)
        var c = CheckpointContents(
            modelName: try f.stringAttribute("model_name"), layoutHash: try f.stringAttribute("layout_hash"),
            configYAML: try f.stringAttribute("config_yaml"), configHash: try f.stringAttribute("config_hash"),
            manifestHash: try f.stringAttribute("manifest_hash"), dataConfigHash: try f.stringAttribute("data_config_hash"),
            seed: UInt64(bitPattern: try f.int64Attribute("seed")), parameters: [], optimizerName: "", optimizerState: [:],
            state: state, valLoss: try f.doubleAttribute("val_loss"))
        // The JSON is authoritative; the individual attributes must agree with it (and the checksum with both).
        let parameterCount = try f.int64Attribute("parameter_count")
        let expected = rootAttributes(c, stateJSON: stateJSON, parameterCount: Int(parameterCount))
        for (name, value) in expected {
            let stored = try f.attribute(name)
            guard stored == value || (name == "val_loss" && c.valLoss.isNaN) else {
                throw fail("attribute '\(name)' (\(TextExcerpt.of("\(stored)"))) disagrees with the stored state: the file is corrupt")
            }
        }
        let stored = try f.stringAttribute("state_checksum")
        guard stored == stateChecksum(expected) else {
            throw fail("state checksum mismatch: the file is corrupt")
        }

        let sched = try f.openGroup("scheduler")
        guard try sched.stringAttribute("name") == state.schedulerName else { throw fail("/scheduler name disagrees with the stored state") }
        for (k, v) in state.scheduler where (try? sched.doubleAttribute(k)).map({ $0 == v || ($0.isNaN && v.isNaN) }) != true {
            throw fail("/scheduler attribute '\(k)' disagrees with the stored state: the file is corrupt")
        }
        let es = try f.openGroup("early_stopping")
        for (k, v) in state.earlyStopping where (try? es.doubleAttribute(k)).map({ $0 == v || ($0.isNaN && v.isNaN) }) != true {
            throw fail("/early_stopping attribute '\(k)' disagrees with the stored state: the file is corrupt")
        }

        let params = try f.openGroup("params")
        var byName: [String: (shape: [Int], values: [Float])] = [:]
        for name in try params.members() {
            let ds = try params.openDataset(name)
            let a = try floats(ds, "parameter '\(TextExcerpt.of(name))'")
            guard try ds.stringAttribute("fnv1a64") == checksum(a.values) else {
                throw fail("parameter '\(TextExcerpt.of(name))' fails its checksum: the file is corrupt")
            }
            byName[name] = (a.shape, a.values)
        }
        // Name order here; `apply` matches parameters to the model's store by name.
        c.parameters = byName.keys.sorted().map { ($0, byName[$0]!.shape, byName[$0]!.values) }

        let opt = try f.openGroup("optimizer")
        c.optimizerName = try opt.stringAttribute("name")
        for key in try opt.members() {
            let ds = try opt.openDataset(key)
            let a = try floats(ds, "optimizer state '\(TextExcerpt.of(key))'")
            guard try ds.stringAttribute("fnv1a64") == checksum(a.values) else {
                throw fail("optimizer state '\(TextExcerpt.of(key))' fails its checksum: the file is corrupt")
            }
            c.optimizerState[key] = Tensor(shape: a.shape, scalars: a.values)
        }
        guard parameterCount == Int64(c.parameters.reduce(0) { $0 + $1.values.count }) else {
            throw fail("holds \(c.parameters.reduce(0) { $0 + $1.values.count }) parameter values, its header says \(parameterCount)")
        }
        c.preprocessing = try CheckpointPreprocessing.read(from: f, fail: fail)
        return c
    }
}

// MARK: - Validation and restore

extension CheckpointContents {
    /// Checks that this checkpoint belongs to `modelName` with exactly the parameters of `store` (names and
    /// shapes); the error names the first mismatching parameter in the model's order.
    public func validate(modelName expectedModel: String, store: ParameterStore, file: String) throws {
        guard modelName == expectedModel else {
            throw CheckpointError(file: file, "was written by model '\(TextExcerpt.of(modelName))', this run trains '\(expectedModel)'")
        }
        let saved = Dictionary(parameters.map { ($0.name, $0.shape) }, uniquingKeysWith: { a, _ in a })
        for e in store.entries {
            guard let shape = saved[e.name] else {
                throw CheckpointError(file: file, "has no parameter '\(e.name)' (shape \(e.shape)) of model \(expectedModel): "
                                      + "written by a different model layout")
            }
            guard shape == e.shape else {
                throw CheckpointError(file: file, "parameter '\(e.name)' has shape \(shape) in the checkpoint but "
                                      + "\(e.shape) in the model (different model configuration?)")
            }
        }
        let known = Set(store.entries.map(\.name))
        if let extra = parameters.map(\.name).first(where: { !known.contains($0) }) {
            throw CheckpointError(file: file, "has parameter '\(TextExcerpt.of(extra))', which model \(expectedModel) does not have")
        }
    }

    /// Copies the parameters into `store` (call `validate` first).
    public func applyParameters(to store: ParameterStore) {
        for p in parameters {
            guard let id = store.id(named: p.name) else { continue }
            store.setValue(id, Tensor(shape: p.shape, scalars: p.values))
        }
    }
}
