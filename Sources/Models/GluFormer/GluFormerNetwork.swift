// GluFormer's decoder-only transformer (gluformer-readme "Generative Architecture"; Vaswani et al. 2017).
//   tokens (B, S) ∈ 0 … 461 → x₀ = E[token] + PE(pos)                       E: (462, d), PE eq. in §3.5:
//   (with diet tokens, E has 462 + N·B rows and x₀ += Σ_n E[diet_n] at a meal's step; see CGMData DietTokenizer)
//       PE(pos, 2i) = sin(pos / 10000^(2i/d)),  PE(pos, 2i+1) = cos(pos / 10000^(2i/d))
//   pos counts from the row's first real (non-padding) token, so a left-padded row equals its unpadded version.
//   block (post-LN):  x = LN₁(x + Drop(MHA(x)));  x = LN₂(x + Drop(W₂ Drop(act(W₁ x + b₁)) + b₂))
//   block (pre-LN):   x = x + Drop(MHA(LN₁ x));   x = x + Drop(MLP(LN₂ x));   then a final LN
//   MHA: [q k v] = x W_in + b_in, split into H heads of d/H, causal scaled dot-product attention with the padding
//   tokens hidden as keys (`Graph.scaledDotProductAttention`), heads concatenated, then W_out.
//   logits (B, S, 461) = x W_head + b_head  (+ r[k − t + 460] with a residual head: GluFormerRelativeBias.swift).
// With a `GluFormerKVCache` the same forward runs on only the new tokens: each layer's keys and values are
// appended to the cache and the new queries attend to all cached keys (causal, bottom-right aligned).
// Parameter names follow nn.TransformerEncoderLayer: blocks.<i>.self_attn.in_proj / out_proj, linear1, linear2,
// norm1, norm2; plus embedding, final_norm (pre-LN only), head.

import CGMSchema
import CGMTensor
import Foundation
import Layers

/// The parameters and forward pass of a GluFormer.
public final class GluFormerNetwork {
    /// One transformer block's parameters.
    struct Block {
        let inProj: Linear, outProj: Linear, linear1: Linear, linear2: Linear
        let norm1Weight: ParameterID, norm1Bias: ParameterID, norm2Weight: ParameterID, norm2Bias: ParameterID
    }

    /// Sizes and choices.
    public let config: GluFormerConfig
    /// Every parameter.
    public let store = ParameterStore()
    let embedding: ParameterID
    let blocks: [Block]
    let finalNorm: (weight: ParameterID, bias: ParameterID)?
    let head: Linear
    /// "relative_bias" (921) of a residual head (config.residual), else nil.
    let relativeBias: ParameterID?

