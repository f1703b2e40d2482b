// Streaming Mamba-2 (Mamba2Stream, MambaStackStream) against the chunked forward:
//   • (d_state 10: the eight-lane state update and its scalar tail)
//   • stepping token by token reproduces the block's full forward at every position, standard (2 groups)
//     and MES, L = 13 with chunk 5 (not a multiple), with non-zero learned initial states and B_scale;
//   • prefill of a prefix + steps = forward over the whole sequence, and prefill's final state equals the
//     stepped state (including prefixes shorter than the conv window); prefill + prefill = prefill;
//   • the residual stack (RMSNorm and LayerNorm, final norm) streams to its forward as well.

import CGMTensor
import Foundation
import Layers
import XCTest
import _TestSupport

final class Mamba2StreamTests: XCTestCase {
    private let batch = 2, length = 13

    private func config(_ variant: Mamba2Variant) -> Mamba2Config {
        Mamba2Config(dModel: 8, dState: 10, dConv: 4, expand: 2, headdim: 4, ngroups: variant == .mes ? 1 : 2,
                     chunk: 5, learnableInitStates: true, variant: variant)
    }

    /// A block whose init_states and B_scale are randomized (their defaults, zeros and ones, would hide
    /// a mistake in how the stream starts or scales heads).
    private func block(_ variant: Mamba2Variant, seed: UInt64 = 1) -> (Mamba2Block, ParameterStore) {
        let store = ParameterStore()
        var rng = PhiloxGenerator(seed: seed)
        let b = Mamba2Block(store, "m", config: config(variant), rng: &rng)
        if let s = b.initStates { store.setValue(s, randomTensor(store.value(s).shape, seed: seed + 10, low: -0.5, high: 0.5)) }
        if let s = b.bScale { store.setValue(s, randomTensor(store.value(s).shape, seed: seed + 11, low: 0.5, high: 1.5)) }
        return (b, store)
    }

    private func forward(_ b: Mamba2Block, _ store: ParameterStore, _ u: Tensor) -> Tensor {
        let g = Graph(training: false, recording: false)
        return b(g.constant(u), store.bind(g)).value
    }

    /// Rows t ..< t + n of (B, L, C) as (B, n, C).
    private func positions(_ x: Tensor, _ range: Range<Int>) -> Tensor {
        let (nb, l, c) = (x.shape[0], x.shape[1], x.shape[2])
        var out: [Float] = []
        for b in 0..<nb { out += Array(UnsafeBufferPointer(start: x.pointer + (b * l + range.lowerBound) * c, count: range.count * c)) }
        return Tensor(shape: [nb, range.count, c], scalars: out)
    }

    private func stepAll(_ s: Mamba2Stream, _ u: Tensor, _ state: inout Mamba2StreamState) -> Tensor {
        let (nb, l, c) = (u.shape[0], u.shape[1], u.shape[2])
        var outs = [[Float]](repeating: [], count: nb)
        for t in 0..<l {
            let y = s.step(positions(u, t..<(t + 1)).reshaped([nb, c]), &state)
            for b in 0..<nb { outs[b] += Array(UnsafeBufferPointer(start: y.pointer + b * y.shape[1], count: y.shape[1])) }
        }
        return Tensor(shape: [nb, l, outs[0].count / l], scalars: outs.flatMap { $0 })
    }

    func testSteppingEqualsChunkedForward() {
        for variant in Mamba2Variant.allCases {
            let (b, store) = block(variant)
            let u = randomTensor([batch, length, 8], seed: 3)
            let full = forward(b, store, u)
            let s = b.stream(store)
            var state = s.initialState(batch: batch)
            let stepped = stepAll(s, u, &state)
            XCTAssertEqual(state.position, length)
            assertClose(stepped, full, atol: 2e-5, rtol: 1e-4, "\(variant): token-by-token vs chunked forward")
            XCTAssertGreaterThan(full.scalars.map(abs).max()!, 1e-2, "outputs are not trivially small")
            // The stream really carries history: a fresh state at position 7 gives a different output there.
            var fresh = s.initialState(batch: batch)
            let restarted = s.step(positions(u, 7..<8).reshaped([batch, 8]), &fresh)
            let diff = zip(restarted.scalars, positions(full, 7..<8).scalars).map { abs($0 - $1) }.max()!
            XCTAssertGreaterThan(diff, 1e-3, "\(variant): the carried state has no effect")
        }
    }

