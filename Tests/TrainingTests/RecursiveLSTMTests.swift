// The recursive LSTM baseline (section 4.2): finite-difference gradients of both its training loss
// (teacher-forced expanding window) and its free-running forecast, the layout of the teacher-forced
// sequence, the forecast's feedback loop against a hand-unrolled loop and against teacher forcing on its
// own predictions, registry/config checks, and a Trainer run whose checkpoint restores the same forecasts.

import CGMData
import CGMSchema
import CGMTensor
import Distributed
import Foundation
import Layers
@testable import Models
import _TestSupport
import XCTest
@testable import Training

final class RecursiveLSTMTests: XCTestCase {
    /// A synthetic batch: B windows, L history, H horizon, P = 2 inputs with cgm_scaled at `cgmIndex`.
    static func batch(count b: Int = 2, history l: Int = 4, horizon h: Int = 3, cgmIndex c: Int = 0) -> Batch {
        var batch = Batch(count: b, history: l, horizon: h, pastFeatureCount: 2, futureFeatureCount: 1, staticFeatureCount: 0)
        for w in 0 ..< b {
            batch.indices[w] = w
            for k in 0 ..< l {
                let g = Float(120 + 30 * sin(Double(k + 3 * w) / 3))
                batch.past[(w * l + k) * 2 + c] = FeatureCatalog.scaleCGM(g)
                batch.past[(w * l + k) * 2 + 1 - c] = Float(k) / Float(l) - 0.5 + 0.1 * Float(w)
            }
            for i in 0 ..< h {
                batch.future[w * h + i] = 0.3 - 0.1 * Float(i) + 0.05 * Float(w)
                batch.target[w * h + i] = Float(110 + 20 * cos(Double(i + w)))
            }
        }
        return batch
    }

    /// Central differences of `objective` over every parameter of `model`, against one backward pass.
    func assertParameterGradients(_ model: RecursiveLSTMForecaster, _ message: String,
                                  file: StaticString = #filePath, line: UInt = #line,
                                  _ objective: (Graph) -> Var) {
        let store = model.store
        let g = Graph(training: true, random: RandomContext(seed: 1))
        let out = objective(g)
        store.zeroGradients()
        g.backward(out)
        let eps: Float = 1e-2
        func value() -> Double { Double(objective(Graph(training: true, recording: false, random: RandomContext(seed: 1))).value.scalar) }
        var worst = (excess: -Double.infinity, name: "", index: 0, analytic: 0.0, numeric: 0.0)
        var checked = 0
        for e in store.entries {
            let id = store.id(named: e.name)!
            let analytic = store.gradient(id).scalars
            let original = store.value(id).copy()   // value(_:) may share the store's storage
            for i in 0 ..< original.count {
                var t = original.copy()
                t[flat: i] = original[flat: i] + eps
                store.setValue(id, t)
                let plus = value()
                t[flat: i] = original[flat: i] - eps
                store.setValue(id, t)
                let minus = value()
                store.setValue(id, original)
                let numeric = (plus - minus) / Double(2 * eps), a = Double(analytic[i])
                let excess = abs(a - numeric) - (2e-3 + 1e-2 * max(abs(a), abs(numeric)))
                if excess > worst.excess { worst = (excess, e.name, i, a, numeric) }
                checked += 1
            }
        }
        XCTAssertGreaterThan(checked, 50, file: file, line: line)
        XCTAssertLessThanOrEqual(worst.excess, 0, "\(message): \(worst.name)[\(worst.index)] analytic \(worst.analytic) "
                                 + "vs numeric \(worst.numeric)", file: file, line: line)
    }

    func testGradientsOfLossAndFreeRunningForecastMatchFiniteDifferences() {
        for c in [0, 1] {
            let batch = Self.batch(cgmIndex: c)
            let model = RecursiveLSTMForecaster(inputs: 2, cgmIndex: c, spec: RecursiveLSTMSpec(hidden: 3), seed: 7)
            assertParameterGradients(model, "teacher-forced Huber loss, cgm at \(c)") { g in model.loss(batch, g) }
            // Σ forecast ⊙ R: every path through the feedback loop (prediction → next input) counts.
            let r = randomTensor([batch.count, batch.horizon], seed: 3)
            assertParameterGradients(model, "free-running forecast, cgm at \(c)") { g in
                g.sum(g.mul(model.scaledForecast(batch, g), g.constant(r)))
            }
        }
    }