    /// A network initialized from `seed` (Philox stream 1): embedding N(0, 1) (nn.Embedding), linear layers as
    /// nn.Linear, LayerNorm weight 1 and bias 0.
    public init(_ config: GluFormerConfig, seed: UInt64) {
        let errors = config.validationErrors()
        precondition(errors.isEmpty, "GluFormerConfig: " + errors.joined(separator: "; "))
        self.config = config
        var rng = PhiloxGenerator(seed: seed, stream: 1)
        let d = config.dModel, store = self.store
        // Diet rows (after the glucose + padding rows) start at 0 and take no draws, so a diet model starts exactly as
        // the glucose-only model of the same seed and learns meals as a perturbation of it.
        let glucoseTable = Initializers.embedding(count: GlucoseTokenizer.vocabularySize, dimension: d, rng: &rng)
        embedding = store.add("embedding.weight", config.dietVocabulary == 0 ? glucoseTable
            : Tensor(shape: [GlucoseTokenizer.vocabularySize + config.dietVocabulary, d],
                     scalars: glucoseTable.scalars + [Float](repeating: 0, count: config.dietVocabulary * d)))
        var blocks: [Block] = []
        for i in 0 ..< config.layers {
            let p = "blocks.\(i)"
            blocks.append(Block(
                inProj: Linear(store, "\(p).self_attn.in_proj", inFeatures: d, outFeatures: 3 * d, rng: &rng),
                outProj: Linear(store, "\(p).self_attn.out_proj", inFeatures: d, outFeatures: d, rng: &rng),
                linear1: Linear(store, "\(p).linear1", inFeatures: d, outFeatures: config.feedForward, rng: &rng),
                linear2: Linear(store, "\(p).linear2", inFeatures: config.feedForward, outFeatures: d, rng: &rng),
                norm1Weight: store.add("\(p).norm1.weight", Initializers.layerNormWeight(d), weightDecay: false),
                norm1Bias: store.add("\(p).norm1.bias", Initializers.layerNormBias(d), weightDecay: false),
                norm2Weight: store.add("\(p).norm2.weight", Initializers.layerNormWeight(d), weightDecay: false),
                norm2Bias: store.add("\(p).norm2.bias", Initializers.layerNormBias(d), weightDecay: false)))
        }
        self.blocks = blocks
        finalNorm = config.norm == .pre
            ? (store.add("final_norm.weight", Initializers.layerNormWeight(d), weightDecay: false),
               store.add("final_norm.bias", Initializers.layerNormBias(d), weightDecay: false))
            : nil
        head = Linear(store, "head", inFeatures: d, outFeatures: GlucoseTokenizer.glucoseVocabulary, rng: &rng)
        if config.residual {   // after every draw, so the other parameters equal the non-residual model's of this seed
            head.zeroInitialize(store)
            relativeBias = store.add("relative_bias", GluFormerRelativeBias.initial(), weightDecay: false)
        } else {
            relativeBias = nil
        }
    }

    /// Sinusoidal position encodings (rows of d) for the given positions.
    public static func positionalEncoding(_ positions: [Int], dModel d: Int) -> Tensor {
        let out = Tensor(uninitialized: [positions.count, d])
        let y = out.sharedMutablePointer
        for (r, pos) in positions.enumerated() { encodePosition(pos, dModel: d, into: y + r * d) }
        return out
    }

    /// PE(pos, ·) into d floats at `y`.
    static func encodePosition(_ pos: Int, dModel d: Int, into y: UnsafeMutablePointer<Float>) {
        for i in stride(from: 0, to: d, by: 2) {
            let angle = Double(pos) / Foundation.pow(10000, Double(i) / Double(d))
            y[i] = Float(Foundation.sin(angle))
            if i + 1 < d { y[i + 1] = Float(Foundation.cos(angle)) }
        }
    }

    /// PE of positions 0 ..< maxLength, computed once.
    private lazy var positionTable = GluFormerNetwork.positionalEncoding(Array(0 ..< config.maxLength), dModel: config.dModel)

    /// The (B·S, d) position encodings of `positions`, from the table when in range.
    func positionEncodings(_ positions: [Int]) -> Tensor {
        let d = config.dModel
        let table = positionTable.pointer
        let out = Tensor(uninitialized: [positions.count, d])
        let y = out.sharedMutablePointer
        for (r, pos) in positions.enumerated() {
            if pos >= 0 && pos < config.maxLength {
                (y + r * d).update(from: table + pos * d, count: d)
            } else {
                GluFormerNetwork.encodePosition(pos, dModel: d, into: y + r * d)
            }
        }
        return out
    }

