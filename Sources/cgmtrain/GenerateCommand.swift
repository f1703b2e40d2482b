// `cgmtrain generate`: GluFormer's autoregressive continuation of each subject's glucose (gluformer-readme,
// "Generative Modeling"), as CSV in mg/dL.
//
//   cgmtrain generate --checkpoint RUN/best.h5 --cgm data/cohort/cgm.csv [--subject S0007] --hours 24 \
//                     --top-k 10 [--temperature 1] --samples 3 --seed 1 [--no-cache] [--out gen.csv]
//
// Per subject: the CSV is resampled as `prepare` did (the checkpoint's max_interpolation_gap_minutes), the
// subject's latest gap-free run is tokenized, its last L tokens (the trained context) are the context, and
// `--samples` continuations of hours·12 steps are drawn by top-k sampling (`--top-k 1`: greedy) from one seeded
// stream, with a KV cache (`--no-cache`: recompute the window for each token, as the reference does). Columns:
// subject_id, sample, step (1…), minutes_ahead, timestamp (ISO 8601 UTC), glucose_mg_dl. One process, no MPI.
//
// `--plausibility DIR` (with --hours 24 for whole days): each subject's last --hours of its latest long-enough
// gap-free run are held out, the samples are generated from the L readings before them, and real vs generated
// are compared on mean, SD, CV, TIR / TBR / TAR and the mean by hour of day (PlausibilityReport: printed table,
// DIR/plausibility.csv, DIR/plausibility.svg overlay). For an honest check pass subjects the model was not trained
// on (e.g. a cohort simulated with another seed). The CSV of samples then goes to --out only when given.
//
// Diet tokens (a model trained with data.diet_tokens: true): the context's logged meals are tokenized with the
// checkpoint's bins. What-if: `--at TIME --meal carbs=80,protein=20,fat=30 --meal carbs=20,protein=30,fat=10`
// logs each meal at TIME (the context's last step, replacing what the CSV logged there) and continues from it with
// the same seeded draws per meal, so the outputs differ by the meal only; the CSV gains a `meal` column and a
// mean / peak summary per meal goes to stderr. No meal is assumed after TIME.

import ArgumentParser
import CGMData
import CGMSchema
import CGMTensor
import Evaluation
import Foundation
import Models
import Training

