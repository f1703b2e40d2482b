// PhysioSeq2Seq and the digital-twin baseline on real shards: a synthetic cohort prepared in process with
// `data.ode_states: true` (DatasetPreparer on one rank, real HDF5), read back with ShardReader.
// physio_seq2seq gets [past features ⊕ scaled ode_hist] / [future features ⊕ scaled ode_fut], builds from
// configs/physio-seq2seq.yaml only for datasets with the extras, and trains (loss finite and falling over
// a few Adam steps on a tiny set); digital_twin forecasts exactly the stored twin glucose.

import CGMData
import CGMSchema
import CGMTensor
import Distributed
import Foundation
@testable import Models
import Optim
import XCTest
@testable import Training

final class PhysioSeq2SeqTests: XCTestCase {
    /// One prepared dataset for the class.
    nonisolated(unsafe) static var prepared: (dir: URL, manifest: Manifest)?

    override class func tearDown() {
        if let p = prepared { try? FileManager.default.removeItem(at: p.dir) }
        prepared = nil
        super.tearDown()
    }

    /// 6 synthetic subjects (8 h, boluses every 2 h, basal 0.9 U/h) prepared with L = 37, H = 12, ODE states.
    func dataset() throws -> (dir: URL, manifest: Manifest) {
        if let p = Self.prepared { return p }
        let dir = FileManager.default.temporaryDirectory
            .appendingPathComponent("physio-seq2seq-test-\(getpid())-\(UUID().uuidString.prefix(8))")
        try FileManager.default.createDirectory(at: dir, withIntermediateDirectories: true)
        var csv = "subject_id,timestamp,glucose_mg_dl,insulin_bolus_u,insulin_basal_u_per_h\n"
        for s in 0 ..< 6 {
            for k in 0 ..< 96 {
                let g = 130 + 35 * sin(Double(k) / 14 + Double(s))
                csv += "Q\(s),\(1_767_571_200 + k * 300),\(String(format: "%.1f", g)),\(k % 24 == 0 ? "2" : ""),\(k == 0 ? "0.9" : "")\n"
            }
        }
        let path = dir.appendingPathComponent("cgm.csv").path
        try csv.write(toFile: path, atomically: true, encoding: .utf8)
        let config = try DataConfig.parse(["preset": "custom", "history": 37, "horizon": 12, "stride": 6,
                                           "past_features": ["cgm_scaled", "iob_scaled"], "future_features": ["iob_scaled"],
                                           "ode_states": true])
        let out = dir.appendingPathComponent("prepared").path
        let outcome = try DatasetPreparer.run(PrepareOptions(cgmPath: path, outDir: out, subjectsPerShard: 2),
                                              comm: SingleProcessCommunicator(), loadConfig: { config })
        Self.prepared = (dir, outcome.manifest)
        return (dir, outcome.manifest)
    }

    func trainBatch() throws -> Batch {
        let (dir, _) = try dataset()
        let ds = try ShardDataset(directory: dir.appendingPathComponent("prepared").path)
        return try ShardReader(dataset: ds, split: .train).read(indices: Array(0 ..< ds.count(.train)))
    }

    static let packageRoot = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent()
        .deletingLastPathComponent()

    func testConfigBuildsPhysioSeq2SeqOnlyForDatasetsWithODEStates() throws {
        let c = try RunConfig.load(path: Self.packageRoot.appendingPathComponent("configs/physio-seq2seq.yaml").path)
        XCTAssertEqual(c.model.name, "physio_seq2seq")
        XCTAssertEqual(c.data?.odeStates, true)
        XCTAssertEqual(c.data?.history, 37)
        XCTAssertEqual(c.data?.horizon, 48)

        let (_, m) = try dataset()
        let model = try ModelRegistry.build(c.model, shape: DatasetShape(m), seed: 1)
        let physio = try XCTUnwrap(model as? PhysioSeq2SeqForecaster)
        XCTAssertTrue(physio.targetSpace.isResidual, "configs/physio-seq2seq.yaml forecasts residuals")
        XCTAssertEqual(physio.network.config.encoderInputs, 13, "eq. 9: [CGM, IOB, 10 states] + the relative history")
        XCTAssertEqual(physio.network.config.decoderInputs, 11, "eq. 10: [IOB, 10 states]")
        let paper = try RunConfig.load(path: Self.packageRoot.appendingPathComponent("configs/physio-seq2seq-paper.yaml").path)
        let absolute = try XCTUnwrap(try ModelRegistry.build(paper.model, shape: DatasetShape(m), seed: 1) as? PhysioSeq2SeqForecaster)
        XCTAssertEqual(absolute.targetSpace, .absolute, "the paper's head forecasts eq. 11-scaled glucose")
        XCTAssertEqual(absolute.network.config.encoderInputs, 12, "eq. 9: [CGM, IOB, 10 states]")

        var plain = DatasetShape(m)
        plain.extras = [:]
        XCTAssertThrowsError(try ModelRegistry.build(c.model, shape: plain, seed: 1)) {
            XCTAssertTrue("\($0)".contains("extras/ode_hist") && "\($0)".contains("ode_states: true"), "\($0)")
        }
        XCTAssertThrowsError(try DigitalTwinSpec.defaults.forecaster(for: plain)) {
            XCTAssertTrue("\($0)".contains("extras/twin_forecast"), "\($0)")
        }
    }

