// Streaming SSM-CGM (SSMCGMStream): a stream started on L past rows and advanced by k readings forecasts
// what the full forward gives on the window of L + k past rows (same statics, same known-future rows),
// for both Mamba variants, with and without statics / future inputs; the forecast does not change the
// state; and the k readings matter (the forecast from the L-row state differs).

import CGMSchema
import CGMTensor
import Layers
import _TestSupport
import XCTest
@testable import Models

final class SSMCGMStreamTests: XCTestCase {
    private func config(_ variant: Mamba2Variant, inputs: Bool) -> SSMCGMConfig {
        SSMCGMConfig(pastNames: ["cgm", "tod", "hr"], futureNames: inputs ? ["tod", "meal"] : [],
                     statics: inputs ? [.categorical("site", cardinality: 3), .real("age")] : [],
                     spec: SSMCGMSpec(dModel: 8, depth: 2, dState: 4, dConv: 3, expand: 2, headdim: 4, ngroups: 1,
                                      chunk: 3, lightExpand: 1, variant: variant, dropout: 0.1, hiddenContinuous: 3))
    }

    /// Rows lo..<hi of every sequence of `past` (B, total, P), flattened (B, hi − lo, P).
    private func rows(_ past: Tensor, _ lo: Int, _ hi: Int) -> [Float] {
        let total: Int = past.shape[1], p: Int = past.shape[2]
        var out: [Float] = []
        for i in 0..<past.shape[0] {
            let first: Int = (i * total + lo) * p, last: Int = (i * total + hi) * p
            out += past.scalars[first..<last]
        }
        return out
    }

    /// B windows of the past rows lo..<hi of `past` (B, total, P).
    private func window(_ c: SSMCGMConfig, past: Tensor, _ lo: Int, _ hi: Int, horizon h: Int, future: [Float],
                        statics: [Float]) -> Batch {
        let b: Int = past.shape[0], p: Int = past.shape[2]
        var batch = Batch(count: b, history: hi - lo, horizon: h, pastFeatureCount: p, futureFeatureCount: c.futureNames.count,
                          staticFeatureCount: c.statics.count)
        batch.indices = Array(0..<b)
        batch.past = rows(past, lo, hi)
        batch.future = future
        batch.statics = statics
        batch.target = [Float](repeating: 100, count: b * h)
        return batch
    }

    func testStreamEqualsForwardOverEverythingSinceStart() {
        let (b, l, k, h) = (2, 5, 4, 3)
        for variant in Mamba2Variant.allCases {
            for inputs in [true, false] {
                let c = config(variant, inputs: inputs)
                let model = SSMCGMModel(c, seed: 11)
                let past = randomTensor([b, l + k, 3], seed: 21)
                let future = inputs ? randomTensor([b, h, 2], seed: 22).scalars : []
                let statics: [Float] = inputs ? [2, 0.3, 0, -1.2] : []
                let full = window(c, past: past, 0, l + k, horizon: h, future: future, statics: statics)
                let start = window(c, past: past, 0, l, horizon: h, future: future, statics: statics)

                var state = model.streamStart(start)
                let early = model.streamForecast(state, start)
                XCTAssertEqual(model.streamForecast(state, start).quantiles!.scalars, early.quantiles!.scalars,
                               "forecasting must not advance the state")
                let atStart = model.forecast(start, Graph(training: false, recording: false))
                assertClose(early.quantiles!, atStart.quantiles!, atol: 1e-3, rtol: 1e-4, "\(variant) prefill only")

                for j in 0..<k {
                    model.streamStep(&state, past: rows(past, l + j, l + j + 1), start)
                }
                XCTAssertEqual(state.positions, l + k)
                let streamed = model.streamForecast(state, start)
                let reference = model.forecast(full, Graph(training: false, recording: false))
                assertClose(streamed.quantiles!, reference.quantiles!, atol: 1e-3, rtol: 1e-4, "\(variant) inputs \(inputs)")
                assertClose(streamed.point, reference.point, atol: 1e-3, rtol: 1e-4)
                // The k readings changed the forecast (by far more than the tolerance), also without future
                // inputs (the decoder query keeps the blocks' gates open at the decoder steps).
                let moved = zip(streamed.point.scalars, early.point.scalars).map { abs($0 - $1) }.max()!
                XCTAssertGreaterThan(moved, 0.01, "\(variant) inputs \(inputs): stepping readings left the forecast unchanged")
                // Stepping k rows reaches the state a prefill of all L + k rows reaches.
                let prefilled = model.streamStart(full)
                for (name, s) in state.stacks {
                    for (a, p) in zip(s.layers, prefilled.stacks[name]!.layers) {
                        assertClose(Tensor(shape: [a.ssm.count], scalars: a.ssm), Tensor(shape: [p.ssm.count], scalars: p.ssm),
                                    atol: 1e-4, rtol: 1e-4, "\(name) ssm")
                        XCTAssertEqual(a.convWindow.count, p.convWindow.count)
                    }
                }
            }
        }
    }
}