    func testPrefillThenStepsEqualsForwardAndSteppedState() {
        for variant in Mamba2Variant.allCases {
            let (b, store) = block(variant, seed: 4)
            let u = randomTensor([batch, length, 8], seed: 5)
            let full = forward(b, store, u)
            let s = b.stream(store)
            // Prefixes shorter than, equal to and longer than the conv window (K − 1 = 3), and across a chunk.
            for cut in [1, 2, 3, 7, 12] {
                let (pre, prefState) = s.prefill(positions(u, 0..<cut))
                assertClose(pre, positions(full, 0..<cut), atol: 2e-5, rtol: 1e-4, "\(variant) prefill(\(cut)) outputs")
                var stepped = s.initialState(batch: batch)
                _ = stepAll(s, positions(u, 0..<cut), &stepped)
                XCTAssertEqual(prefState.position, cut)
                assertClose(Tensor(shape: [prefState.convWindow.count], scalars: prefState.convWindow),
                            Tensor(shape: [stepped.convWindow.count], scalars: stepped.convWindow), atol: 1e-6, rtol: 1e-5,
                            "\(variant) cut \(cut): conv window (in-projection rows; GEMM shapes differ)")
                assertClose(Tensor(shape: [prefState.ssm.count], scalars: prefState.ssm),
                            Tensor(shape: [stepped.ssm.count], scalars: stepped.ssm), atol: 2e-5, rtol: 1e-4,
                            "\(variant) cut \(cut): SSM state of prefill vs steps")
                var state = prefState
                let rest = stepAll(s, positions(u, cut..<length), &state)
                assertClose(rest, positions(full, cut..<length), atol: 2e-5, rtol: 1e-4, "\(variant): prefill(\(cut)) + steps")
                // prefill continues from a state too: prefill(a) then prefill(b) = forward(a ‖ b).
                let tail = s.prefill(positions(u, cut..<length), from: prefState)
                assertClose(tail.output, positions(full, cut..<length), atol: 2e-5, rtol: 1e-4, "\(variant): prefill + prefill")
                XCTAssertEqual(tail.state.position, length)
            }
        }
    }

    func testStackStreamsLikeItsForward() {
        for (norm, variant) in [(MambaNormKind.rmsNorm, Mamba2Variant.standard), (.layerNorm, .mes)] {
            let store = ParameterStore()
            var rng = PhiloxGenerator(seed: 7)
            var c = config(variant)
            c.learnableInitStates = false
            let stack = MambaStack(store, "s", config: c, depth: 3, norm: norm, dropout: 0.2, finalNorm: true, rng: &rng)
            let x = randomTensor([batch, length, 8], seed: 8)
            let g = Graph(training: false, recording: false)
            let full = stack(g.constant(x), store.bind(g)).value
            let s = stack.stream(store)
            var state = s.initialState(batch: batch)
            var outs = [[Float]](repeating: [], count: batch)
            for t in 0..<length {
                let y = s.step(positions(x, t..<(t + 1)).reshaped([batch, 8]), &state)
                for b in 0..<batch { outs[b] += Array(y.scalars[(b * 8)..<((b + 1) * 8)]) }
            }
            assertClose(Tensor(shape: [batch, length, 8], scalars: outs.flatMap { $0 }), full, atol: 2e-5, rtol: 1e-4,
                        "\(norm) stack: steps vs forward")
            XCTAssertEqual(state.position, length)
            let (pre, preState) = s.prefill(positions(x, 0..<6))
            assertClose(pre, positions(full, 0..<6), atol: 2e-5, rtol: 1e-4, "\(norm) stack prefill")
            let tail = s.prefill(positions(x, 6..<length), from: preState)
            assertClose(tail.output, positions(full, 6..<length), atol: 2e-5, rtol: 1e-4, "\(norm) stack prefill + prefill")
            for (a, b) in zip(tail.state.layers, state.layers) {
                assertClose(Tensor(shape: [a.ssm.count], scalars: a.ssm), Tensor(shape: [b.ssm.count], scalars: b.ssm),
                            atol: 2e-5, rtol: 1e-4, "\(norm) stack: per-layer state")
            }
        }
    }
}
