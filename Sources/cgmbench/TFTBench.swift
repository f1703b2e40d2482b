import Foundation
import CGMTensor
import Layers
import Models
import Optim

/// Training throughput of the TFT baseline at the anchor's setting (`bench-reference/pytorch_models.py`
/// `make_tft`): pytorch-forecasting `TemporalFusionTransformer` with hidden 128, 4 LSTM layers, 8 heads,
/// dropout 0.2, hidden_continuous 8, QuantileLoss at {0.1, 0.5, 0.9}; encoder L = 288, decoder H = 12,
/// 10 time-varying reals (4 known → encoder and decoder, 6 unknown → encoder only) and one static
/// categorical (4 subjects, embedding width 3); batch 32, Adam 1e-3, forward + backward + step with the
/// same batch reused.
struct TFTBench {
    static let batch = 32, history = 288, horizon = 12
    static let known = ["tod_sin", "tod_cos", "dow_sin", "dow_cos"]
    static let unknown = ["glucose", "insulin", "carbs", "heart_rate", "steps", "basal"]
    /// GEMM FLOPs of one training step of this network (3× the forward GEMMs), in GFLOP: the two
    /// 4-layer LSTMs, every GRN/GLU/LayerNorm-adjacent Linear over its rows, the attention projections and
    /// products. Elementwise work is not counted (as in the anchor).
    static var gflopPerStep: Double {
        let (b, l, h, d, hc) = (Double(batch), Double(history), Double(horizon), 128.0, 8.0)
        let (p, f) = (Double(known.count + unknown.count), Double(known.count))
        func lin(_ rows: Double, _ i: Double, _ o: Double) -> Double { 2 * rows * i * o }
        func lstm(_ t: Double) -> Double { 4 * lin(b * t, d + d, 4 * d) }
        // Single-variable GRN (8 → 8 → 8, GLU 8 → 2·128, resample 8 → 128) per variable and row.
        func singleGRN(_ rows: Double) -> Double { lin(rows, hc, hc) * 2 + lin(rows, hc, 2 * d) + lin(rows, hc, d) }
        func flatGRN(_ rows: Double, _ v: Double) -> Double {
            lin(rows, v * hc, v) + lin(rows, v, v) + lin(rows, v, 2 * v) + lin(rows, v * hc, v)
        }
        func grn(_ rows: Double) -> Double { lin(rows, d, d) * 2 + lin(rows, d, 2 * d) }
        let t = l + h
        var fwd = lstm(l) + lstm(h)
        fwd += p * singleGRN(b * l) + flatGRN(b * l, p) + f * singleGRN(b * h) + flatGRN(b * h, f)
        fwd += lin(b * t, d, 2 * d)                                  // post-LSTM GLU
        fwd += grn(b * t)                                            // static enrichment
        fwd += lin(b * h, d, d) + lin(b * (t - 1), d, d) + lin(b * (t - 1), d, d / 8)   // q, k, v
        fwd += 2 * 2 * b * 8 * h * (t - 1) * (d / 8) + lin(b * h, d / 8, d)              // QKᵀ, AV, w_h
        fwd += lin(b * h, d, 2 * d) + grn(b * h) + lin(b * h, d, 2 * d) + lin(b * h, d, 3)
        return 3 * fwd / 1e9
    }

    let network = TFTNetwork(TFTConfig(pastNames: TFTBench.known + TFTBench.unknown, futureNames: TFTBench.known,
                                       statics: [.categorical("subject", cardinality: 4)]), seed: 0)
    let adam: Adam
    let past = TFTBench.normal([batch, history, 10], seed: 1)
    let future = TFTBench.normal([batch, horizon, 4], seed: 2)
    let statics = Tensor(shape: [batch, 1], scalars: (0..<batch).map { Float($0 % 4) })
    let target = TFTBench.normal([batch, horizon], seed: 3)
    private(set) var steps: UInt64 = 0

    init() { adam = Adam(network.store, lr: 1e-3) }

    /// One forward + backward + Adam step; returns the loss.
    @discardableResult
    mutating func step() -> Float {
        steps += 1
        let g = Graph(training: true, random: RandomContext(seed: 0, step: steps))
        let out = network(past: g.constant(past), future: g.constant(future), statics: g.constant(statics),
                          network.store.bind(g))
        let loss = g.quantileLoss(out.prediction, g.constant(target), quantiles: network.config.quantiles,
                                  reduction: .pytorchForecasting)
        network.store.zeroGradients()
        g.backward(loss)
        adam.step()
        return loss.value.scalar
    }

    static func normal(_ shape: [Int], seed: UInt64) -> Tensor {
        var rng = PhiloxGenerator(seed: seed)
        return Tensor(shape: shape, scalars: (0..<Shape.count(shape)).map { _ in rng.nextNormal() })
    }

    /// The engine and pytorch-forecasting's TFT (`bench-reference/pytorch_models.py --model tft`) side by side.
    /// GFLOP/s of both rows use this network's analytic count (the same model's work).
    static func run(harness: Harness, rounds: Int, threads: Int, machine: MachineInfo, torch: TorchReference?,
                    script: String) -> String {
        var bench = TFTBench()
        let cpu0 = processCPUSeconds(), steps0 = bench.steps
        let m = SideBySide.measure(rounds: rounds, harness: harness, samplesPerStep: Double(batch),
                                   reference: torch.map { t in { t.run(script: script, ["--model", "tft", "--no-flops"]) } }) {
            bench.step()
        }
        // Engine CPU seconds per step over every call (warm-up included): on a shared, loaded machine this stays
        // near the quiet-machine wall time while wall-clock rates drop with the competing load.
        let cpuPerStep = (processCPUSeconds() - cpu0) / Double(bench.steps - steps0)
        let flop = gflopPerStep
        var table = Table(header: ["TFT training (L=288, H=12, B=32)", "samples/s", "s/step", "GFLOP/s", "of peak",
                                   "× PyTorch", "peak RSS MiB"])
        func row(_ label: String, _ rate: Double, _ cell: String, _ ratio: String, _ rss: String) {
            let g = rate / Double(batch) * flop
            table.rows.append([label, cell, fmt(Double(batch) / rate, 3), fmt(g, 1), machine.ofPeak(g), ratio, rss])
        }
        row("CGMTrain engine, \(threads) thread(s)", m.engineMedian, SideBySide.cell(m.engine, 1),
            m.ratio.map { fmt($0, 2) + "×" } ?? "–", fmt(peakRSSMiB(), 0))
        row("CGMTrain engine, by CPU time (load-robust)", Double(batch) / cpuPerStep, fmt(Double(batch) / cpuPerStep, 1),
            m.torchMedian.map { fmt(Double(batch) / cpuPerStep / $0, 2) + "×" } ?? "–", "")
        if let t = m.torchMedian {
            row("pytorch-forecasting TFT, same run (\(rounds) rounds, alternating)", t, SideBySide.cell(m.torch, 1), "1.00×",
                fmt(m.torchRSS, 0))
        } else {
            table.rows.append(["PyTorch: pass --torch-python (with pytorch-forecasting)", "–", "–", "–", "–", "–", "–"])
        }
        return table.render() + "\n(GFLOP/s: \(fmt(flop, 1)) analytic GEMM GFLOP per step of this network, for both rows)"
    }
}

/// CPU time (user + system) this process has used, in seconds.
func processCPUSeconds() -> Double {
    var ts = timespec()
    clock_gettime(CLOCK_PROCESS_CPUTIME_ID, &ts)
    return Double(ts.tv_sec) + Double(ts.tv_nsec) * 1e-9
}
