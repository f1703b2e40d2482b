// `cgmtrain counterfactual`: what-if forecasts under interventions on known-future covariates
// (SSM-CGM §2 eq. 3, Figure 3A), for any checkpoint whose model reads decoder features.
//
//   cgmtrain counterfactual --checkpoint RUN/best.h5 --data data/prepared --split test \
//       --shift heart_rate_bpm=+2sd[,steps=+1sd] [--hours 8-20] [--subjects cohort/subjects.csv] --out cf/
//
// Each named decoder covariate is shifted over the whole horizon by k within-subject SDs (or set to the
// subject's mean + k SD with `name=mean+2sd`), all of them together; only windows whose horizon lies in
// --hours (local time) are used. Writes OUT/windows.csv, subjects.csv, groups.csv, delta_by_horizon.csv,
// delta_vs_horizon.svg and prints Δglucose (mean, end, area) and ΔTIR by diabetes status. Under mpirun the
// windows are divided across ranks like `evaluate`; the results do not depend on the number of ranks.
// The transformation and the SD sources are documented in Sources/Training/CounterfactualShift.swift.

import ArgumentParser
import CGMData
import CGMSchema
import CGMTensor
import Distributed
import Foundation
import Inference
import Training

struct CounterfactualCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "counterfactual",
        abstract: "Counterfactual forecasts: shift known-future covariates by within-subject SDs and report Δglucose and ΔTIR.",
        discussion: """
        --shift NAME=+Ksd shifts the decoder feature NAME by K within-subject SDs at every horizon step; \
        NAME=mean+Ksd sets it to the subject's mean + K SDs. Several comma-separated shifts act together. \
        A name may omit a unit suffix (heart_rate for heart_rate_bpm). The subject's SD comes from its \
        training-split data, or from the window's history when the subject has none (reported per subject).
        """)

    @OptionGroup var input: CheckpointOnSplit
    @Option(help: "Interventions, e.g. heart_rate_bpm=+2sd,steps=+1sd or respiration_rate=mean+2sd.")
    var shift: String
    @Option(help: "Only decision times whose whole horizon lies in these local hours, START-END (e.g. 8-20, or 21-6 across midnight).")
    var hours: String?
    @Option(help: "subjects.csv giving diabetes_status for the groups (when the data does not encode it).")
    var subjects: String?
    @Option(help: "Output directory (default: the checkpoint's directory + /counterfactual-<split>).")
    var out: String?
    @Option(help: "Windows per forward pass.")
    var batchSize = 256

    func validate() throws {
        guard batchSize >= 1 else { throw ValidationError("--batch-size must be at least 1") }
    }

    func run() throws {
        let comm = try Communicators.detect()
        CommandRanks.useOneBLASThreadUnlessSet()
        let outDir = input.outDirectory(out, name: "counterfactual")
        try CommandRanks.stopAllOnError("counterfactual", comm) {
            let requests = try CovariateShiftRequest.parseList(shift)
            let window = try hours.map { try HourWindow.parse($0) }
            let dataset = try ShardDataset(directory: input.data)
            let restored = try CheckpointModel(checkpoint: input.checkpoint, shape: DatasetShape(dataset.manifest))
            let table = try subjects.map { try SubjectTable.read(path: $0) }
            let runner = CounterfactualRunner(shifts: requests, hours: window, batchSize: batchSize)
            let result = try runner.run(model: restored.model, dataset: dataset, split: input.shardSplit, comm: comm)
            if comm.rank == 0 {
                guard !result.records.isEmpty else {
                    throw CounterfactualError("no \(input.split) window has its horizon within --hours \(hours ?? "")"
                                              + " (time of day from \(result.clockSource)); nothing written")
                }
                let report = CounterfactualReport(run: result, shifts: requests, hours: window, split: input.split,
                                                  manifest: dataset.manifest, table: table)
                try report.write(toDirectory: outDir)
                print(report.table())
                print("wrote \(outDir)/windows.csv, subjects.csv, groups.csv, delta_by_horizon.csv, delta_vs_horizon.svg")
            }
            try? comm.shutdown()
        }
    }
}