    func testEncoderAndDecoderInputsAppendScaledStates() throws {
        let batch = try trainBatch()
        let model = PhysioSeq2SeqForecaster(pastFeatures: 2, futureFeatures: 1, spec: PhysioSeq2SeqSpec(hidden: 8),
                                            seed: 1)
        let enc = model.encoderInput(batch).scalars, dec = model.decoderInput(batch).scalars
        XCTAssertEqual(enc.count, batch.count * 37 * 12)
        XCTAssertEqual(dec.count, batch.count * 12 * 11)
        let hist = batch.extras["ode_hist"]!.values, fut = batch.extras["ode_fut"]!.values
        let w = batch.count - 1, k = 20
        let row = w * 37 + k
        XCTAssertEqual(Array(enc[row * 12 ..< row * 12 + 2]), Array(batch.past[row * 2 ..< row * 2 + 2]))
        XCTAssertEqual(Array(enc[row * 12 + 2 ..< row * 12 + 12]), ODEStateScaling.scale(Array(hist[row * 10 ..< row * 10 + 10])))
        let frow = w * 12 + 5
        XCTAssertEqual(dec[frow * 11], batch.future[frow])
        XCTAssertEqual(Array(dec[frow * 11 + 1 ..< frow * 11 + 11]), ODEStateScaling.scale(Array(fut[frow * 10 ..< frow * 10 + 10])))
        XCTAssertTrue(enc.allSatisfy { $0.isFinite && abs($0) < 10 }, "scaled states are O(1)")
    }

    func testPhysioSeq2SeqTrainsOnATinySet() throws {
        let batch = try trainBatch()
        XCTAssertGreaterThan(batch.count, 8)
        let model = PhysioSeq2SeqForecaster(pastFeatures: 2, futureFeatures: 1,
                                            spec: PhysioSeq2SeqSpec(hidden: 16, dropout: 0), seed: 3)
        let adam = Adam(model.store, lr: 1e-2)
        var losses: [Float] = []
        for step in 0 ..< 80 {
            let g = Graph(training: true, random: RandomContext(seed: 0, step: UInt64(step), sampleIndices: batch.indices))
            let loss = model.loss(batch, g)
            losses.append(loss.value.scalar)
            model.store.zeroGradients()
            g.backward(loss)
            adam.step()
        }
        XCTAssertTrue(losses.allSatisfy { $0.isFinite }, "\(losses)")
        XCTAssertLessThan(losses.suffix(5).reduce(0, +) / 5, 0.5 * losses.first!, "loss must fall on a tiny set: \(losses)")
        let forecast = model.forecast(batch, Graph(training: false, recording: false)).point
        XCTAssertEqual(forecast.shape, [batch.count, 12])
        XCTAssertTrue(forecast.scalars.allSatisfy { $0 > 0 && $0.isFinite })
    }

    func testDigitalTwinForecastsTheStoredTwinGlucose() throws {
        let (_, m) = try dataset()
        let batch = try trainBatch()
        let twin = try DigitalTwinSpec.defaults.forecaster(for: DatasetShape(m))
        XCTAssertEqual(twin.name, "digital_twin")
        XCTAssertEqual(twin.store.count, 0, "nothing to train")
        let g = Graph(training: false, recording: false)
        let point = twin.forecast(batch, g).point
        XCTAssertEqual(point.shape, [batch.count, 12])
        XCTAssertEqual(point.scalars, batch.extras["twin_forecast"]!.values)
        // Its loss is eq. 15 on that forecast, finite and positive (a twin is not the truth).
        let loss = twin.loss(batch, g).value.scalar
        XCTAssertTrue(loss.isFinite && loss > 0, "\(loss)")
    }

    func testTrainerRunsPhysioSeq2SeqAndCheckpointsRestoreIt() throws {
        let (dir, m) = try dataset()
        let run = dir.appendingPathComponent("run-\(UUID().uuidString.prefix(6))").path
        let yaml = """
            data:
              preset: custom
              history: 37
              horizon: 12
              stride: 6
              past_features: [cgm_scaled, iob_scaled]
              future_features: [iob_scaled]
              ode_states: true
            model: {name: physio_seq2seq, hidden: 8}
            train:
              seed: 3
              batch_size: 8
              max_epochs: 2
              optimizer: {name: adam, lr: 0.01}
              log_every_seconds: 1000
            """
        let config = try RunConfig.parse(yaml: yaml, source: "test.yaml", overrides: [])
        let progress = Progress(enabled: false, every: 1000, isTerminal: false)
        let trainer = Trainer(config: config, options: TrainOptions(dataDirectory: dir.appendingPathComponent("prepared").path,
                                                                    runDirectory: run),
                              comm: SingleProcessCommunicator(), stop: StopSignal(), progress: progress)
        let outcome = try trainer.run()
        guard case .completed(reason: "max_epochs", let state) = outcome else { return XCTFail("\(outcome)") }
        XCTAssertGreaterThan(state.globalStep, 0)
        // The checkpoint rebuilds physio_seq2seq for the same dataset shape (extras included).
        let restored = try CheckpointModel(checkpoint: run + "/last.h5", shape: DatasetShape(m))
        XCTAssertEqual(restored.model.name, "physio_seq2seq")
    }
}
