// Training throughput of the two Table 1 models at Table 4 sizes on the simulated cohort's inputs
// (configs/ssm-cgm-*.yaml on `cgmtrain simulate` data: 20 past reals, 11 known-future reals, statics
// age, diabetes_status (5 classes incl. unknown), clinical_site (4), subject_id (41), glucose centre/scale):
//   SSM-CGM  d_model 128, 4 MES Mamba-2 blocks (d_state 128, d_conv 8, expand 4, headdim 64, chunk 128),
//            light Mamba (expand 1), dropout 0.2
//   TFT      hidden 128, 4 + 4 LSTM layers, 8 heads, dropout 0.2
// batch 32, H = 12, QuantileLoss {0.1, 0.5, 0.9}, forward + backward + Adam, the same batch reused.
// PyTorch anchors (../shared/anchors.md, one thread, L = 288): pytorch-forecasting TFT (10 covariates)
// 22.6 samples/s; pure-PyTorch Mamba-2 stack 3.9 samples/s (the stack alone, not SSM-CGM).

import CGMSchema
import CGMTensor
import Foundation
import Layers
import Models
import Optim

struct SSMCGMBench {
    static let batch = 32, horizon = 12
    static let past = (0..<20).map { "past_\($0)" }, future = (0..<11).map { "future_\($0)" }
    static let statics: [StaticInput] = [.real("age"), .categorical("diabetes_status", cardinality: 5),
                                                   .categorical("clinical_site", cardinality: 4),
                                                   .categorical("subject_id", cardinality: 41),
                                                   .real("glucose_centre"), .real("glucose_scale")]
    static let anchors: [String: Double] = ["TFT": 22.6, "SSM-CGM": 3.9]

    /// A batch of seeded inputs (category indices within range, glucose 70–250 mg/dL).
    static func batch(length l: Int) -> Batch {
        var b = Batch(count: batch, history: l, horizon: horizon, pastFeatureCount: past.count,
                      futureFeatureCount: future.count, staticFeatureCount: statics.count)
        var rng = PhiloxGenerator(seed: 3, stream: 9)
        b.indices = Array(0..<batch)
        b.past = (0..<(batch * l * past.count)).map { _ in rng.nextUniform(-1, 1) }
        b.future = (0..<(batch * horizon * future.count)).map { _ in rng.nextUniform(-1, 1) }
        b.target = (0..<(batch * horizon)).map { _ in rng.nextUniform(70, 250) }
        b.statics = (0..<(batch * statics.count)).map { k in
            statics[k % statics.count].cardinality.map { Float((k / statics.count) % $0) } ?? rng.nextUniform(-1, 1)
        }
        return b
    }

    /// One training step of `model` on `data` (forward + backward + Adam).
    static func step(_ model: any ForecastModel, _ adam: Adam, _ data: Batch, _ step: UInt64) {
        let g = Graph(training: true, random: RandomContext(seed: 0, step: step, sampleIndices: data.indices))
        let loss = model.loss(data, g)
        model.store.zeroGradients()
        g.backward(loss)
        adam.step()
    }

    /// `--only ssmcgm --profile-steps N`: N SSM-CGM steps at context `length` (for perf), CPU s/step printed.
    static func profile(steps: Int, length: Int) {
        let model = SSMCGMModel(SSMCGMConfig(pastNames: past, futureNames: future, statics: statics), seed: 0)
        let adam = Adam(model.store, lr: 1e-3), data = batch(length: length)
        // The first step first-touches every activation and gradient page (~1.7 GiB of page faults at
        // L = 288); later steps reuse the allocator's blocks, so the steady state is reported apart.
        let cpu0 = processCPUSeconds()
        step(model, adam, data, 1)
        let cpu1 = processCPUSeconds()
        for s in 1..<max(steps, 1) { step(model, adam, data, UInt64(s + 1)) }
        let later = steps > 1 ? fmt((processCPUSeconds() - cpu1) / Double(steps - 1), 3) : "–"
        print("SSM-CGM L = \(length): first step \(fmt(cpu1 - cpu0, 3)) CPU s, then \(later) CPU s/step over \(steps - 1) steps")
    }

    static func run(harness: Harness, lengths: [Int]) -> String {
        var table = Table(header: ["Table 1 model training (B=32, H=12)", "parameters", "samples/s", "ms/step",
                                   "PyTorch anchor (L=288)", "× anchor", "CPU s/step", "samples/CPU-s",
                                   "peak RSS MiB"])
        for l in lengths.sorted() {
            let models: [(String, any ForecastModel)] = [
                ("SSM-CGM", SSMCGMModel(SSMCGMConfig(pastNames: past, futureNames: future, statics: statics), seed: 0)),
                ("TFT", TFTModel(TFTConfig(pastNames: past, futureNames: future, statics: statics), seed: 0)),
            ]
            let data = batch(length: l)
            for (label, model) in models {
                let adam = Adam(model.store, lr: 1e-3)
                var n: UInt64 = 0
                let cpu0 = processCPUSeconds()
                let m = harness.measure {
                    n += 1
                    step(model, adam, data, n)
                }
                // CPU seconds per step over every call (warm-up included): load-robust on a shared machine.
                let cpuPerStep = (processCPUSeconds() - cpu0) / Double(n)
                let s = m.median * Double(batch)
                let anchor = l == 288 ? anchors[label] : nil
                table.rows.append(["\(label), L = \(l)", "\(model.store.count)",
                                   "\(fmt(s, 2)) [\(fmt(m.low * Double(batch), 2))–\(fmt(m.high * Double(batch), 2))]",
                                   fmt(1000 / m.median, 0), anchor.map { fmt($0, 1) } ?? "–",
                                   anchor.map { fmt(s / $0, 2) + "×" } ?? "–", fmt(cpuPerStep, 3),
                                   fmt(Double(batch) / cpuPerStep, 2), fmt(peakRSSMiB(), 0)])
            }
        }
        return table.render() + "\nSSM-CGM's anchor is the pure-PyTorch Mamba-2 stack alone (no VSNs/GRNs), the issue's reference figure."
    }
}
