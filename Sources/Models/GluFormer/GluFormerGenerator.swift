// Autoregressive GluFormer generation (gluformer-readme "Generative Modeling": continue a subject's tokenized
// history 24 h ahead; the reference re-runs the whole sequence for every new token).
//   step n: logits ℓ (461) of the last position → choose the next token by `GluFormerDecoding`, append it.
// Two paths with the same window rule, so they produce the same tokens (up to float rounding of the logits):
//   cached      one prefill of the context, then one token per forward pass through `GluFormerKVCache`;
//   recompute   the whole current window per token (the reference's way; tests and benchmarks).
// Window rule: the model saw at most `maxLength` tokens in training, so when a row's window reaches maxLength
// tokens it restarts from its last ⌊maxLength/2⌋ tokens (positions from 0 again; the cache is re-prefilled).
// Rows generate in lockstep; contexts of different lengths are left-padded (padding hidden as keys).
// Sampling draws come from one Philox stream (seed, stream 7) in row order per step: same seed, same output.
// Diet tokens (`GluFormerDiet`) ride along with their positions: the context's, and for each generated step the meal
// logged at that step's time, added to the embedding of the step's token when it is fed back.

import CGMSchema
import CGMTensor
import Foundation
import Layers

/// How the next token is chosen from the logits.
public enum GluFormerDecoding: Equatable, Sendable {
    /// The most likely token.
    case greedy
    /// The token nearest the expected glucose Σ p_k (k + 40); the reported value is that expectation.
    case expectedValue
    /// The median token of the predicted distribution (the smallest k with P(token ≤ k) ≥ ½): robust to the
    /// probability mass a briefly trained model spreads over far-away tokens, which pulls the expectation.
    case median
    /// Sample from the `k` most likely tokens with softmax(ℓ / temperature) renormalized over them.
    case topK(Int, temperature: Float)
}

/// A generated continuation: per row the tokens and their glucose values (mg/dL).
public struct GluFormerGeneration: Equatable {
    /// Per row, the generated tokens.
    public var tokens: [[Int]]
    /// Per row, the value of each step in mg/dL (the token's glucose; the expectation for `.expectedValue`).
    public var glucose: [[Float]]
    /// Per row and step, the logits the choice was made from (only when requested).
    public var logits: [[[Float]]]
}

/// Diet tokens for generation (CGMData DietTokenizer): per row, N slots per context token and per generated step
/// (the meal logged at that step's time, added when the step's token is fed back), −1 = empty.
public struct GluFormerDiet: Equatable, Sendable {
    /// Slots per position N.
    public var slots: Int
    /// Per row, context.count · N tokens.
    public var context: [[Int]]
    /// Per row, steps · N tokens (may be shorter: missing steps have no meal).
    public var future: [[Int]]

    public init(slots: Int, context: [[Int]], future: [[Int]]) {
        self.slots = slots
        self.context = context
        self.future = future
    }
}

/// Generates continuations of token contexts with a `GluFormerNetwork`.
public struct GluFormerGenerator {
    /// The network.
    public let network: GluFormerNetwork

    /// A generator for `network`.
    public init(network: GluFormerNetwork) { self.network = network }

