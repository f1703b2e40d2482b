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
import CGMSchema
import Foundation
import HDF5IO

/// Window geometry, feature lists and the fitted `FeatureSpec` of the dataset a model was trained on.
public struct CheckpointPreprocessing: Equatable {
    /// `Manifest.featureSpecJSON`, verbatim (FeatureSpec.jsonString() output).
    public var featureSpecJSON: String
    /// Window geometry (L, H), feature names in tensor order and extra per-window arrays: what a model is built for.
    public var shape: DatasetShape
    /// The manifest's `config_hash` (the `data:` recipe).
    public var dataConfigHash: String

    public init(featureSpecJSON: String, shape: DatasetShape, dataConfigHash: String) {
        self.featureSpecJSON = featureSpecJSON
        self.shape = shape
        self.dataConfigHash = dataConfigHash
    }

    /// The preprocessing recorded in a prepared dataset's manifest.
    public init(manifest m: Manifest) {
        self.init(featureSpecJSON: m.featureSpecJSON, shape: DatasetShape(m), dataConfigHash: m.configHash)
    }

    /// The error for a checkpoint without recorded preprocessing (written before it was recorded).
    public static func missing(file: String) -> CheckpointError {
        CheckpointError(file: file, "has no recorded data preprocessing (no /preprocessing group: it was written by an "
                        + "older cgmtrain train), so raw data cannot be turned into this model's inputs the way "
                        + "training saw them; retrain with this version (or evaluate it on its prepared dataset with "
                        + "`cgmtrain evaluate`)")
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
        if spec.pastFeatures != shape.pastFeatures { differences.append("past features \(spec.pastFeatures) vs \(shape.pastFeatures)") }
        if spec.futureFeatures != shape.futureFeatures { differences.append("future features \(spec.futureFeatures) vs \(shape.futureFeatures)") }
        if spec.staticFeatures != shape.staticFeatures { differences.append("static features \(spec.staticFeatures) vs \(shape.staticFeatures)") }
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
            ("feature_spec_json", .string(featureSpecJSON)), ("history", .int64(Int64(shape.history))),
            ("horizon", .int64(Int64(shape.horizon))), ("past_features", .string(try json(shape.pastFeatures))),
            ("future_features", .string(try json(shape.futureFeatures))), ("static_features", .string(try json(shape.staticFeatures))),
            ("extras", .string(try json(shape.extras))), ("data_config_hash", .string(dataConfigHash)),
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
        let specJSON = try g.stringAttribute("feature_spec_json"), horizon = Int(try g.int64Attribute("horizon"))
        let p = CheckpointPreprocessing(
            featureSpecJSON: specJSON,
            shape: DatasetShape(history: Int(try g.int64Attribute("history")), horizon: horizon,
                                pastFeatures: try list("past_features"), futureFeatures: try list("future_features"),
                                staticFeatures: try list("static_features"), extras: extras,
                                staticCardinalities: DatasetShape.staticCardinalities(
                                    featureSpecJSON: specJSON, staticFeatures: try list("static_features")),
                                glucoseChangeScale: DatasetShape.glucoseChangeScale(featureSpecJSON: specJSON, horizon: horizon)),
            dataConfigHash: try g.stringAttribute("data_config_hash"))
        guard try g.stringAttribute("fnv1a64") == checksum(try p.attributes()) else {
            throw fail("/preprocessing fails its checksum: the file is corrupt")
        }
        return p
    }
}
