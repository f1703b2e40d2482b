import CGMTensor
import Models
import XCTest

/// The foundation issue's end-to-end check: a 2-layer model (LSTM + Linear) learns the toy
/// sequence task to a stated loss, deterministically.
final class ToyTrainingTests: XCTestCase {
    private var config: ToyConfig {
        var c = ToyConfig()
        c.steps = 600
        c.evalSamples = 256
        return c
    }

    func testLearnsToyTaskToStatedLoss() {
        let r = ToyTraining.run(config)
        // Stated target: test MSE below 0.02 (persistence scores ≈ 0.16 on this task).
        XCTAssertLessThan(r.testMSE, 0.02, "toy test MSE \(r.testMSE)")
        XCTAssertLessThan(r.testMSE, r.persistenceMSE / 5)
        XCTAssertLessThan(r.losses.suffix(50).reduce(0, +) / 50, r.losses.prefix(50).reduce(0, +) / 50 / 3)
    }

    func testSameSeedSameBits() {
        var c = config
        c.steps = 40
        let a = ToyTraining.run(c), b = ToyTraining.run(c)
        XCTAssertEqual(a.losses, b.losses)
        XCTAssertEqual(a.testMSE.bitPattern, b.testMSE.bitPattern)
        c.seed += 1
        XCTAssertNotEqual(ToyTraining.run(c).losses, a.losses)
    }

    func testConfigErrorsNameTheKey() {
        XCTAssertThrowsError(try ToyConfig(yaml: "steps: 10\nlearnig_rate: 0.1", source: "t.yaml")) {
            XCTAssert("\($0)".hasPrefix("t.yaml: learnig_rate is not a known key"), "\($0)")
        }
        XCTAssertThrowsError(try ToyConfig(yaml: "steps: ten", source: "t.yaml")) {
            XCTAssertEqual("\($0)", "t.yaml: steps must be an integer (got 'ten')")
        }
        XCTAssertThrowsError(try ToyConfig(yaml: "hidden: 0", source: "t.yaml")) {
            XCTAssertEqual("\($0)", "t.yaml: hidden must be ≥ 1 (got 0)")
        }
    }
}
