// GluFormer end to end with the built binary on the built-in simulated cohort: `simulate` → `prepare`
// (data.preset: gluformer, token shards in HDF5) → `train` (model.name: gluformer) under real mpirun with 2 ranks
// → in process, from best.h5 and the shards:
//   • the pretrained model's next-token loss on the validation windows beats a unigram and a bigram model with
//     add-one smoothing fitted on the same training windows (GluFormerCountBaselines);
//   • imputing synthetic 1-hour gaps in validation windows by generation: its MAE is printed next to linear
//     interpolation's and must beat filling with the training mean;
//   • `cgmtrain generate` writes seeded, reproducible samples in mg/dL, one row per subject/sample/step;
//   • `cgmtrain embed` + `cgmtrain probe` on a fresh 60-subject cohort: the embedding's one-vs-rest macro AUC for
//     diabetes_status beats mean glucose (GMI is affine in it), with the paired bootstrap interval above 0;
//   • `generate --plausibility`: generated 24-h days vs the held-out real ones (mean, CV, TIR, daily profile).

import CGMData
import CGMSchema
import CGMTensor
import Foundation
import Models
import _TestSupport
import XCTest
@testable import Training

final class GluFormerLaunchTests: XCTestCase {
    static let dataYAML = """
        data:
          preset: gluformer
          history: 60
          horizon: 12
          stride: 6
        model:
          name: gluformer
          d_model: 32
          heads: 4
          layers: 2
          feed_forward: 64
          dropout: 0.0
          residual: false   # the reference's head: these findings are about GluFormer as published
        train:
          seed: 1
          batch_size: 16
          max_epochs: 6
          optimizer: {name: adamw, lr: 3.0e-3, weight_decay: 0.0}
          gradient_clip: 1.0
          top_k: 0
          log_every_seconds: 1000
        """

    func run(_ args: [String], np: Int? = nil) throws -> LaunchOutcome {
        let r = try CGMTrainLauncher.run(args, np: np, timeout: 180)
        XCTAssertEqual(r.status, 0, "cgmtrain \(args.joined(separator: " "))\n\(r.log)")
        if r.status != 0 { throw XCTSkip("cgmtrain \(args[0]) failed") }
        return r
    }

