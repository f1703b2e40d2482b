import ArgumentParser
import CGMTensor
import Foundation
import Layers
import Models
import Optim

/// Trains the toy sequence task end to end (the foundation issue's main job).
struct DemoCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "demo",
        abstract: "Train the toy sequence task (LSTM + Linear) and report test MSE against persistence.")

    @Option(help: "YAML config (see configs/toy.yaml).")
    var config: String = "configs/toy.yaml"

    func run() throws {
        let cfg = try ToyConfig(path: config)
        BLAS.setThreads(1)
        let result = ToyTraining.run(cfg) { step, loss in
            print(String(format: "step %5d  train MSE %.5f", step, loss))
        }
        print(String(format: "test MSE %.5f   persistence (last value) MSE %.5f   (%d samples, %.1f s)",
                     result.testMSE, result.persistenceMSE, cfg.evalSamples, result.seconds))
        if !(result.testMSE < result.persistenceMSE) {
            throw ValidationError("the toy model did not beat persistence: check the engine")
        }
    }
}
