// The streaming state file: a Mamba stack's state written and read back is identical and continues the
// stream exactly as the in-memory state does; the parameter fingerprint changes with the weights; a
// truncated or foreign file is refused naming it.

import CGMTensor
import Foundation
@testable import Inference
import Layers
import Models
import _TestSupport
import XCTest
@testable import Training

final class ForecastStreamFileTests: XCTestCase {
    func testRoundTripContinuesTheStream() throws {
        let dir = try temporaryDirectory(self, name)
        let store = ParameterStore()
        var rng = PhiloxGenerator(seed: 3)
        let config = Mamba2Config(dModel: 8, dState: 8, dConv: 3, expand: 2, headdim: 4, chunk: 4,
                                  learnableInitStates: true, variant: .mes)
        let stack = MambaStack(store, "s", config: config, depth: 2, norm: .layerNorm, rng: &rng)
        let stream = stack.stream(store)
        let x = randomTensor([2, 7, 8], seed: 4)
        let (_, state) = stream.prefill(x)
        let file = ForecastStreamFile(model: "ssm_cgm", parameters: ForecastStreamFile.fingerprint(store), subject: "S0001",
                                      firstTime: 1_767_600_000, lastTime: 1_767_601_800,
                                      state: ForecastStreamState(stacks: ["encoder": state], positions: 7))
        let path = dir + "/stream.h5"
        try file.write(to: path)
        let back = try ForecastStreamFile.read(path)
        XCTAssertEqual(back, file)
        let u = randomTensor([2, 8], seed: 5)
        var a = state, b = try XCTUnwrap(back.state.stacks["encoder"])
        XCTAssertEqual(stream.step(u, &a).scalars, stream.step(u, &b).scalars, "the read state continues bit-identically")

        let before = ForecastStreamFile.fingerprint(store)
        let w = stack.mixers[0].d
        store.setValue(w, Tensor(repeating: 0.5, shape: store.value(w).shape))
        XCTAssertNotEqual(ForecastStreamFile.fingerprint(store), before, "the fingerprint follows the weights")

        let data = try Data(contentsOf: URL(fileURLWithPath: path))
        try data.prefix(data.count / 3).write(to: URL(fileURLWithPath: dir + "/cut.h5"))
        XCTAssertThrowsError(try ForecastStreamFile.read(dir + "/cut.h5")) { XCTAssert("\($0)".contains("cut.h5"), "\($0)") }
        XCTAssertThrowsError(try ForecastStreamFile.read(dir + "/missing.h5")) { XCTAssert("\($0)".contains("missing.h5"), "\($0)") }
    }
}
