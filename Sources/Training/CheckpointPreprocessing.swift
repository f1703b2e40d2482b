// The data preprocessing a checkpoint's model was trained with, recorded so that `cgmtrain forecast` can
// turn raw CSV data into model inputs exactly as `prepare` did, without the prepared dataset:
//
//   /preprocessing         attributes feature_spec_json (the manifest's fitted FeatureSpec, verbatim),
//                          history (L), horizon (H), past_features, future_features, static_features
//                          (JSON arrays of names, tensor order), extras (JSON object name → per-window
//                          shape), data_config_hash (the manifest's config_hash), fnv1a64 (checksum of
//                          every other attribute, "name=value\n" in this order)
//
// The group is optional within schema version 1: checkpoints written before it existed read back with
// `preprocessing == nil` (training and `--resume` do not need it; `forecast` refuses them by name).

import CGMData
import Foundation
import HDF5IO

/// Window geometry, feature lists and the fitted `FeatureSpec` of the dataset a model was trained on.
public struct CheckpointPreprocessing: Equatable {
    /// `Manifest.featureSpecJSON`, verbatim (FeatureSpec.jsonString() output).
    public var featureSpecJSON: String
    /// History L and horizon H (steps).
    public var history: Int
    public var horizon: Int
    /// Feature names in tensor order.
    public var pastFeatures: [String]
    public var futureFeatures: [String]
    public var staticFeatures: [String]
    /// Extra per-window arrays of the dataset: name → per-window shape.
    public var extras: [String: [Int]]
    /// The manifest's `config_hash` (the `data:` recipe).
    public var dataConfigHash: String

    public init(featureSpecJSON: String, history: Int, horizon: Int, pastFeatures: [String], futureFeatures: [String],
                staticFeatures: [String], extras: [String: [Int]] = [:], dataConfigHash: String) {
        self.featureSpecJSON = featureSpecJSON
        self.history = history
        self.horizon = horizon
        self.pastFeatures = pastFeatures
        self.futureFeatures = futureFeatures
        self.staticFeatures = staticFeatures
        self.extras = extras
        self.dataConfigHash = dataConfigHash
    }

    /// The preprocessing recorded in a prepared dataset's manifest.
    public init(manifest m: Manifest) {
        self.init(featureSpecJSON: m.featureSpecJSON, history: m.history, horizon: m.horizon, pastFeatures: m.pastFeatures,
                  futureFeatures: m.futureFeatures, staticFeatures: m.staticFeatures, extras: m.extras,
                  dataConfigHash: m.configHash)
    }

    /// The error for a checkpoint without recorded preprocessing (written before it was recorded).
    public static func missing(file: String) -> CheckpointError {
        CheckpointError(file: file, "has no recorded data preprocessing (no /preprocessing group: it was written by an "
                        + "older cgmtrain train), so raw data cannot be turned into this model's inputs the way "
                        + "training saw them; retrain with this version (or evaluate it on its prepared dataset with "
                        + "`cgmtrain evaluate`)")
    }

    /// The dimensions a model is built for.
    public var shape: DatasetShape {
        DatasetShape(history: history, horizon: horizon, pastFeatures: pastFeatures, futureFeatures: futureFeatures,
                     staticFeatures: staticFeatures, extras: extras)
    }

    /// The fitted spec, decoded and checked against the recorded geometry (errors name `file`).
    public func featureSpec(file: String) throws -> FeatureSpec {
        let spec: FeatureSpec
        do {
            spec = try FeatureSpec(jsonString: featureSpecJSON)
        } catch {
            throw CheckpointError(file: file, "its recorded feature spec (/preprocessing feature_spec_json) cannot be "
                                  + "decoded: \(error)")
        }
        var differences: [String] = []
        if spec.pastFeatures != pastFeatures { differences.append("past features \(spec.pastFeatures) vs \(pastFeatures)") }
        if spec.futureFeatures != futureFeatures { differences.append("future features \(spec.futureFeatures) vs \(futureFeatures)") }
        if spec.staticFeatures != staticFeatures { differences.append("static features \(spec.staticFeatures) vs \(staticFeatures)") }
        guard differences.isEmpty else {
            throw CheckpointError(file: file, "its recorded feature spec disagrees with its recorded feature lists: "
                                  + differences.joined(separator: "; "))
        }
        return spec
    }

    // MARK: HDF5

    static let group = "preprocessing"

    /// The attributes in write order (the checksum covers exactly these).
    func attributes() throws -> [(String, H5AttributeValue)] {
        let encoder = JSONEncoder()
        encoder.outputFormatting = [.sortedKeys, .withoutEscapingSlashes]
        func json<T: Encodable>(_ v: T) throws -> String { String(decoding: try encoder.encode(v), as: UTF8.self) }
        return [
            ("feature_spec_json", .string(featureSpecJSON)), ("history", .int64(Int64(history))),
            ("horizon", .int64(Int64(horizon))), ("past_features", .string(try json(pastFeatures))),
            ("future_features", .string(try json(futureFeatures))), ("static_features", .string(try json(staticFeatures))),
            ("extras", .string(try json(extras))), ("data_config_hash", .string(dataConfigHash)),
        ]
    }

    static func checksum(_ attrs: [(String, H5AttributeValue)]) -> String {
        var h = FNV1a64()
        for (k, v) in attrs { h.add("\(k)=\(v)\n") }
        return h.hex
    }

    /// Writes the `/preprocessing` group into `file`.
    func write(to file: H5File) throws {
        let g = try file.createGroup(Self.group)
        let attrs = try attributes()
        for (name, value) in attrs { try g.setAttribute(name, value) }
        try g.setAttribute("fnv1a64", .string(Self.checksum(attrs)))
    }

    /// Reads `/preprocessing` from `file` (nil when the checkpoint predates it); `fail` makes the error.
    static func read(from file: H5File, fail: (String) -> CheckpointError) throws -> CheckpointPreprocessing? {
        guard try file.exists(group) else { return nil }
        let g = try file.openGroup(group)
        let decoder = JSONDecoder()
        func list(_ name: String) throws -> [String] {
            do { return try decoder.decode([String].self, from: Data(try g.stringAttribute(name).utf8)) } catch let e as HDF5Error {
                throw e
            } catch {
                throw fail("/preprocessing attribute '\(name)' is not a JSON list of names: the file is corrupt")
            }
        }
        let extrasText = try g.stringAttribute("extras")
        guard let extras = try? decoder.decode([String: [Int]].self, from: Data(extrasText.utf8)) else {
            throw fail("/preprocessing attribute 'extras' is not a JSON object of shapes: the file is corrupt")
        }
        let p = CheckpointPreprocessing(
            featureSpecJSON: try g.stringAttribute("feature_spec_json"), history: Int(try g.int64Attribute("history")),
            horizon: Int(try g.int64Attribute("horizon")), pastFeatures: try list("past_features"),
            futureFeatures: try list("future_features"), staticFeatures: try list("static_features"), extras: extras,
            dataConfigHash: try g.stringAttribute("data_config_hash"))
        guard try g.stringAttribute("fnv1a64") == checksum(try p.attributes()) else {
            throw fail("/preprocessing fails its checksum: the file is corrupt")
        }
        return p
    }
}