    /// Continues every context (real tokens, oldest first) by `steps` tokens.
    /// - Parameters:
    ///   - useCache: incremental decoding with a KV cache (true) or recomputation of the window per token.
    ///   - keepLogits: also return the logits of every step (tests).
    ///   - diet: diet tokens of the context and of the generated steps (models trained with diet tokens).
    public func generate(contexts: [[Int]], steps: Int, decoding: GluFormerDecoding, seed: UInt64 = 0,
                         useCache: Bool = true, keepLogits: Bool = false, diet: GluFormerDiet? = nil) -> GluFormerGeneration {
        precondition(!contexts.isEmpty && contexts.allSatisfy { !$0.isEmpty }, "GluFormerGenerator: every context needs a token")
        precondition(contexts.allSatisfy { $0.allSatisfy { (0 ..< GlucoseTokenizer.glucoseVocabulary).contains($0) } },
                     "GluFormerGenerator: contexts must hold glucose tokens 0…460 only")
        let maxLength = network.config.maxLength, keep = max(1, maxLength / 2)
        let b = contexts.count
        // Each row's current window (real tokens); restarted from its last `keep` tokens when it reaches maxLength.
        var windows = contexts.map { $0.count > maxLength - 1 ? Array($0.suffix(maxLength - 1)) : $0 }
        let n = diet?.slots ?? 0
        if let diet {
            precondition(diet.context.count == b && diet.future.count == b && zip(diet.context, contexts).allSatisfy { $0.count == $1.count * n },
                         "GluFormerGenerator: diet rows must match the contexts (\(n) slots per token)")
        }
        var windowsDiet = diet.map { d in zip(d.context, windows).map { Array($0.suffix($1.count * n)) } }
        var out = GluFormerGeneration(tokens: Array(repeating: [], count: b), glucose: Array(repeating: [], count: b),
                                      logits: Array(repeating: [], count: b))
        var rng = PhiloxGenerator(seed: seed, stream: 7)
        var cache: GluFormerKVCache?
        var pending: GluFormerTokenBatch? = nil   // tokens not yet in the cache (the prefill, or the last choice)
        for _ in 0 ..< steps {
            if windows.map(\.count).max()! >= maxLength {
                windows = windows.map { Array($0.suffix(keep)) }
                windowsDiet = windowsDiet.map { zip($0, windows).map { Array($0.suffix($1.count * n)) } }
                cache = nil
            }
            let g = Graph(training: false, recording: false)
            let p = network.store.bind(g)
            let logits: Tensor
            if useCache {
                if cache == nil {
                    cache = GluFormerKVCache(batch: b, layers: network.config.layers)
                    pending = GluFormerTokenBatch(rows: windows, diet: windowsDiet, slots: n)
                }
                let input = pending!
                let x = network.logits(tokens: input.tokens, positions: nextPositions(input, cache: cache!, windows: windows),
                                       padding: input.padding, diet: input.diet, batch: b, length: input.length,
                                       cache: cache, p).value
                logits = lastPosition(x, batch: b, length: input.length)
            } else {
                let input = GluFormerTokenBatch(rows: windows, diet: windowsDiet, slots: n)
                let x = network.logits(tokens: input.tokens, positions: input.positions, padding: input.padding,
                                       diet: input.diet, batch: b, length: input.length, p).value
                logits = lastPosition(x, batch: b, length: input.length)
            }
            var chosen: [Int] = [], chosenDiet: [Int] = []
            let step = out.tokens[0].count
            for r in 0 ..< b {
                let row = Array(UnsafeBufferPointer(start: logits.pointer + r * GlucoseTokenizer.glucoseVocabulary,
                                                    count: GlucoseTokenizer.glucoseVocabulary))
                let (token, value) = GluFormerGenerator.choose(row, decoding, &rng)
                out.tokens[r].append(token)
                out.glucose[r].append(value)
                if keepLogits { out.logits[r].append(row) }
                windows[r].append(token)
                chosen.append(token)
                if let diet {
                    let f = diet.future[r]
                    let meal = (step + 1) * n <= f.count ? Array(f[(step * n) ..< ((step + 1) * n)]) : [Int](repeating: -1, count: n)
                    windowsDiet![r] += meal
                    chosenDiet += meal
                }
            }
            pending = GluFormerTokenBatch(tokens: chosen, batch: b, length: 1, diet: diet == nil ? nil : chosenDiet, slots: n)
        }
        return out
    }

    /// Positions of the tokens about to enter the cache: for the prefill those of the left-padded batch, later
    /// each row's window length − 1 (its new token is the last of its window).
    private func nextPositions(_ input: GluFormerTokenBatch, cache: GluFormerKVCache, windows: [[Int]]) -> [Int] {
        cache.length == 0 ? input.positions : windows.map { $0.count - 1 }
    }

    /// The logits (B, 461) of the last position of (B, S, 461).
    private func lastPosition(_ x: Tensor, batch b: Int, length s: Int) -> Tensor {
        let v = GlucoseTokenizer.glucoseVocabulary
        let out = Tensor(uninitialized: [b, v])
        for r in 0 ..< b {
            (out.sharedMutablePointer + r * v).update(from: x.pointer + (r * s + s - 1) * v, count: v)
        }
        return out
    }

    /// The next token and its glucose value (mg/dL) from one row of logits.
    public static func choose(_ logits: [Float], _ decoding: GluFormerDecoding, _ rng: inout PhiloxGenerator)
        -> (token: Int, glucose: Float) {
        switch decoding {
        case .greedy:
            var best = 0
            for k in 1 ..< logits.count where logits[k] > logits[best] { best = k }
            return (best, GlucoseTokenizer.glucose(best))
        case .expectedValue:
            let m = logits.max()!
            var sum = 0.0, mean = 0.0
            for (k, l) in logits.enumerated() {
                let e = Foundation.exp(Double(l - m))
                sum += e
                mean += e * Double(k)
            }
            let value = Float(mean / sum) + GlucoseTokenizer.minGlucose
            return (GlucoseTokenizer.token(value), value)
        case .median:
            let m = logits.max()!
            let e = logits.map { Foundation.exp(Double($0 - m)) }
            let half = e.reduce(0, +) / 2
            var cumulative = 0.0
            for (k, w) in e.enumerated() {
                cumulative += w
                if cumulative >= half { return (k, GlucoseTokenizer.glucose(k)) }
            }
            return (e.count - 1, GlucoseTokenizer.glucose(e.count - 1))
        case .topK(let k, let temperature):
            precondition(k >= 1 && temperature > 0, "GluFormerGenerator: top-k needs k ≥ 1 and temperature > 0")
            // The k largest logits (ties: lower token first), then a draw from their renormalized softmax.
            let order = logits.indices.sorted { logits[$0] > logits[$1] || (logits[$0] == logits[$1] && $0 < $1) }
            let top = Array(order.prefix(k))
            let m = logits[top[0]]
            let weights = top.map { Foundation.exp(Double((logits[$0] - m) / temperature)) }
            var u = Double(rng.nextUniform()) * weights.reduce(0, +)
            for (i, w) in weights.enumerated() {
                u -= w
                if u < 0 { return (top[i], GlucoseTokenizer.glucose(top[i])) }
            }
            return (top[top.count - 1], GlucoseTokenizer.glucose(top[top.count - 1]))   // rounding: the last one
        }
    }
}