    func testPretrainedModelBeatsCountBaselinesAndGenerates() throws {
        let dir = try temporaryDirectory(self)
        let cohort = dir + "/cohort", prepared = dir + "/prepared", runDir = dir + "/run", config = dir + "/gluformer.yaml"
        try Self.dataYAML.write(toFile: config, atomically: true, encoding: .utf8)
        _ = try run(["simulate", "--subjects", "8", "--days", "2", "--seed", "5", "--out", cohort, "--no-truth"])
        _ = try run(["prepare", "--cgm", cohort + "/cgm.csv", "--config", config, "--out", prepared])
        let started = Date()
        _ = try run(["train", "--config", config, "--data", prepared, "--run", runDir], np: 2)
        let trainSeconds = Date().timeIntervalSince(started)

        let dataset = try ShardDataset(directory: prepared)
        XCTAssertEqual(dataset.manifest.extras["tokens"], [72])
        let read = { (split: ShardSplit) in
            try ShardReader(dataset: dataset, split: split).read(indices: Array(0 ..< dataset.count(split)))
        }
        let train = try read(.train), val = try read(.val)
        XCTAssertGreaterThan(val.count, 0)
        let restored = try CheckpointModel(checkpoint: runDir + "/best.h5", shape: DatasetShape(dataset.manifest))
        let model = try XCTUnwrap(restored.model as? GluFormerForecaster)

        // 1. Next-token loss on validation vs count baselines fitted on the training windows.
        var baselines = GluFormerCountBaselines()
        baselines.fit(GluFormerTokenBatch(train))
        let valTokens = GluFormerTokenBatch(val)
        let counts = baselines.nll(valTokens)
        let modelLoss = Double(model.loss(val, Graph(training: false, recording: false)).value.scalar)
        print(String(format: "GluFormer validation next-token loss %.4f nats vs unigram %.4f, bigram %.4f (add-one); "
                     + "%d pairs; train %d windows, %.1f s (2 ranks, debug build)",
                     modelLoss, counts.unigram, counts.bigram, counts.pairs, train.count, trainSeconds))
        XCTAssertLessThan(modelLoss, counts.unigram, "the model must beat the unigram baseline")
        XCTAssertLessThan(modelLoss, counts.bigram, "the model must beat the bigram baseline")

        // 2. Imputation of a synthetic 1-hour gap (context 36 steps before it, 12 held out) in validation windows.
        let generator = GluFormerGenerator(network: model.network)
        var trainSum = 0.0, trainN = 0
        for t in train.target { trainSum += Double(t); trainN += 1 }
        let trainMean = Float(trainSum / Double(trainN))
        var errGen = 0.0, errExpected = 0.0, errGreedy = 0.0, errLinear = 0.0, errMean = 0.0, errLast = 0.0, n = 0
        for w in 0 ..< val.count {
            let row = Array(valTokens.tokens[(w * 72) ..< (w * 72 + 72)])
            guard !row.contains(GlucoseTokenizer.padding) else { continue }
            let truth = GlucoseTokenizer.glucose(tokens: row)
            var gapped = truth
            for k in 36 ..< 48 { gapped[k] = .nan }
            let filled = generator.impute(gapped), linear = GluFormerGenerator.linearFill(gapped)
            let mean = generator.impute(gapped, decoding: .expectedValue), greedy = generator.impute(gapped, decoding: .greedy)
            for k in 36 ..< 48 {
                errGen += Double(abs(filled[k] - truth[k]))
                errExpected += Double(abs(mean[k] - truth[k]))
                errGreedy += Double(abs(greedy[k] - truth[k]))
                errLinear += Double(abs(linear[k] - truth[k]))
                errMean += Double(abs(trainMean - truth[k]))
                errLast += Double(abs(truth[35] - truth[k]))
                n += 1
            }
        }
        XCTAssertGreaterThan(n, 0)
        let (maeGen, maeLinear, maeMean) = (errGen / Double(n), errLinear / Double(n), errMean / Double(n))
        print(String(format: "GluFormer imputation of 1-hour gaps (%d points): MAE %.2f mg/dL by generation (context "
                     + "before the gap only, median decoding; expected value %.2f, greedy %.2f), %.2f by linear interpolation (uses both sides), %.2f by the last value "
                     + "before the gap, %.2f by the training mean", n, maeGen, errExpected / Double(n), errGreedy / Double(n), maeLinear,
                     errLast / Double(n), maeMean))
        XCTAssertLessThan(maeGen, maeMean, "generation must beat filling with the training mean")

        // 3. `generate`: CSV in mg/dL, one row per subject/sample/step, reproducible with the seed.
        let out1 = dir + "/gen1.csv", out2 = dir + "/gen2.csv"
        for out in [out1, out2] {
            _ = try run(["generate", "--checkpoint", runDir + "/best.h5", "--cgm", cohort + "/cgm.csv", "--hours", "2",
                         "--top-k", "10", "--samples", "3", "--seed", "1", "--out", out])
        }
        let text = try String(contentsOfFile: out1, encoding: .utf8)
        XCTAssertEqual(text, try String(contentsOfFile: out2, encoding: .utf8), "same seed, same samples")
        // Recomputing the window per token (the reference's way) gives the same samples as the KV cache.
        let uncached = dir + "/gen-nocache.csv"
        _ = try run(["generate", "--checkpoint", runDir + "/best.h5", "--cgm", cohort + "/cgm.csv", "--hours", "2",
                     "--top-k", "10", "--samples", "3", "--seed", "1", "--no-cache", "--out", uncached])
        XCTAssertEqual(text, try String(contentsOfFile: uncached, encoding: .utf8), "KV cache and recomputation agree")
        let lines = text.split(separator: "\n")
        XCTAssertEqual(lines.first, "subject_id,sample,step,minutes_ahead,timestamp,glucose_mg_dl")
        XCTAssertEqual(lines.count - 1, 8 * 3 * 24, "8 subjects × 3 samples × 24 steps")
        let values = lines.dropFirst().compactMap { Float($0.split(separator: ",").last!) }
        XCTAssertEqual(values.count, lines.count - 1)
        XCTAssertTrue(values.allSatisfy { (40 ... 500).contains($0) })

        // 5. Embeddings → probe on a fresh cohort of 60 subjects (no retraining: the same pretrained model).
        //    diabetes_status one-vs-rest macro AUC of the embedding probe beats mean glucose (and so GMI).
        let probeCohort = dir + "/probe-cohort", emb = dir + "/emb.csv", embMax = dir + "/emb-max.csv"
        _ = try run(["simulate", "--subjects", "60", "--days", "2", "--seed", "11", "--out", probeCohort, "--no-truth"])
        _ = try run(["embed", "--checkpoint", runDir + "/best.h5", "--cgm", probeCohort + "/cgm.csv", "--out", emb])
        _ = try run(["embed", "--checkpoint", runDir + "/best.h5", "--cgm", probeCohort + "/cgm.csv", "--out", embMax,
                     "--pooling", "max", "--subjects", "S0001,S0002"])
        let embText = try String(contentsOfFile: emb, encoding: .utf8)
        let embLines = embText.split(separator: "\n")
        XCTAssertEqual(embLines.count, 61)
        XCTAssertEqual(embLines[0].split(separator: ",").count, 7 + 32, "7 columns + d = 32")
        let maxLines = try String(contentsOfFile: embMax, encoding: .utf8).split(separator: "\n")
        XCTAssertEqual(maxLines.count, 3)
        XCTAssertEqual(maxLines[1].split(separator: ",").prefix(7), embLines[1].split(separator: ",").prefix(7))
        XCTAssertNotEqual(maxLines[1], embLines[1], "max and mean pooling differ")
        let probeCSV = dir + "/probe.csv"
        let probe = try run(["probe", "--embeddings", emb, "--subjects", probeCohort + "/subjects.csv",
                             "--label", "diabetes_status", "--out", probeCSV])
        print(probe.stdout)
        let table = try String(contentsOfFile: probeCSV, encoding: .utf8).split(separator: "\n").map { $0.split(separator: ",") }
        let macro = { (name: String) in try XCTUnwrap(table.first { $0[1] == name && $0[2] == "macro_auc" }) }
        let gluformer = try macro("gluformer"), mean = try macro("mean_glucose")
        XCTAssertGreaterThan(Double(gluformer[3])!, Double(mean[3])!, "embedding probe beats mean glucose (macro AUC)")
        XCTAssertGreaterThan(Double(gluformer[7])!, 0, "the paired bootstrap interval of the difference excludes 0")
        let hba1c = try run(["probe", "--embeddings", emb, "--subjects", probeCohort + "/subjects.csv", "--label", "hba1c"])
        print(hba1c.stdout)
        XCTAssertTrue(hba1c.stdout.contains("r2"))

        // 6. Plausibility of generated days against the held-out last 24 h of the fresh cohort's subjects.
        let plausibility = dir + "/plausibility"
        let plaus = try run(["generate", "--checkpoint", runDir + "/best.h5", "--cgm", probeCohort + "/cgm.csv", "--hours", "24",
                             "--top-k", "10", "--samples", "1", "--seed", "3", "--plausibility", plausibility])
        print(plaus.stdout)
        let plausRows = try String(contentsOfFile: plausibility + "/plausibility.csv", encoding: .utf8).split(separator: "\n")
            .dropFirst().map { $0.split(separator: ",") }
        XCTAssertEqual(plausRows.count, 30, "6 metrics + 24 hours")
        let value = { (m: String, c: Int) in Double(plausRows.first { $0[0] == m }![c])! }
        XCTAssertEqual(value("mean_mg_dl", 2), value("mean_mg_dl", 1), accuracy: 20, "generated mean near the real one")
        XCTAssertGreaterThan(value("cv_percent", 2), 5, "generated days are not flat")
        XCTAssertTrue(FileManager.default.fileExists(atPath: plausibility + "/plausibility.svg"))

        // 4. `evaluate`-style forecasts of the shard windows equal `cgmtrain forecast` from raw CSV (tokens rebuilt
        //    from the scaled-CGM history): the first validation window, at its decision time.
        let w = try XCTUnwrap((0 ..< val.count).first { k in
            !valTokens.tokens[(k * 72) ..< (k * 72 + 60)].contains(GlucoseTokenizer.padding)
        })
        let one = try ShardReader(dataset: dataset, split: .val).read(indices: [w])
        let shardForecast = model.forecast(one, Graph(training: false, recording: false)).point.scalars
        let subject = dataset.manifest.subjects[Int(one.subject[0])]
        let r = try run(["forecast", "--checkpoint", runDir + "/best.h5", "--cgm", cohort + "/cgm.csv", "--subject", subject,
                         "--at", "\(one.decisionTime[0])"])
        let rows = r.stdout.split(separator: "\n").dropFirst().map { $0.split(separator: ",", omittingEmptySubsequences: false) }
        XCTAssertEqual(rows.count, 12)
        for (h, row) in rows.enumerated() {
            XCTAssertEqual(Float(row[5]) ?? .nan, shardForecast[h], accuracy: 1, "step \(h + 1) (a value at exactly .5 may round to the neighbouring token after eq. 14 and back)")
        }
    }
}
