import CGMTensor
import Foundation
import Layers
import Optim

/// Single-process training of the toy task with Adam and MSE. Batches are drawn by index from a
/// seeded stream, the test set is a disjoint index range, so the run is a pure function of the config.
public enum ToyTraining {
    public struct Result {
        public var losses: [Float] = []
        public var testMSE: Float = 0
        public var persistenceMSE: Float = 0
        public var seconds: Double = 0
    }

    public static func run(_ cfg: ToyConfig, log: (Int, Float) -> Void = { _, _ in }) -> Result {
        let start = Date()
        let task = ToySequenceTask(history: cfg.history, horizon: cfg.horizon, seed: cfg.seed)
        let model = ToyForecaster(hidden: cfg.hidden, horizon: cfg.horizon, seed: cfg.seed)
        let adam = Adam(model.store, lr: Double(cfg.learningRate))
        var result = Result()
        let testOffset = 1 << 40   // test indices never collide with training indices
        for step in 1...cfg.steps {
            let indices = (0..<cfg.batchSize).map { (step - 1) * cfg.batchSize + $0 }
            let (x, y) = task.batch(indices)
            let g = Graph(training: true, random: RandomContext(seed: cfg.seed, step: UInt64(step), sampleIndices: indices))
            let loss = g.mseLoss(model(g.constant(x), model.store.bind(g)), g.constant(y))
            model.store.zeroGradients()
            g.backward(loss)
            adam.step()
            result.losses.append(loss.value.scalar)
            if step % cfg.evalEvery == 0 || step == cfg.steps { log(step, loss.value.scalar) }
        }
        let (x, y) = task.batch((0..<cfg.evalSamples).map { testOffset + $0 })
        let g = Graph(training: false, recording: false)
        let pred = model(g.constant(x), model.store.bind(g)).value
        var se = 0.0, sePersist = 0.0
        for i in 0..<cfg.evalSamples {
            let last = x.pointer[i * cfg.history + cfg.history - 1]
            for h in 0..<cfg.horizon {
                let t = y.pointer[i * cfg.horizon + h]
                se += Double((pred.pointer[i * cfg.horizon + h] - t) * (pred.pointer[i * cfg.horizon + h] - t))
                sePersist += Double((last - t) * (last - t))
            }
        }
        let n = Double(cfg.evalSamples * cfg.horizon)
        result.testMSE = Float(se / n)
        result.persistenceMSE = Float(sePersist / n)
        result.seconds = Date().timeIntervalSince(start)
        return result
    }
}
