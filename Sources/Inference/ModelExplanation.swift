// `cgmtrain explain`: what a trained TFT or SSM-CGM relied on, aggregated over the windows of a split
// (SSM-CGM §2 "Interpretability", Figure 2, A.10–A.12).
//
//   Variable importance ("what", VSN weights α, eqs. 9 and 13): for static, encoder and decoder variables,
//     • global: each subject's mean weight over its windows (and steps), then the mean over subjects
//       (every subject counts once, as the paper's averages over participants);
//     • by step: the mean over windows at each encoder step (−L+1 … 0) and decoder step (+1 … +H).
//     Every global vector and every by-step row sums to 1 (the VSN weights are a softmax).
//   Temporal importance ("when"):
//     • SSM-CGM: hidden attention (eqs. 17–18, 22–25) of each stack layer and of the light Mamba over the
//       L + H steps — per head α^(h) (eq. 24), their mean, and the head-aggregated ᾱ (eq. 25), each
//       averaged over windows; rows are
//       query steps, columns key steps, every row a distribution over earlier steps;
//     • TFT: the interpretable attention of each decoder step over the L + H steps, averaged over windows.
// Windows are the first `maxWindows` of the split, in order.

import CGMSchema
import CGMTensor
import Evaluation
import Foundation
import Layers
import Models

/// Mean VSN weights of one selection network.
public struct VariableImportance: Equatable, Sendable {
    /// Variable names (columns).
    public var names: [String]
    /// Mean over subjects of each subject's mean weight (sums to 1).
    public var global: [Double]
    /// Mean over windows at each step (rows: steps; each sums to 1). Static: one row.
    public var byStep: [[Double]]
}

/// A window-averaged attention map.
public struct AttentionMap: Equatable, Sendable {
    /// File stem, e.g. "stack_layer0_mean", "light_mamba_head1", "tft_attention".
    public var name: String
    /// Title for plots.
    public var title: String
    /// values[query step][key step].
    public var values: [[Double]]
    /// Step offsets of the rows and columns relative to the decision time (0 = last encoder step).
    public var rowSteps: [Int], columnSteps: [Int]
}

/// The explanation of a model on a split.
public struct ModelExplanation: Equatable, Sendable {
    /// Model name.
    public var model: String
    /// Windows and subjects aggregated.
    public var windows: Int, subjects: Int
    /// Static, encoder and decoder importances.
    public var staticImportance: VariableImportance, encoderImportance: VariableImportance,
               decoderImportance: VariableImportance
    /// Hidden-attention maps (SSM-CGM) or the attention (TFT).
    public var attention: [AttentionMap]

    /// Aggregates `model`'s interpretation over `batches` (TFTModel or SSMCGMModel; others throw).
    public static func compute(model: any ForecastModel, batches: [Batch], tau: Double = 1) throws -> ModelExplanation {
        guard !batches.isEmpty else { throw EvaluationError("explain: no window to explain") }
        var acc: Accumulator?
        for batch in batches {
            let parts: (stat: Tensor, enc: Tensor, dec: Tensor, names: [[String]], maps: [(String, String, Tensor)])
            if let m = model as? SSMCGMModel {
                let e = m.interpret(batch, tau: tau)
                var maps: [(String, String, Tensor)] = []
                func add(_ name: String, _ title: String, _ a: HiddenAttention) {
                    maps.append((name, title, a.alpha))
                    let m = a.alphaMean   // eq. 25: softmax of the head-averaged ψ
                    maps.append((name + "_eq25", title + ", ᾱ (eq. 25)",
                                 Tensor(shape: [m.shape[0], 1, m.shape[1], m.shape[2]], scalars: m.scalars)))
                }
                for (i, a) in e.stackAttention.enumerated() { add("stack_layer\(i)", "Mamba stack layer \(i)", a) }
                add("light_mamba", "Light Mamba", e.lightAttention)
                parts = (e.staticWeights, e.encoderWeights, e.decoderWeights, [e.staticNames, e.pastNames, e.futureNames], maps)
            } else if let m = model as? TFTModel {
                let e = m.interpret(batch, Graph(training: false, recording: false))
                let (b, h, t) = (e.attention.shape[0], e.attention.shape[1], e.attention.shape[2])
                parts = (e.staticWeights, e.encoderWeights, e.decoderWeights, [e.staticNames, e.pastNames, e.futureNames],
                         [("tft_attention", "TFT attention (heads averaged)", Tensor(shape: [b, 1, h, t], scalars: e.attention.scalars))])
            } else {
                throw EvaluationError("explain supports models tft and ssm_cgm, not '\(model.name)'")
            }
            if acc == nil { acc = Accumulator(names: parts.names, history: batch.history, horizon: batch.horizon, maps: parts.maps) }
            acc!.add(batch: batch, stat: parts.stat, enc: parts.enc, dec: parts.dec, maps: parts.maps)
        }
        return acc!.result(model: model.name)
    }

