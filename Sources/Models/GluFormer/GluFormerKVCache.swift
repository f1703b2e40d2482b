// Key/value cache for incremental GluFormer decoding. Per layer the keys and values of every token seen so far,
// (B, H, T, d/H), plus per row which of those T tokens are padding and the next position. A forward pass with the
// cache computes q, k, v only for the new tokens, appends k and v, and attends from the new queries to all T keys:
// the causal mask is bottom-right aligned (query i of S new sees key j iff j ≤ i + T_old), which is exactly the
// mask the full recomputation applies to those rows. Inference only (the cached tensors carry no gradient).

import CGMTensor

/// Cached keys and values of a batch of sequences being generated.
public final class GluFormerKVCache {
    /// Rows B.
    public let batch: Int
    /// Layers cached.
    public let layers: Int
    /// Tokens cached per row T.
    public private(set) var length = 0
    private var keys: [Tensor?]
    private var values: [Tensor?]
    /// B·T flags, row-major: true where the cached token is padding.
    private var paddingFlags: [Bool] = []

    /// An empty cache for `batch` rows of a network with `layers` blocks.
    public init(batch: Int, layers: Int) {
        self.batch = batch
        self.layers = layers
        keys = Array(repeating: nil, count: layers)
        values = Array(repeating: nil, count: layers)
    }

    /// The key-padding flags (B·(T + S)) of the cache followed by `padding` (B·S) of S new tokens per row.
    func padding(appending padding: [Bool]) -> [Bool] {
        let s = padding.count / batch
        var out: [Bool] = []
        out.reserveCapacity(batch * (length + s))
        for b in 0 ..< batch {
            out += paddingFlags[(b * length) ..< ((b + 1) * length)]
            out += padding[(b * s) ..< ((b + 1) * s)]
        }
        return out
    }

    /// Appends the new keys and values (B, H, S, dh) of `layer`; returns all of them (B, H, T + S, dh).
    func append(layer: Int, keys k: Var, values v: Var, _ g: Graph) -> (Var, Var) {
        let allKeys = keys[layer].map { g.concat([g.constant($0), k], axis: 2) } ?? k
        let allValues = values[layer].map { g.concat([g.constant($0), v], axis: 2) } ?? v
        keys[layer] = allKeys.value
        values[layer] = allValues.value
        return (allKeys, allValues)
    }

    /// Records the padding flags of the S new tokens per row once every layer has appended them.
    func commit(padding: [Bool]) {
        let s = padding.count / batch
        paddingFlags = self.padding(appending: padding)
        length += s
    }
}