    func testTeacherForcedSequenceIsTheObservedWindowShiftedByOne() {
        let (l, h) = (4, 3)
        for c in [0, 1] {
            let batch = Self.batch(count: 2, history: l, horizon: h, cgmIndex: c)
            let model = RecursiveLSTMForecaster(inputs: 2, cgmIndex: c, spec: RecursiveLSTMSpec(hidden: 3), seed: 1)
            let (x, y) = model.teacherForcing(batch)
            let steps = l + h - 1
            XCTAssertEqual(x.shape, [2, steps, 2])
            XCTAssertEqual(y.shape, [2, steps])
            for w in 0 ..< 2 {
                for k in 0 ..< l {   // the history rows verbatim
                    XCTAssertEqual(x[flat: (w * steps + k) * 2], batch.past[(w * l + k) * 2])
                    XCTAssertEqual(x[flat: (w * steps + k) * 2 + 1], batch.past[(w * l + k) * 2 + 1])
                }
                for i in 0 ..< h - 1 {   // then observed g_{t+i+1} and the known-future feature i
                    XCTAssertEqual(x[flat: (w * steps + l + i) * 2 + c], FeatureCatalog.scaleCGM(batch.target[w * h + i]))
                    XCTAssertEqual(x[flat: (w * steps + l + i) * 2 + 1 - c], batch.future[w * h + i])
                }
                // y_k is the next step's glucose: history k+1, then the targets g_{t+1} … g_{t+H}.
                for k in 0 ..< l - 1 { XCTAssertEqual(y[flat: w * steps + k], batch.past[(w * l + k + 1) * 2 + c]) }
                for i in 0 ..< h { XCTAssertEqual(y[flat: w * steps + l - 1 + i], FeatureCatalog.scaleCGM(batch.target[w * h + i])) }
            }
        }
    }

    func testForecastFeedsBackItsOwnPredictionsInOrder() {
        let (l, h) = (5, 6)
        for c in [0, 1] {
            let batch = Self.batch(count: 3, history: l, horizon: h, cgmIndex: c)
            let model = RecursiveLSTMForecaster(inputs: 2, cgmIndex: c, spec: RecursiveLSTMSpec(hidden: 4), seed: 11)
            let forecast = model.scaledForecast(batch, Graph(training: false, recording: false)).value
            XCTAssertEqual(forecast.shape, [3, h])

            // 1. A hand-unrolled loop of length-1 LSTM steps on plain tensors.
            let g = Graph(training: false, recording: false)
            let p = model.store.bind(g)
            var s = model.lstm(g.constant(batch.pastTensor), p)
            var hT = s.hT.value, cT = s.cT.value
            var prev = model.head(g.constant(hT), p).value.scalars   // (B, 1) from h_t
            var manual = [[Float]](repeating: [], count: 3)
            for w in 0 ..< 3 { manual[w].append(prev[w]) }
            for i in 1 ..< h {
                var z = [Float](repeating: 0, count: 3 * 2)
                for w in 0 ..< 3 {
                    z[w * 2 + c] = prev[w]
                    z[w * 2 + 1 - c] = batch.future[w * h + i - 1]
                }
                s = model.lstm(g.constant(Tensor(shape: [3, 1, 2], scalars: z)), h0: g.constant(hT), c0: g.constant(cT), p)
                hT = s.hT.value
                cT = s.cT.value
                prev = model.head(g.constant(hT), p).value.scalars
                for w in 0 ..< 3 { manual[w].append(prev[w]) }
            }
            assertClose(forecast, Tensor(shape: [3, h], scalars: manual.flatMap { $0 }), atol: 1e-6, rtol: 1e-5,
                        "feedback loop vs hand unrolling, cgm at \(c)")

            // 2. The free-running forecast is the fixed point of teacher forcing: with the targets replaced by
            //    the model's own forecasts, the teacher-forced one-step predictions from t on reproduce it.
            var own = batch
            own.target = forecast.scalars.map(FeatureCatalog.unscaleCGM)
            let (x, _) = model.teacherForcing(own)
            let tg = Graph(training: false, recording: false)
            let tp = model.store.bind(tg)
            let oneStep = model.head(model.lstm(tg.constant(x), tp).output, tp).value   // (B, L+H−1, 1)
            let steps = l + h - 1
            var fromTeacher: [Float] = []
            for w in 0 ..< 3 { for k in l - 1 ..< steps { fromTeacher.append(oneStep[flat: w * steps + k]) } }
            assertClose(forecast, Tensor(shape: [3, h], scalars: fromTeacher), atol: 2e-5, rtol: 1e-4,
                        "forecast vs teacher forcing on its own predictions, cgm at \(c)")
        }
    }