    /// The last hidden states (B, S, d) of `tokens` (B·S, row-major), after the final norm. Positions are
    /// `positions` (B·S); `padding` (B·S) marks padding tokens, hidden as keys. With `cache`, `tokens` are the
    /// next S tokens of every row: their keys and values are appended to the cache, and they attend to it.
    /// `diet` (B·S·N, −1 = empty slot) adds the diet tokens' embeddings at their positions (DietTokenizer).
    public func hidden(tokens: [Int], positions: [Int], padding: [Bool], diet: [Int]? = nil, batch b: Int, length s: Int,
                       cache: GluFormerKVCache? = nil, _ p: BoundParameters) -> Var {
        let g = p.graph, d = config.dModel, h = config.heads, dh = config.headDim
        precondition(tokens.count == b * s && positions.count == b * s && padding.count == b * s,
                     "GluFormerNetwork: \(tokens.count) tokens, \(positions.count) positions, \(padding.count) flags for B \(b) × S \(s)")
        if let cache {
            precondition(cache.batch == b && cache.layers == blocks.count,
                         "GluFormerNetwork: cache for B \(cache.batch), \(cache.layers) layers; input B \(b), \(blocks.count) layers")
        }
        let pe = positionEncodings(positions).reshaped([b, s, d])
        var x = g.add(g.gather(table: p[embedding], indices: tokens, shape: [b, s]), g.constant(pe))
        if let diet, config.dietSlots > 0 {
            precondition(diet.count == b * s * config.dietSlots, "GluFormerNetwork: \(diet.count) diet slots for B \(b) × S \(s) × N \(config.dietSlots)")
            x = g.add(x, g.gatherSum(table: p[embedding], indices: diet, slots: config.dietSlots, shape: [b, s]))
        }
        x = g.dropout(x, p: config.dropout)
        let keyPadding = cache.map { $0.padding(appending: padding) } ?? padding
        for (i, block) in blocks.enumerated() {
            let attnInput = config.norm == .pre ? g.layerNorm(x, weight: p[block.norm1Weight], bias: p[block.norm1Bias]) : x
            // [q k v] (B, S, 3d) → (3, B, H, S, dh)
            let qkv = g.permute(g.reshape(block.inProj(attnInput, p), to: [b, s, 3, h, dh]), [2, 0, 3, 1, 4])
            let part = { (k: Int) in g.reshape(g.slice(qkv, axis: 0, range: k ..< k + 1), to: [b, h, s, dh]) }
            var keys = part(1), values = part(2)
            if let cache { (keys, values) = cache.append(layer: i, keys: keys, values: values, g) }
            let attended = g.scaledDotProductAttention(q: part(0), k: keys, v: values, causal: true,
                                                       keyPadding: keyPadding).output
            let merged = g.reshape(g.permute(attended, [0, 2, 1, 3]), to: [b, s, d])
            let a = g.dropout(block.outProj(merged, p), p: config.dropout)
            if config.norm == .post {
                x = g.layerNorm(g.add(x, a), weight: p[block.norm1Weight], bias: p[block.norm1Bias])
                x = g.layerNorm(g.add(x, mlp(block, x, p)), weight: p[block.norm2Weight], bias: p[block.norm2Bias])
            } else {
                x = g.add(x, a)
                x = g.add(x, mlp(block, g.layerNorm(x, weight: p[block.norm2Weight], bias: p[block.norm2Bias]), p))
            }
        }
        cache?.commit(padding: padding)
        if let finalNorm { x = g.layerNorm(x, weight: p[finalNorm.weight], bias: p[finalNorm.bias]) }
        return x
    }

    /// Drop(W₂ Drop(act(W₁ x + b₁)) + b₂).
    private func mlp(_ block: Block, _ x: Var, _ p: BoundParameters) -> Var {
        let g = p.graph
        let z = block.linear1(x, p)
        let a = config.activation == .relu ? g.relu(z) : g.gelu(z)
        return g.dropout(block.linear2(g.dropout(a, p: config.dropout), p), p: config.dropout)
    }

    /// Logits over the 461 glucose tokens (B, S, 461); see `hidden`.
    public func logits(tokens: [Int], positions: [Int], padding: [Bool], diet: [Int]? = nil, batch b: Int, length s: Int,
                       cache: GluFormerKVCache? = nil, _ p: BoundParameters) -> Var {
        let y = head(hidden(tokens: tokens, positions: positions, padding: padding, diet: diet, batch: b, length: s, cache: cache, p), p)
        guard let relativeBias else { return y }
        return GluFormerRelativeBias.apply(y, tokens: tokens, bias: p[relativeBias], p.graph)
    }
}
