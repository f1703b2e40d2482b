import CGMTensor
import Foundation
import Layers
import Models

/// Streaming inference of a Mamba-2 stack (SSM-CGM Table 4: d_model 128, depth 4, d_state 128, d_conv 8,
/// expand 4, headdim 64, MES heads, chunk 128, learnable initial states): the cost of one new CGM reading
/// when the stack keeps its state (`MambaStackStream.step`) against re-running the whole context through the
/// chunked forward (what a stateless forecaster does at every reading), for B sequences at once.
struct StreamBench {
    static let depth = 4

    static func run(harness: Harness, lengths: [Int] = [144, 288, 576], batches: [Int] = [1, 32]) -> String {
        let config = Mamba2Config.ssmCGM()
        let store = ParameterStore()
        var rng = PhiloxGenerator(seed: 0)
        let stack = MambaStack(store, "s", config: config, depth: depth, norm: .layerNorm, dropout: 0, finalNorm: true,
                               rng: &rng)
        let stream = stack.stream(store)
        var table = Table(header: ["Mamba-2 stack, one new reading (depth 4, d_model 128, MES)", "B", "re-run context ms",
                                   "prefill ms", "stream step ms", "re-run ÷ step", "CPU ms re-run / step", "CPU ratio",
                                   "state KiB / sequence"])
        let stateKiB = Double(depth * (config.nheads * config.headdim * config.dState + (config.dConv - 1) * config.convDim))
            * 4 / 1024
        for b in batches {
            for l in lengths.sorted() {
                var r = PhiloxGenerator(seed: 1)
                let x = Tensor(shape: [b, l, config.dModel], scalars: (0..<(b * l * config.dModel)).map { _ in r.nextUniform(-1, 1) })
                let rerun = harness.measure {
                    let g = Graph(training: false, recording: false)
                    _ = stack(g.constant(x), store.bind(g))
                }
                let prefill = b == 1 ? harness.measure { _ = stream.prefill(x) } : nil   // ≈ re-run; B = 1 shows it
                // One new reading after the context of L: the cost must not depend on L.
                var state = stream.prefill(x).state
                let u = Tensor(shape: [b, config.dModel], scalars: (0..<(b * config.dModel)).map { _ in r.nextUniform(-1, 1) })
                let stepMs = 1000 / harness.measure { _ = stream.step(u, &state) }.median
                let stepCPU = cpuMilliseconds(calls: 50) { _ = stream.step(u, &state) }
                let rerunMs = 1000 / rerun.median
                let rerunCPU = cpuMilliseconds(calls: 3) {
                    let g = Graph(training: false, recording: false)
                    _ = stack(g.constant(x), store.bind(g))
                }
                table.rows.append(["L = \(l)", "\(b)", fmt(rerunMs, 2), prefill.map { fmt(1000 / $0.median, 2) } ?? "–", fmt(stepMs, 3),
                                   fmt(rerunMs / stepMs, 0) + "×", fmt(rerunCPU, 2) + " / " + fmt(stepCPU, 3),
                                   fmt(rerunCPU / stepCPU, 0) + "×", fmt(stateKiB, 0)])
            }
        }
        return table.render() + "\n(re-run: the stack's chunked forward over the whole context, inference graph; prefill: the"
            + " same through MambaStackStream, also returning the state; step: one position from the kept conv window and SSM"
            + " state after the context of L (its cost should not depend on L); CPU ms: thread CPU time per call, less sensitive to a loaded machine than the wall"
            + " clock. Tests check step-by-step = forward = prefill + steps.)"
    }

    /// Thread CPU time per call of `body` (mean over `calls` after one warm-up call), ms.
    static func cpuMilliseconds(calls: Int, _ body: () -> Void) -> Double {
        body()
        func cpu() -> Double {
            var ts = timespec()
            clock_gettime(CLOCK_THREAD_CPUTIME_ID, &ts)
            return Double(ts.tv_sec) + Double(ts.tv_nsec) * 1e-9
        }
        let t0 = cpu()
        for _ in 0..<calls { body() }
        return (cpu() - t0) / Double(calls) * 1000
    }
}