    func testRegistryAndConfig() throws {
        let root = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent().deletingLastPathComponent()
        let c = try RunConfig.load(path: root.appendingPathComponent("configs/recursive-lstm.yaml").path)
        XCTAssertEqual(c.model.name, "recursive_lstm")
        XCTAssertEqual(c.data?.history, 37)
        XCTAssertEqual(c.data?.horizon, 48)
        let shape = DatasetShape(history: 37, horizon: 48, pastFeatures: ["cgm_scaled", "iob_scaled"],
                                 futureFeatures: ["iob_scaled"], staticFeatures: [],
                                 glucoseChangeScale: (1 ... 48).map { 0.01 * Float($0).squareRoot() })
        let model = try XCTUnwrap(try ModelRegistry.build(c.model, shape: shape, seed: 0) as? RecursiveLSTMForecaster)
        XCTAssertEqual(model.lstm.hiddenSize, 300, "section 4.2: 300 units")
        XCTAssertEqual(model.lstm.inputSize, 2, "CGM + IOB")
        XCTAssertEqual(model.cgmIndex, 0)
        XCTAssertEqual(model.stepScale, 0.01, "the residual head's step is σ₁")
        var unscaled = shape
        unscaled.glucoseChangeScale = nil
        XCTAssertThrowsError(try ModelRegistry.build(c.model, shape: unscaled, seed: 0)) {
            XCTAssertTrue("\($0)".contains("prepare again") && "\($0)".contains("residual: false"), "\($0)")
        }

        var noCGM = shape
        noCGM.pastFeatures = ["cgm", "iob_scaled"]
        XCTAssertThrowsError(try ModelRegistry.build(c.model, shape: noCGM, seed: 0)) {
            XCTAssertTrue("\($0)".contains("cgm_scaled"), "\($0)")
        }
        var mismatched = shape
        mismatched.futureFeatures = ["tod_sin"]
        XCTAssertThrowsError(try ModelRegistry.build(c.model, shape: mismatched, seed: 0)) {
            XCTAssertTrue("\($0)".contains("[\"iob_scaled\"]"), "\($0)")
        }
        XCTAssertThrowsError(try RunConfig.parse(yaml: "model: {name: recursive_lstm, layers: 2}", source: "x.yaml", overrides: [])) {
            XCTAssertTrue("\($0)".contains("layers"), "\($0)")
        }
    }

    func testTrainerTrainsItAndTheCheckpointRestoresItsForecasts() throws {
        let dir = try temporaryDirectory(self)
        let data = dir + "/data", run = dir + "/run"
        let manifest = try TestDataset.make(data, trainPerSubject: 16, valPerSubject: 8)
        let yaml = TestDataset.dataYAML + """

            model: {name: recursive_lstm, hidden: 12}
            train:
              seed: 3
              batch_size: 16
              max_epochs: 4
              optimizer: {name: adam, lr: 0.01}
              log_every_seconds: 1000
            """
        let config = try RunConfig.parse(yaml: yaml, source: "test.yaml", overrides: [])
        let trainer = Trainer(config: config, options: TrainOptions(dataDirectory: data, runDirectory: run),
                              comm: SingleProcessCommunicator(), stop: StopSignal(),
                              progress: Progress(enabled: false, every: 1000, isTerminal: false))
        guard case .completed(reason: "max_epochs", _) = try trainer.run() else { return XCTFail("did not complete") }
        let losses = try String(contentsOfFile: run + "/metrics.jsonl", encoding: .utf8).split(separator: "\n")
            .compactMap { try JSONSerialization.jsonObject(with: Data($0.utf8)) as? [String: Any] }
            .filter { $0["kind"] as? String == "epoch" }.compactMap { $0["val_loss"] as? Double }
        XCTAssertEqual(losses.count, 4)
        XCTAssertLessThan(losses.last!, losses.first!, "validation loss must fall: \(losses)")

        // The checkpoint rebuilds recursive_lstm for the dataset and loads the trained weights (not the seed's).
        let restored = try CheckpointModel(checkpoint: run + "/last.h5", shape: DatasetShape(manifest))
        let model = try XCTUnwrap(restored.model as? RecursiveLSTMForecaster)
        XCTAssertEqual(model.lstm.hiddenSize, 12)
        let saved = try checkpointParameters(run + "/last.h5")
        let fresh = RecursiveLSTMForecaster(inputs: 2, cgmIndex: 0, spec: RecursiveLSTMSpec(hidden: 12), seed: 3)
        XCTAssertEqual(Set(saved.keys), Set(model.store.entries.map(\.name)))
        for e in model.store.entries {
            let id = model.store.id(named: e.name)!
            XCTAssertEqual(bits(model.store.value(id).scalars), bits(saved[e.name]!), e.name)
            XCTAssertNotEqual(model.store.value(id).scalars, fresh.store.value(fresh.store.id(named: e.name)!).scalars,
                              "\(e.name) still holds its initial values")
        }
        let ds = try ShardDataset(directory: data)
        let val = try ShardReader(dataset: ds, split: .val).read(indices: Array(0 ..< ds.count(.val)))
        let point = model.forecast(val, Graph(training: false, recording: false)).point
        XCTAssertEqual(point.shape, [val.count, 6])
        XCTAssertTrue(point.scalars.allSatisfy { $0.isFinite && $0 >= 40 && $0 <= 400 })
    }
}
