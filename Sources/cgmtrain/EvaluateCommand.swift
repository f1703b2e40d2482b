// `cgmtrain evaluate`: a checkpoint's forecasts on a split of a prepared dataset, against the naive
// last-value baseline on the same windows.
//
//   cgmtrain evaluate --checkpoint checkpoints/seq2seq/best.h5 --data data/prepared --split test --out eval/
//
// Under mpirun the windows are divided across ranks and the forecasts gathered; rank 0 computes the
// metrics (per horizon step: MAE, RMSE, ME, error IQR and range, quantile loss and 10–90 % coverage for
// quantile models, subject-bootstrap 95 % CIs, diabetes_status subgroups, worst-K windows) and writes
// OUT/metrics.json, OUT/per_horizon.csv, OUT/error_vs_horizon.svg and OUT/clarke_grid.svg (30 min ahead), and prints
// the table.

import ArgumentParser
import CGMData
import CGMSchema
import CGMTensor
import Distributed
import Evaluation
import Foundation
import Training

struct EvaluateCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "evaluate",
        abstract: "Evaluate a checkpoint on a split of a prepared dataset against the naive last-value forecast.")

    @OptionGroup var input: CheckpointOnSplit
    @Option(help: "Output directory (default: the checkpoint's directory + /eval-<split>).")
    var out: String?
    @Option(help: "Bootstrap replicates over subjects for the 95 % CIs (0: none).")
    var bootstrap = 1000
    @Option(help: "How many worst windows to list.")
    var worstK = 100
    @Option(help: "Windows per forward pass.")
    var batchSize = 256
    @Option(help: "subjects.csv giving each subject's diabetes_status for the subgroup breakdown (when the data does not encode it).")
    var subjects: String?

    func validate() throws {
        guard bootstrap >= 0, worstK >= 0, batchSize >= 1 else { throw ValidationError("--bootstrap, --worst-k ≥ 0, --batch-size ≥ 1") }
    }

    func run() throws {
        let comm = try Communicators.detect()
        CommandRanks.useOneBLASThreadUnlessSet()
        let outDir = input.outDirectory(out, name: "eval")
        try CommandRanks.stopAllOnError("evaluate", comm) {
            let dataset = try ShardDataset(directory: input.data)
            let restored = try CheckpointModel(checkpoint: input.checkpoint, shape: DatasetShape(dataset.manifest))
            if restored.model.name == "meal_detector" {   // its outputs are meal probabilities, not glucose
                throw CheckpointError(file: input.checkpoint, "holds a meal_detector, whose outputs are meal probabilities, not "
                                      + "glucose forecasts; use `cgmtrain detect-meals --data DIR --split \(input.split)` for its event metrics")
            }
            let table = try subjects.map { try SubjectTable.read(path: $0) }
            let records = try DistributedEvaluator(batchSize: batchSize, subjectTable: table)
                .run(model: restored.model, dataset: dataset, split: input.shardSplit, comm: comm)
            if comm.rank == 0 {
                let options = EvaluationReport.Options(bootstrapReplicates: bootstrap, worstK: worstK)
                let report = EvaluationReport.build(model: restored.model.name, records: records, options: options, info: [
                    "checkpoint": input.checkpoint, "data": input.data, "split": input.split, "ranks": "\(comm.size)",
                    "global_step": "\(restored.contents.state.globalStep)",
                ])
                try report.write(toDirectory: outDir)
                try report.errorPlot(.mae).write(to: (outDir as NSString).appendingPathComponent("error_vs_horizon.svg"))
                try SVGClarkeGrid(records: records, model: restored.model.name)
                    .write(to: (outDir as NSString).appendingPathComponent("clarke_grid.svg"))
                print(report.table())
                print("wrote \(outDir)/metrics.json, per_horizon.csv, error_vs_horizon.svg, clarke_grid.svg")
            }
            try? comm.shutdown()
        }
    }
}
