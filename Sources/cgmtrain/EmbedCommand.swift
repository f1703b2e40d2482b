// `cgmtrain embed`: one GluFormer embedding per subject (gluformer-readme "Embedding Extraction").
//
//   cgmtrain embed --checkpoint RUN/best.h5 --cgm data/cohort/cgm.csv --out embeddings.csv \
//                  [--pooling mean|max] [--subjects S0001,S0007]
//
// Per subject the CSV is resampled as `prepare` did (the checkpoint's max_interpolation_gap_minutes), every gap-free
// run is tokenized and cut into consecutive non-overlapping chunks of the trained length (L + H tokens); the last
// hidden layer of every token of every chunk is pooled over time (mean, or elementwise max) into one d-vector, so
// each reading counts once (GluFormerEmbedding.swift). Next to the vector the row carries the CGM baselines of the
// same grid, which `cgmtrain probe` compares against: mean glucose, GMI (3.31 + 0.02392 × mean), CV and TIR.
// Columns: subject_id, tokens, chunks, mean_glucose_mg_dl, gmi_percent, cv_percent, tir_percent, e0 … e{d−1}.
// A model trained with diet tokens is embedded from glucose alone (no diet tokens are added), so embeddings of
// cohorts with and without meal logs are comparable. One process, no MPI; the output is written to a temporary
// path and renamed.

import ArgumentParser
import CGMData
import CGMSchema
import CGMTensor
import Evaluation
import Foundation
import Models
import Training

struct EmbedCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "embed",
        abstract: "Per-subject GluFormer embeddings (last hidden layer pooled over time) plus CGM baselines; writes CSV.")

    @Option(help: "GluFormer checkpoint written by `cgmtrain train` (e.g. RUN/best.h5).")
    var checkpoint: String
    @Option(help: "Measurements CSV (subject_id, timestamp, glucose_mg_dl, ...).")
    var cgm: String
    @Option(help: "Output CSV file.")
    var out: String
    @Option(help: "Pooling over time: mean or max.")
    var pooling: String = "mean"
    @Option(help: "Only these subjects (comma-separated ids).")
    var subjects: String?

    func validate() throws {
        guard GluFormerPooling(rawValue: pooling) != nil else {
            throw ValidationError("--pooling must be mean or max (got '\(pooling)')")
        }
    }

    func run() throws {
        CommandRanks.useOneBLASThreadUnlessSet()
        do {
            let started = Date()
            let (model, resampled) = try GluFormerInputs.load(checkpoint: checkpoint, cgm: cgm, subjects: subjects,
                                                               command: "embed")
            let embedder = GluFormerEmbedder(network: model.network)
            let mode = GluFormerPooling(rawValue: pooling)!
            var csv = "subject_id,tokens,chunks,mean_glucose_mg_dl,gmi_percent,cv_percent,tir_percent,"
                + (0 ..< embedder.dimension).map { "e\($0)" }.joined(separator: ",") + "\n"
            var written = 0
            for s in resampled {
                let runs = GlucoseTokenizer.segments(s.glucose).map { GlucoseTokenizer.tokens(Array(s.glucose[$0])) }
                guard runs.contains(where: { !$0.isEmpty }) else {
                    FileHandle.standardError.write(Data("cgmtrain embed: note: \(s.id) has no glucose; skipped\n".utf8))
                    continue
                }
                let vector = embedder.embed(runs: runs, pooling: mode)
                let summary = GlycemicSummary(s.glucose)
                csv += "\(s.id),\(runs.reduce(0) { $0 + $1.count }),\(embedder.chunks(runs).count),"
                    + [summary.mean, summary.gmi, summary.cv, summary.timeInRange].map { String(format: "%.4f", $0) }
                        .joined(separator: ",")
                    + "," + vector.map { "\($0)" }.joined(separator: ",") + "\n"
                written += 1
            }
            try GluFormerInputs.writeAtomically(csv, to: out)
            FileHandle.standardError.write(Data(("cgmtrain embed: wrote \(out): \(written) subject(s) × d \(embedder.dimension) ("
                + "\(pooling) pooling, " + String(format: "%.1f", Date().timeIntervalSince(started)) + " s)\n").utf8))
        } catch {
            FileHandle.standardError.write(Data("cgmtrain embed: error: \(error)\n".utf8))
            throw ExitCode(1)
        }
    }
}

/// Shared input handling of the GluFormer commands: checkpoint → model, CSV → resampled subjects.
enum GluFormerInputs {
    /// The GluFormer of `checkpoint` and the subjects of `cgm` resampled with the checkpoint's gap rule, filtered to
    /// the comma-separated `subjects` when given.
    static func load(checkpoint: String, cgm: String, subjects: String?, command: String) throws
        -> (model: GluFormerForecaster, subjects: [ResampledSubject], restored: CheckpointModel) {
        let restored = try CheckpointModel(checkpoint: checkpoint)
        guard let model = restored.model as? GluFormerForecaster else {
            throw ValidationError("\(checkpoint): \(command) needs a gluformer checkpoint (this one is '\(restored.model.name)')")
        }
        let cohort = try CohortReader().read(cgmPath: cgm, subjectsPath: nil)
        var (resampled, _) = try Resampler(config: restored.config.data ?? .defaults).resample(cohort)
        if let subjects {
            let wanted = subjects.split(separator: ",").map { String($0).trimmingCharacters(in: .whitespaces) }
            let known = Set(resampled.map(\.id))
            if let missing = wanted.first(where: { !known.contains($0) }) {
                throw ValidationError("\(cgm): no subject '\(missing)'")
            }
            resampled = resampled.filter { wanted.contains($0.id) }
        }
        return (model, resampled, restored)
    }

    static func load(checkpoint: String, cgm: String, subjects: String?, command: String) throws
        -> (GluFormerForecaster, [ResampledSubject]) {
        let r: (model: GluFormerForecaster, subjects: [ResampledSubject], restored: CheckpointModel)
            = try load(checkpoint: checkpoint, cgm: cgm, subjects: subjects, command: command)
        return (r.model, r.subjects)
    }

    /// Writes `text` to `path` through a temporary file and a rename.
    static func writeAtomically(_ text: String, to path: String) throws {
        try text.write(toFile: path + ".tmp", atomically: false, encoding: .utf8)
        _ = try? FileManager.default.removeItem(atPath: path)
        try FileManager.default.moveItem(atPath: path + ".tmp", toPath: path)
    }
}
