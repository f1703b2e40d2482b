import CGMTensor
import Foundation
import Layers
import Models
import Optim

/// GluFormer speed (configs/gluformer-small.yaml's model): training tokens/s per core (B = 16 windows of 288 tokens,
/// 287 next-token predictions each, forward + backward + AdamW, dropout 0.1, same batch reused) and generation
/// tokens/s (3 samples × 288 steps = 24 h after a 276-token context, top-k 10) with the KV cache and with the
/// reference's recompute-the-window-per-token. Random-walk glucose tokens, no padding.
/// With `--torch-python`, `launch/bench/gluformer_torch.py` measures the same configuration in PyTorch.
struct GluFormerBench {
    static let batch = 16, length = 288, context = 276, samples = 3, steps = 288
    static let config: GluFormerConfig = {
        var spec = GluFormerSpec.defaults
        (spec.dModel, spec.heads, spec.layers, spec.feedForward, spec.dropout) = (64, 4, 2, 128, 0.1)
        (spec.norm, spec.activation) = (.post, .relu)
        return GluFormerConfig(spec: spec, maxLength: length)
    }()

    static func randomWalk(_ n: Int, seed: UInt64) -> [Int] {
        var rng = PhiloxGenerator(seed: seed, stream: 3)
        var g: Float = 120
        return (0 ..< n).map { _ in
            g = min(max(g + rng.nextUniform(-4, 4), 45), 380)
            return Int(g.rounded()) - 40   // GlucoseTokenizer.token inside 40…500 (cgmbench does not link CGMData)
        }
    }

    static func run(harness: Harness, threads: Int, torch: TorchReference?, torchScript: String) -> String {
        let model = GluFormerForecaster(config, history: context, horizon: length - context, seed: 0)
        let optimizer = AdamW(model.store, lr: 1e-3)
        let tokens = GluFormerTokenBatch(tokens: (0 ..< batch).flatMap { randomWalk(length, seed: UInt64($0)) },
                                         batch: batch, length: length)
        var step: UInt64 = 0
        let train = harness.measure {
            let g = Graph(training: true, random: RandomContext(seed: 0, step: step, sampleIndices: Array(0 ..< batch)))
            let (logits, targets) = model.nextTokenLogits(tokens, g)
            let loss = g.crossEntropy(logits, targets: targets)
            model.store.zeroGradients()
            g.backward(loss)
            optimizer.step()
            step += 1
        }
        let perStep = Double(batch * (length - 1))
        let generator = GluFormerGenerator(network: model.network)
        let ctx = Array(repeating: randomWalk(context, seed: 99), count: samples)
        var genHarness = harness
        genHarness.trials = max(1, min(harness.trials, 3))
        let cached = genHarness.measure {
            _ = generator.generate(contexts: ctx, steps: steps, decoding: .topK(10, temperature: 1), seed: 1, useCache: true)
        }
        let uncached = genHarness.measure {
            _ = generator.generate(contexts: ctx, steps: steps, decoding: .topK(10, temperature: 1), seed: 1, useCache: false)
        }
        let genTokens = Double(samples * steps)
        var table = Table(header: ["GluFormer small (d 64, 4 heads, 2 layers, FF 128)", "tokens/s", "per core"])
        let t = train.median * perStep
        table.rows.append(["training, B 16 × 288 tokens, \(threads) thread(s)",
                           "\(fmt(t, 0)) [\(fmt(train.low * perStep, 0))–\(fmt(train.high * perStep, 0))]",
                           fmt(t / Double(threads), 0)])
        table.rows.append(["generation with KV cache (3 × 288 steps)",
                           "\(fmt(cached.median * genTokens, 0)) [\(fmt(cached.low * genTokens, 0))–\(fmt(cached.high * genTokens, 0))]",
                           fmt(cached.median * genTokens / Double(threads), 0)])
        table.rows.append(["generation recomputing the window per token",
                           "\(fmt(uncached.median * genTokens, 0)) [\(fmt(uncached.low * genTokens, 0))–\(fmt(uncached.high * genTokens, 0))]",
                           fmt(uncached.median * genTokens / Double(threads), 0)])
        if let reference = torch, let torch = runTorch(reference, script: torchScript) {
            table.rows.append(["PyTorch \(torch.version), training, same run", fmt(torch.train, 0), fmt(torch.train / Double(threads), 0)])
            table.rows.append(["PyTorch, generation recomputing the window (reference)", fmt(torch.generate, 0),
                               fmt(torch.generate / Double(threads), 0)])
        } else {
            table.rows.append(["PyTorch: pass --torch-python (see launch/bench/gluformer_torch.py)", "–", "–"])
        }
        return table.render()
    }

    /// The reference's training and generation tokens/s and torch version.
    static func runTorch(_ torch: TorchReference, script: String) -> (train: Double, generate: Double, version: String)? {
        guard let json = torch.record(script: script, []),
              let train = json["train_tokens_per_s_median"] as? Double,
              let generate = json["generate_tokens_per_s_median"] as? Double else { return nil }
        return (train, generate, json["torch"] as? String ?? "?")
    }
}