    /// Accumulates sums over windows.
    struct Accumulator {
        let names: [[String]]
        let history: Int, horizon: Int
        /// Per block (static, encoder, decoder): per-subject sums and counts, per-step sums.
        var subjectSums: [[Int: [Double]]] = [[:], [:], [:]], subjectCounts: [[Int: Double]] = [[:], [:], [:]]
        var stepSums: [[Double]]
        var windows = 0
        /// Per map: name, title, heads, rows, columns, sums (heads × rows × cols).
        var maps: [(name: String, title: String, heads: Int, rows: Int, cols: Int, sums: [Double])]

        init(names: [[String]], history: Int, horizon: Int, maps: [(String, String, Tensor)]) {
            self.names = names
            self.history = history
            self.horizon = horizon
            stepSums = [names[0].count, history * names[1].count, horizon * names[2].count].map { [Double](repeating: 0, count: $0) }
            self.maps = maps.map { name, title, t in
                (name, title, t.shape[1], t.shape[2], t.shape[3], [Double](repeating: 0, count: t.shape[1] * t.shape[2] * t.shape[3]))
            }
        }

        mutating func add(batch: Batch, stat: Tensor, enc: Tensor, dec: Tensor, maps newMaps: [(String, String, Tensor)]) {
            let b = batch.count
            for (k, (t, steps)) in [(stat, 1), (enc, history), (dec, horizon)].enumerated() {
                let v = names[k].count
                guard v > 0 else { continue }
                for w in 0..<b {
                    let subject = Int(batch.subject[w])
                    var mean = subjectSums[k][subject] ?? [Double](repeating: 0, count: v)
                    for s in 0..<steps {
                        for i in 0..<v {
                            let x = Double(t.pointer[(w * steps + s) * v + i])
                            mean[i] += x / Double(steps)
                            stepSums[k][s * v + i] += x
                        }
                    }
                    subjectSums[k][subject] = mean
                    subjectCounts[k][subject, default: 0] += 1
                }
            }
            for (m, (_, _, t)) in newMaps.enumerated() {
                let per = maps[m].heads * maps[m].rows * maps[m].cols
                for w in 0..<b { for i in 0..<per { maps[m].sums[i] += Double(t.pointer[w * per + i]) } }
            }
            windows += b
        }

        func result(model: String) -> ModelExplanation {
            func importance(_ k: Int, steps: Int) -> VariableImportance {
                let v = names[k].count
                var global = [Double](repeating: 0, count: v)
                let subjects = subjectSums[k].keys.sorted()
                for s in subjects { for i in 0..<v { global[i] += subjectSums[k][s]![i] / subjectCounts[k][s]! / Double(subjects.count) } }
                let rows = (0..<(v > 0 ? steps : 0)).map { s in (0..<v).map { stepSums[k][s * v + $0] / Double(windows) } }
                return VariableImportance(names: names[k], global: global, byStep: rows)
            }
            let total = history + horizon
            var out: [AttentionMap] = []
            for m in maps {
                let rowSteps = m.rows == total ? Array((1 - history)...horizon) : Array(1...horizon)
                let colSteps = Array((1 - history)...horizon)
                func matrix(_ head: Int?) -> [[Double]] {
                    (0..<m.rows).map { r in
                        (0..<m.cols).map { c in
                            if let head { return m.sums[(head * m.rows + r) * m.cols + c] / Double(windows) }
                            return (0..<m.heads).reduce(0) { $0 + m.sums[($1 * m.rows + r) * m.cols + c] } / Double(windows * m.heads)
                        }
                    }
                }
                if m.heads > 1 {
                    out.append(AttentionMap(name: "\(m.name)_heads_mean", title: "\(m.title): mean of \(m.heads) heads",
                                            values: matrix(nil), rowSteps: rowSteps, columnSteps: colSteps))
                    for h in 0..<m.heads {
                        out.append(AttentionMap(name: "\(m.name)_head\(h)", title: "\(m.title), head \(h)",
                                                values: matrix(h), rowSteps: rowSteps, columnSteps: colSteps))
                    }
                } else {
                    out.append(AttentionMap(name: m.name, title: m.title, values: matrix(0), rowSteps: rowSteps, columnSteps: colSteps))
                }
            }
            return ModelExplanation(model: model, windows: windows, subjects: Set(subjectSums[1].keys).count,
                                    staticImportance: importance(0, steps: 1), encoderImportance: importance(1, steps: history),
                                    decoderImportance: importance(2, steps: horizon), attention: out)
        }
    }
}
