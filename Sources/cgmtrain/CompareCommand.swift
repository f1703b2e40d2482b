// `cgmtrain compare`: several checkpoints side by side on one split of one prepared dataset, as Table 2
// of PhysioSeq2Seq, with the naive last-value baseline always included.
//
//   mpirun -np 2 cgmtrain compare --data data/physio --split test --out compare/ \
//       --checkpoint "Digital Twin=runs/twin/best.h5" --checkpoint "Seq2Seq - ODE=runs/seq2seq/best.h5" \
//       --checkpoint "Seq2Seq + ODE=runs/physio/best.h5" [--subjects data/cohort/subjects.csv]
//
// Every model is evaluated like `evaluate` does it (DistributedEvaluator: windows divided across ranks,
// records gathered and ordered by window, so the result does not depend on the number of ranks). The table
// is computed on the intersection of windows every model can evaluate (all values finite); how many windows
// were dropped, and for which model's non-finite forecasts, is printed and stored. A checkpoint of the
// `naive` model is checked to equal the built-in baseline bit for bit and shown as the "Naive Baseline" row.
// Rank 0 prints the tables (RMSE/MAE/ME at the selected horizons; IQR and [min, max]; independent and shared
// worst-K) and writes OUT/compare.json, compare.csv, compare_per_horizon.csv, compare_{rmse,mae,me}.svg,
// compare_worst_shared.csv and compare_worst_independent.csv.

import ArgumentParser
import CGMData
import CGMSchema
import CGMTensor
import Distributed
import Evaluation
import Foundation
import Models
import Training

struct CompareCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "compare",
        abstract: "Compare checkpoints side by side (Table 2 of PhysioSeq2Seq) on their shared evaluable windows.",
        discussion: """
        Each --checkpoint is LABEL=PATH or PATH (label: the model's name). The naive last-value baseline is \
        always included. Writes OUT/compare.csv (selected horizons), compare_per_horizon.csv (every step), \
        compare_{rmse,mae,me}.svg (error against horizon), compare_worst_shared.csv, \
        compare_worst_independent.csv and compare.json.
        """)

    @Option(name: .customLong("checkpoint"), parsing: .singleValue,
            help: ArgumentHelp("A model to compare, LABEL=PATH or PATH (repeatable; table rows in this order).",
                               valueName: "[label=]path"))
    var checkpoints: [String] = []
    @Option(help: "Prepared dataset directory (every model is evaluated on it).")
    var data: String
    @Option(help: "Split: train, val or test.")
    var split = "test"
    @Option(help: "Output directory.")
    var out: String
    @Option(help: "How many worst segments to list (independent per model, and shared).")
    var worstK = 100
    @Option(help: "Minutes shown in the printed table and compare.csv, comma-separated (default 30,60,120,240 for H = 48).")
    var minutes: String?
    @Option(help: "Bootstrap replicates over subjects for the skill CIs (0: none).")
    var bootstrap = 1000

    @Option(help: "Windows per forward pass.")
    var batchSize = 256
    @Option(help: "subjects.csv giving each subject's diabetes_status (the group column of the worst-segment lists).")
    var subjects: String?

    func validate() throws {
        guard !checkpoints.isEmpty else { throw ValidationError("give at least one --checkpoint [LABEL=]PATH") }
        guard ShardSplit(rawValue: split) != nil else { throw ValidationError("--split must be train, val or test, got '\(split)'") }
        guard worstK >= 0, batchSize >= 1 else { throw ValidationError("--worst-k ≥ 0, --batch-size ≥ 1") }
        _ = try selectedMinutes()
    }

    func selectedMinutes() throws -> [Int]? {
        guard let minutes else { return nil }
        let values = minutes.split(separator: ",").map { Int($0.trimmingCharacters(in: .whitespaces)) }
        guard !values.isEmpty, values.allSatisfy({ ($0 ?? 0) > 0 }) else {
            throw ValidationError("--minutes must be positive integers separated by commas, got '\(minutes)'")
        }
        return values.map { $0! }
    }

    func run() throws {
        let comm = try Communicators.detect()
        CommandRanks.useOneBLASThreadUnlessSet()
        try CommandRanks.stopAllOnError("compare", comm) {
            let dataset = try ShardDataset(directory: data)
            let shape = DatasetShape(dataset.manifest)
            let splitValue = ShardSplit(rawValue: split)!
            let evaluator = DistributedEvaluator(batchSize: batchSize,
                                                 subjectTable: try subjects.map { try SubjectTable.read(path: $0) })
            let parsed = try checkpoints.map(ComparedCheckpoint.init(argument:))
            // Restore every model first, so a bad checkpoint fails before any evaluation.
            let restored = try parsed.map { c in
                do { return try CheckpointModel(checkpoint: c.path, shape: shape) } catch let e as ModelBuildError {
                    throw EvaluationError("checkpoint \(c.path) cannot be evaluated on \(data): \(e)")
                }
            }
            let rows = zip(parsed, restored).filter { $0.1.model.name != "naive" }
            try ComparedCheckpoint.checkLabels(rows.map { ($0.0.label ?? $0.1.model.name, $0.0.path) })
            guard !rows.isEmpty else {
                throw EvaluationError("compare needs a model besides the naive baseline, which is always included")
            }
            var models: [(name: String, records: ForecastRecords)] = []
            var notes: [String] = []
            for (c, r) in zip(parsed, restored) {
                let start = Date()
                let records = try evaluator.run(model: r.model, dataset: dataset, split: splitValue, comm: comm)
                let seconds = String(format: "%.2f", Date().timeIntervalSince(start))
                let label = c.label ?? r.model.name
                if r.model.name == "naive" {
                    let n = try ModelComparison.checkNaiveCheckpoint(records, path: c.path)
                    notes.append("\(c.path) (model naive): identical to the built-in baseline on all \(n) evaluable "
                                 + "windows; shown as the '\(ModelComparison.naiveLabel)' row (\(seconds) s)")
                } else {
                    models.append((label, records))
                    notes.append("\(label): \(c.path) (model \(r.model.name), step \(r.contents.state.globalStep)), "
                                 + "\(records.count) windows in \(seconds) s")
                }
            }
            if comm.rank == 0 {
                var comparison = try ModelComparison.compute(models, k: worstK, selectedMinutes: try selectedMinutes(),
                                                             bootstrapReplicates: bootstrap)
                comparison.info = ["data": data, "split": split, "ranks": "\(comm.size)"]
                for (c, r) in zip(parsed, restored) { comparison.info["checkpoint:" + (c.label ?? r.model.name)] = c.path }
                try comparison.write(toDirectory: out)
                for n in notes { print("evaluated " + n) }
                print(comparison.table())
                print("wrote \(out)/compare.csv, compare_per_horizon.csv, compare_{rmse,mae,me}.svg, "
                      + "compare_worst_shared.csv, compare_worst_independent.csv, compare.json")
            }
            try? comm.shutdown()
        }
    }
}
