import CGMTensor
import Layers
import Models
import Optim
import XCTest
import _TestSupport

final class Seq2SeqLSTMTests: XCTestCase {
    /// Each training step's graph must be freed: nothing may keep a step's activations alive.
    func testTrainingStepFreesItsGraph() {
        let model = Seq2SeqLSTM(.physio, seed: 0)
        let adam = Adam(model.store, lr: 1e-3)
        weak var lastGraph: Graph?
        for step in 1...3 {
            do {
                let g = Graph(training: true, random: RandomContext(seed: 0, step: UInt64(step)))
                lastGraph = g
                let p = model.store.bind(g)
                let pred = model(encoderInput: g.constant(randomTensor([4, 37, 12], seed: 1)),
                                 decoderInput: g.constant(randomTensor([4, 48, 11], seed: 2)), p)
                let loss = g.huberLoss(pred, g.constant(randomTensor([4, 48], seed: 3)))
                model.store.zeroGradients()
                g.backward(loss)
                adam.step()
            }
            XCTAssertNil(lastGraph, "step \(step): the graph leaked")
        }
    }
}

extension Seq2SeqLSTMTests {
    /// Resident memory must not grow with the number of steps (a leaked activation per step would).
    func testResidentMemoryDoesNotGrowPerStep() throws {
        let model = Seq2SeqLSTM(.physio, seed: 0)
        let adam = Adam(model.store, lr: 1e-3)
        let (xe, xd, y) = (randomTensor([16, 37, 12], seed: 1), randomTensor([16, 48, 11], seed: 2), randomTensor([16, 48], seed: 3))
        func step(_ s: Int) {
            let g = Graph(training: true, random: RandomContext(seed: 0, step: UInt64(s)))
            let loss = g.huberLoss(model(encoderInput: g.constant(xe), decoderInput: g.constant(xd), model.store.bind(g)),
                                   g.constant(y))
            model.store.zeroGradients()
            g.backward(loss)
            adam.step()
        }
        for s in 0..<20 { step(s) }
        let before = try residentMiB()
        for s in 20..<220 { step(s) }
        let growth = try residentMiB() - before
        // One leaked set of LSTM temporaries at B=16 is ~1.4 MiB per step (≈ 280 MiB here).
        XCTAssertLessThan(growth, 24, "RSS grew \(growth) MiB over 200 steps")
    }

    private func residentMiB() throws -> Double {
        let fields = try String(contentsOfFile: "/proc/self/statm", encoding: .utf8).split(separator: " ")
        return Double(fields[1])! * 4096 / 1_048_576
    }
}
