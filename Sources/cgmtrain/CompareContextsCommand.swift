// `cgmtrain compare-contexts`: SSM-CGM Table 1 — several checkpoints, each evaluated on the test split of
// its own prepared dataset (one dataset per context length), tabulated as quantile loss, MAE and RMSE
// over the whole horizon with subject-bootstrap 95 % CIs, plus the naive last-value forecast per context.
//
//   mpirun -np 2 cgmtrain compare-contexts --out table1 \
//       --entry "12 h,runs/ssm12/best.h5,data/ctx12" --entry "12 h,runs/tft12/best.h5,data/ctx12" \
//       --entry "24 h,runs/ssm24/best.h5,data/ctx24" …
//
// Writes OUT/table1.csv, OUT/table1.md and OUT/table1.json (rank 0) and prints the Markdown table. The
// model of each row is the checkpoint's `model.name`. Under mpirun the windows are divided across ranks
// and the forecasts gathered (as `evaluate`).

import ArgumentParser
import CGMData
import CGMSchema
import CGMTensor
import Distributed
import Evaluation
import Foundation
import Training

struct CompareContextsCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "compare-contexts",
        abstract: "SSM-CGM Table 1: QL, MAE, RMSE with 95 % CIs of checkpoints at several context lengths, and the naive forecast.")

    @Option(name: .customLong("entry"), help: ArgumentHelp(
        "CONTEXT,CHECKPOINT,DATA: a row label (e.g. \"24 h\"), a checkpoint and the prepared dataset to test it on. Repeat.",
        valueName: "context,checkpoint,data"))
    var entries: [String] = []
    @Option(help: "Output directory for table1.csv, table1.md, table1.json.")
    var out: String
    @Option(help: "Split: train, val or test.")
    var split: String = "test"
    @Option(help: "Bootstrap replicates over subjects for the 95 % CIs.")
    var bootstrap = 1000
    @Option(help: "Windows per forward pass.")
    var batchSize = 64
    @Flag(help: "Exit with status 3 (after writing the table) unless every model's MAE is below the naive forecast's at its context.")
    var checkBeatsNaive = false

    func parsedEntries() throws -> [(context: String, checkpoint: String, data: String)] {
        try entries.map { e in
            let parts = e.split(separator: ",", omittingEmptySubsequences: false).map {
                String($0).trimmingCharacters(in: .whitespaces)
            }
            guard parts.count == 3, !parts.contains(where: \.isEmpty) else {
                throw ValidationError("--entry '\(e)' must be CONTEXT,CHECKPOINT,DATA (three non-empty fields)")
            }
            return (parts[0], parts[1], parts[2])
        }
    }

    func validate() throws {
        guard !entries.isEmpty else { throw ValidationError("give at least one --entry CONTEXT,CHECKPOINT,DATA") }
        _ = try parsedEntries()
        guard ShardSplit(rawValue: split) != nil else { throw ValidationError("--split must be train, val or test, got '\(split)'") }
        guard bootstrap >= 1, batchSize >= 1 else { throw ValidationError("--bootstrap and --batch-size must be ≥ 1") }
    }

    func run() throws {
        let comm = try Communicators.detect()
        CommandRanks.useOneBLASThreadUnlessSet()
        var failures: [String] = []
        try CommandRanks.stopAllOnError("compare-contexts", comm) {
            var evaluated: [(context: String, model: String, records: ForecastRecords)] = []
            for e in try parsedEntries() {
                let dataset = try ShardDataset(directory: e.data)
                let restored = try CheckpointModel(checkpoint: e.checkpoint, shape: DatasetShape(dataset.manifest))
                let records = try DistributedEvaluator(batchSize: batchSize)
                    .run(model: restored.model, dataset: dataset, split: ShardSplit(rawValue: split)!, comm: comm)
                evaluated.append((e.context, restored.model.name, records))
                if comm.rank == 0 { print("evaluated \(restored.model.name) at \(e.context): \(records.count) windows (\(e.checkpoint))") }
            }
            if comm.rank == 0 {
                let table = try ContextComparison.compute(evaluated, replicates: bootstrap)
                try EvaluationFiles.ensureDirectory(out)
                func path(_ name: String) -> String { (out as NSString).appendingPathComponent(name) }
                try EvaluationFiles.writeAtomically(table.csv(), to: path("table1.csv"))
                try EvaluationFiles.writeAtomically(table.markdown(), to: path("table1.md"))
                try EvaluationFiles.writeAtomically(try EvaluationJSON.encode(table), to: path("table1.json"))
                print(table.markdown())
                print("wrote \(out)/table1.csv, table1.md, table1.json")
            }
            failures = checkBeatsNaive ? try ContextComparison.compute(evaluated, replicates: 1).modelsNotBeatingNaive() : []
            try? comm.shutdown()
        }
        if !failures.isEmpty {   // every rank computed the same verdict from the gathered records
            if comm.rank == 0 { print("check failed: MAE not below the naive forecast's for " + failures.joined(separator: "; ")) }
            throw ExitCode(3)
        }
        if checkBeatsNaive && comm.rank == 0 { print("check passed: every model's MAE is below the naive forecast's") }
    }
}
