// The state of a streaming forecast on disk (`cgmtrain forecast --stream FILE`), so the Mamba state and
// conv windows survive between calls. One HDF5 file (written atomically: H5File.create → temp + rename):
//   attributes  version (1), model, parameters (FNV-1a 64 of the model's parameter values: the state
//               belongs to exactly these weights), subject, first_time (Unix s of the first encoder position),
//               last_time (Unix s of the last reading consumed), positions (encoder positions consumed)
//   /stacks/<name>/layer<i>/conv_window   (B, d_conv − 1, conv_dim)  float32
//   /stacks/<name>/layer<i>/ssm           (B, H, P, N) flattened     float32
// Any read error names the file and what is wrong.

import Foundation
import Training
import HDF5IO
import Layers
import Models

/// A streaming forecast's persistent state.
public struct ForecastStreamFile: Equatable {
    public static let version: Int64 = 1
    /// Registry name of the model.
    public var model: String
    /// `ForecastStreamFile.fingerprint` of the model's parameters.
    public var parameters: String
    /// The subject streamed.
    public var subject: String
    /// Unix seconds of the first encoder position and of the last reading consumed.
    public var firstTime: Int64, lastTime: Int64
    /// The model's stream state (its Mamba stacks' states and the positions consumed).
    public var state: ForecastStreamState

    public init(model: String, parameters: String, subject: String, firstTime: Int64, lastTime: Int64,
                state: ForecastStreamState) {
        (self.model, self.parameters, self.subject) = (model, parameters, subject)
        (self.firstTime, self.lastTime, self.state) = (firstTime, lastTime, state)
    }

    /// FNV-1a 64 of every parameter value's bits, as 16 hex digits.
    public static func fingerprint(_ store: ParameterStore) -> String {
        var h = FNV1aWords()
        for e in store.entries { h.add(store.value(store.id(named: e.name)!).scalars) }
        return String(format: "%016llx", h.value)
    }

    /// Writes the file atomically.
    public func write(to path: String) throws {
        try H5File.create(path: path) { f in
            try f.setAttribute("version", .int64(Self.version))
            try f.setAttribute("model", .string(model))
            try f.setAttribute("parameters", .string(parameters))
            try f.setAttribute("subject", .string(subject))
            try f.setAttribute("first_time", .int64(firstTime))
            try f.setAttribute("last_time", .int64(lastTime))
            try f.setAttribute("positions", .int64(Int64(state.positions)))
            let root = try f.createGroup("stacks")
            for name in state.stacks.keys.sorted() {
                let g = try root.createGroup(name)
                for (i, layer) in state.stacks[name]!.layers.enumerated() {
                    let lg = try g.createGroup("layer\(i)")
                    try lg.createDataset("conv_window", values: layer.convWindow)
                    try lg.createDataset("ssm", values: layer.ssm)
                    try lg.setAttribute("batch", .int64(Int64(layer.batch)))
                    try lg.setAttribute("position", .int64(Int64(layer.position)))
                }
            }
        }
    }

    /// Reads a file written by `write`; errors name the file.
    public static func read(_ path: String) throws -> ForecastStreamFile {
        do {
            let f = try H5File.open(path: path)
            defer { try? f.close() }
            let v = try f.int64Attribute("version")
            guard v == version else { throw CheckpointError(file: path, "stream state version \(v), expected \(version)") }
            var stacks: [String: MambaStackStreamState] = [:]
            let root = try f.openGroup("stacks")
            for name in try root.members().sorted() {
                let g = try root.openGroup(name)
                let count = try g.members().count
                var layers: [Mamba2StreamState] = []
                for i in 0..<count {
                    let lg = try g.openGroup("layer\(i)")
                    layers.append(Mamba2StreamState(batch: Int(try lg.int64Attribute("batch")),
                                                    convWindow: try lg.readDataset("conv_window", as: Float.self).values,
                                                    ssm: try lg.readDataset("ssm", as: Float.self).values,
                                                    position: Int(try lg.int64Attribute("position"))))
                }
                stacks[name] = MambaStackStreamState(layers: layers)
            }
            return ForecastStreamFile(model: try f.stringAttribute("model"), parameters: try f.stringAttribute("parameters"),
                                      subject: try f.stringAttribute("subject"), firstTime: try f.int64Attribute("first_time"),
                                      lastTime: try f.int64Attribute("last_time"),
                                      state: ForecastStreamState(stacks: stacks, positions: Int(try f.int64Attribute("positions"))))
        } catch let e as CheckpointError {
            throw e
        } catch {
            throw CheckpointError(file: path, "not a readable stream state: \(error)")
        }
    }
}

/// FNV-1a 64 over float bit patterns.
private struct FNV1aWords {
    var value: UInt64 = 0xCBF2_9CE4_8422_2325
    mutating func add(_ values: [Float]) {
        for x in values {
            var w = UInt64(x.bitPattern)
            for _ in 0..<4 { value = (value ^ (w & 0xFF)) &* 0x0000_0100_0000_01B3; w >>= 8 }
        }
    }
}