struct GenerateCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "generate",
        abstract: "Generate glucose continuations with a GluFormer checkpoint (top-k sampling, KV cache); writes CSV.")

    @Option(help: "GluFormer checkpoint written by `cgmtrain train` (e.g. RUN/best.h5).")
    var checkpoint: String
    @Option(help: "Measurements CSV (subject_id, timestamp, glucose_mg_dl, ...): the histories to continue.")
    var cgm: String
    @Option(help: "Only this subject.")
    var subject: String?
    @Option(help: "Hours to generate (12 steps of 5 min per hour).")
    var hours: Double = 24
    @Option(name: .customLong("top-k"), help: "Sample among the k most likely tokens (1 = greedy).")
    var topK: Int = 10
    @Option(help: "Softmax temperature of the sampling.")
    var temperature: Float = 1
    @Option(help: "Continuations per subject.")
    var samples: Int = 1
    @Option(help: "Seed of the sampling stream.")
    var seed: UInt64 = 0
    @Flag(help: "Recompute the whole window for every token instead of using the KV cache (slower; same output).")
    var noCache = false
    @Option(help: "Output CSV file (default: stdout).")
    var out: String?
    @Option(help: "Plausibility check into this directory: hold out each subject's last --hours, generate them from the context before, compare TIR / mean / CV / daily profile (plausibility.csv, plausibility.svg).")
    var plausibility: String?
    @Option(help: "What-if meal at --at (repeatable; one continuation set per meal), e.g. carbs=80,protein=20,fat=30[,fibre=5] in grams; needs a model trained with data.diet_tokens.")
    var meal: [String] = []
    @Option(help: "Generate from this time (ISO 8601 or Unix seconds, floored to the 5-min grid) instead of the end of the subject's data; a --meal is logged at it.")
    var at: String?

    func validate() throws {
        guard hours > 0 else { throw ValidationError("--hours must be positive (got \(hours))") }
        guard topK >= 1 else { throw ValidationError("--top-k must be at least 1 (got \(topK))") }
        guard temperature > 0 else { throw ValidationError("--temperature must be positive (got \(temperature))") }
        guard samples >= 1 else { throw ValidationError("--samples must be at least 1 (got \(samples))") }
        guard meal.isEmpty || plausibility == nil else { throw ValidationError("--meal and --plausibility cannot be combined") }
        guard at == nil || plausibility == nil else { throw ValidationError("--at and --plausibility cannot be combined") }
        for m in meal { _ = try Self.parseMeal(m) }
    }

    /// Grams per nutrient column of a --meal text ("carbs=80,protein=20,fat=30").
    static func parseMeal(_ text: String) throws -> [String: Float] {
        var out: [String: Float] = [:]
        for part in text.split(separator: ",") {
            let kv = part.split(separator: "=", maxSplits: 1).map { $0.trimmingCharacters(in: .whitespaces) }
            let column = kv.first.map { $0.hasSuffix("_g") ? $0 : $0 + "_g" } ?? ""
            guard kv.count == 2, DietBins.candidates.contains(column), let g = Float(kv[1]), g.isFinite, g >= 0 else {
                throw ValidationError("--meal '\(text)': expected name=grams pairs with names carbs, protein, fat, fibre (e.g. carbs=80,protein=20,fat=30)")
            }
            out[column] = g
        }
        guard !out.isEmpty else { throw ValidationError("--meal '\(text)' names no nutrient") }
        return out
    }

    func run() throws {
        CommandRanks.useOneBLASThreadUnlessSet()
        do {
            let started = Date()
            let restored = try CheckpointModel(checkpoint: checkpoint)
            guard let model = restored.model as? GluFormerForecaster else {
                throw ValidationError("\(checkpoint): generate needs a gluformer checkpoint (this one is '\(restored.model.name)')")
            }
            let cohort = try CohortReader().read(cgmPath: cgm, subjectsPath: nil)
            var (subjects, _) = try Resampler(config: restored.config.data ?? .defaults).resample(cohort)
            if let subject {
                subjects = subjects.filter { $0.id == subject }
                guard !subjects.isEmpty else { throw ValidationError("\(cgm): no subject '\(subject)'") }
            }
            let steps = max(1, Int((hours * 12).rounded()))
            let generator = GluFormerGenerator(network: model.network)
            // Diet tokens: the checkpoint's fitted bins; context meals from the CSV's nutrient columns.
            let slots = model.network.config.dietSlots
            let bins = slots > 0 ? try restored.contents.preprocessing?.featureSpec(file: checkpoint).dietBins : nil
            if !meal.isEmpty && bins == nil {
                throw ValidationError("\(checkpoint): --meal needs a gluformer trained with data.diet_tokens: true (this one has no diet tokens)")
            }
            let meals = try meal.map(Self.parseMeal)
            if let bins, let m = meals.first(where: { !Set($0.keys).isSubset(of: Set(bins.nutrients)) }) {
                throw ValidationError("--meal: the model knows \(bins.nutrients.joined(separator: ", ")); got \(m.keys.sorted().joined(separator: ", "))")
            }
            let atTime: Int64? = try at.map { text in
                guard case .at(let t) = try DecisionTimeRequest.parse(text) else { return 0 }
                return GridTime.floor(t)
            }
            let scenarios: [(name: String, grams: [String: Float]?)] = meals.isEmpty ? [("", nil)] : zip(meal, meals).map { ($0, $1) }
            var csv = (meals.isEmpty ? "subject_id," : "subject_id,meal,") + "sample,step,minutes_ahead,timestamp,glucose_mg_dl\n"
            var summary: [String] = []
            var tokensGenerated = 0
            var real: [(glucose: [Float], times: [Int64])] = [], generated: [(glucose: [Float], times: [Int64])] = []
            for (index, s) in subjects.enumerated() {
                // Plausibility: the latest run long enough to hold out `steps` readings after ≥ 1 h of context.
                let holdOut = plausibility == nil ? 0 : steps
                let end: Int
                let run: Range<Int>
                if let atTime {
                    // The gap-free run holding --at; the context ends at it.
                    let i = Int((atTime - s.start) / ResampledSubject.gridSeconds)
                    guard atTime >= s.start, let r = GlucoseTokenizer.segments(s.glucose).first(where: { $0.contains(i) }) else {
                        FileHandle.standardError.write(Data("cgmtrain generate: note: \(s.id) has no glucose at \(GridTime.iso8601(atTime)); skipped\n".utf8))
                        continue
                    }
                    run = r
                    end = i + 1
                } else {
                    guard let r = GlucoseTokenizer.segments(s.glucose).last(where: { $0.count >= holdOut + 12 }) else {
                        FileHandle.standardError.write(Data(("cgmtrain generate: note: \(s.id) has no "
                            + (holdOut > 0 ? "gap-free run of \(holdOut + 12) readings" : "glucose") + "; skipped\n").utf8))
                        continue
                    }
                    run = r
                    end = r.upperBound - holdOut
                }
                let first = max(run.lowerBound, end - model.history)
                let context = GlucoseTokenizer.tokens(Array(s.glucose[first ..< end]))
                var contextDiet: [Int] = []
                if let bins {
                    let columns = bins.nutrients.map { c in Channel(rawValue: c).flatMap { s.values(for: $0) } }
                    for i in first ..< end {
                        for (n, col) in columns.enumerated() { contextDiet.append(bins.token(n, grams: col?[i] ?? .nan)) }
                    }
                }
                let last = s.time(at: end - 1)
                let times = (1 ... steps).map { last + Int64($0) * ResampledSubject.gridSeconds }
                for scenario in scenarios {
                    var rowDiet = contextDiet
                    if let grams = scenario.grams, let bins {   // the what-if meal, logged at the last context step
                        for (n, c) in bins.nutrients.enumerated() {
                            rowDiet[rowDiet.count - slots + n] = bins.token(n, grams: grams[c] ?? 0)
                        }
                    }
                    let diet = bins == nil ? nil : GluFormerDiet(slots: slots, context: Array(repeating: rowDiet, count: samples),
                                                                 future: Array(repeating: [], count: samples))
                    // Subjects draw from disjoint seeded streams, so one subject's output does not depend on the others;
                    // every meal of a subject uses the same draws, so the meals' outputs differ by the meal only.
                    let result = generator.generate(contexts: Array(repeating: context, count: samples), steps: steps,
                                                    decoding: topK == 1 ? .greedy : .topK(topK, temperature: temperature),
                                                    seed: seed &* 1_000_003 &+ UInt64(index), useCache: !noCache, diet: diet)
                    let prefix = scenario.grams == nil ? "\(s.id)," : "\(s.id),\"\(scenario.name)\","
                    for sample in 0 ..< samples {
                        for (k, g) in result.glucose[sample].enumerated() {
                            csv += prefix + "\(sample + 1),\(k + 1),\((k + 1) * 5),\(GridTime.iso8601(times[k])),\(Int(g))\n"
                        }
                        generated.append((result.glucose[sample], times))
                    }
                    if scenario.grams != nil {
                        let all = result.glucose.flatMap { $0 }
                        let base = GlucoseTokenizer.glucose(context.last!)
                        summary.append("\(s.id) meal \(scenario.name) at \(GridTime.iso8601(last)): start \(Int(base)) mg/dL, "
                            + String(format: "mean %.1f, peak %.0f mg/dL over %d samples × %d steps",
                                     all.reduce(0, +) / Float(all.count), all.max()!, samples, steps))
                    }
                }
                if holdOut > 0 { real.append((Array(s.glucose[end ..< run.upperBound]), times)) }
                tokensGenerated += samples * steps * scenarios.count
            }
            for line in summary { FileHandle.standardError.write(Data("cgmtrain generate: \(line)\n".utf8)) }
            if let plausibility {
                guard !real.isEmpty else { throw ValidationError("\(cgm): no subject has a run long enough for --plausibility") }
                let report = PlausibilityReport(real: real, generated: generated)
                try FileManager.default.createDirectory(atPath: plausibility, withIntermediateDirectories: true)
                try GluFormerInputs.writeAtomically(report.csv, to: plausibility + "/plausibility.csv")
                try report.chart.write(to: plausibility + "/plausibility.svg")
                print(report.text, terminator: "")
            }
            let seconds = Date().timeIntervalSince(started)
            if plausibility != nil && out == nil {
                FileHandle.standardError.write(Data("cgmtrain generate: wrote \(plausibility!)/plausibility.csv and .svg\n".utf8))
            } else if let out {
                try csv.write(toFile: out + ".tmp", atomically: false, encoding: .utf8)
                _ = try? FileManager.default.removeItem(atPath: out)
                try FileManager.default.moveItem(atPath: out + ".tmp", toPath: out)
                FileHandle.standardError.write(Data(("cgmtrain generate: wrote \(out): \(subjects.count) subject(s) × \(samples) "
                    + "sample(s) × \(steps) steps (\(tokensGenerated) tokens, " + String(format: "%.1f", seconds) + " s, "
                    + (noCache ? "no cache" : "KV cache") + ")\n").utf8))
            } else {
                FileHandle.standardOutput.write(Data(csv.utf8))
            }
        } catch {
            FileHandle.standardError.write(Data("cgmtrain generate: error: \(error)\n".utf8))
            throw ExitCode(1)
        }
    }
}
