// `cgmtrain explain`: variable importances (VSN weights: static, encoder, decoder; global and by step)
// and temporal importances (SSM-CGM: hidden attention of every stack layer and the light Mamba, per head
// and head-aggregated; TFT: its attention) of a trained tft or ssm_cgm checkpoint on a split, as CSV and
// SVG heatmaps (see ModelExplanation).
//
//   cgmtrain explain --checkpoint runs/ssm24/best.h5 --data data/ssm24 --split test --out explain/ssm24
//
// One process (hidden-attention maps cost O(heads · (L + H)²) memory per window and layer: windows are
// processed a few at a time and averaged).

import ArgumentParser
import CGMData
import CGMSchema
import CGMTensor
import Evaluation
import Foundation
import Inference
import Training

struct ExplainCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "explain",
        abstract: "VSN importances and hidden-attention / attention maps of a tft or ssm_cgm checkpoint, as CSV and SVG.")

    @OptionGroup var input: CheckpointOnSplit
    @Option(help: "Output directory (default: the checkpoint's directory + /explain-<split>).")
    var out: String?
    @Option(help: "Windows explained (the first N of the split).")
    var maxWindows = 64
    @Option(help: "Windows per forward pass.")
    var batchSize = 4
    @Option(help: "Temperature τ of the hidden-attention softmax (eq. 18).")
    var tau = 1.0
    @Option(help: "Steps shown in the attention heatmaps (the last N of the L + H steps).")
    var window = 60

    func validate() throws {
        guard maxWindows >= 1, batchSize >= 1, window >= 1, tau > 0 else {
            throw ValidationError("--max-windows, --batch-size, --window must be ≥ 1 and --tau > 0")
        }
    }

    func run() throws {
        CommandRanks.useOneBLASThreadUnlessSet()
        let outDir = input.outDirectory(out, name: "explain")
        do {
            let dataset = try ShardDataset(directory: input.data)
            let restored = try CheckpointModel(checkpoint: input.checkpoint, shape: DatasetShape(dataset.manifest))
            let s = input.shardSplit
            let n = min(maxWindows, dataset.count(s))
            guard n > 0 else { throw EvaluationError("the \(input.split) split of \(input.data) has no windows") }
            let reader = ShardReader(dataset: dataset, split: s, rank: 0)
            defer { reader.close() }
            let batches = try stride(from: 0, to: n, by: batchSize).map { try reader.read(indices: Array($0..<min($0 + batchSize, n))) }
            let explanation = try ModelExplanation.compute(model: restored.model, batches: batches, tau: tau)
            try explanation.write(toDirectory: outDir, window: window)
            print(try String(contentsOfFile: (outDir as NSString).appendingPathComponent("summary.txt"), encoding: .utf8), terminator: "")
            print("wrote \(outDir)/importance_*.csv|svg, attention/*.csv|svg, summary.txt")
        } catch {
            FileHandle.standardError.write(Data("cgmtrain explain: error: \(error)\n".utf8))
            throw ExitCode(1)
        }
    }
}
