// Subject embeddings from a GluFormer (gluformer-readme "Embedding Extraction": "extracting embeddings from the last
// hidden layer ... a dense vector representation of a patient's glycemic state").
//   A subject's gap-free runs of tokens are cut into consecutive, non-overlapping chunks of at most maxLength
//   tokens (the trained length; a run's last chunk may be shorter). Every chunk goes through the network on its own
//   (positions from 0, causal), and the last hidden layer h_t ∈ ℝ^d (after the final norm) of every real token t of
//   every chunk is pooled:
//       mean:  e = (1/T) Σ_t h_t          max:  e_j = max_t h_{t,j}
//   over all T tokens of the subject, so each reading contributes exactly once whatever the number of chunks and
//   their lengths (chunks are not averaged first: a short tail chunk weighs by its tokens, not as a whole chunk).
// Chunks are batched with left padding (padding is hidden as keys and positions start at each row's first real
// token, so a padded row equals its unpadded run) and the forward runs without dropout: the result is
// deterministic and does not depend on the batch size.

import CGMSchema
import CGMTensor
import Layers

/// How hidden states are pooled over time into one vector.
public enum GluFormerPooling: String, Sendable, CaseIterable {
    /// Mean over every real token.
    case mean
    /// Elementwise maximum over every real token.
    case max
}

/// Extracts pooled last-hidden-layer embeddings from a `GluFormerNetwork`.
public struct GluFormerEmbedder {
    /// The network.
    public let network: GluFormerNetwork
    /// Chunks per forward pass (memory bound only; results do not depend on it).
    public var batchSize: Int

    /// An embedder for `network`.
    public init(network: GluFormerNetwork, batchSize: Int = 16) {
        self.network = network
        self.batchSize = max(1, batchSize)
    }

    /// Embedding dimension d.
    public var dimension: Int { network.config.dModel }

    /// The chunks (real tokens) a subject's runs are cut into: consecutive pieces of at most maxLength tokens.
    public func chunks(_ runs: [[Int]]) -> [[Int]] {
        let m = network.config.maxLength
        var out: [[Int]] = []
        for run in runs where !run.isEmpty {
            var a = 0
            while a < run.count {
                out.append(Array(run[a ..< min(a + m, run.count)]))
                a += m
            }
        }
        return out
    }

    /// The last hidden states of every real token of `chunks`, per chunk (tokens × d, row-major).
    public func hiddenStates(_ chunks: [[Int]]) -> [[Float]] {
        let d = dimension
        var out: [[Float]] = []
        var start = 0
        while start < chunks.count {
            let rows = Array(chunks[start ..< min(start + batchSize, chunks.count)])
            let batch = GluFormerTokenBatch(rows: rows)
            let g = Graph(training: false, recording: false)
            let h = network.hidden(tokens: batch.tokens, positions: batch.positions, padding: batch.padding,
                                   batch: batch.batch, length: batch.length, network.store.bind(g)).value
            let s = batch.length
            for (r, row) in rows.enumerated() {
                let first = s - row.count   // left padding
                out.append(Array(UnsafeBufferPointer(start: h.pointer + (r * s + first) * d, count: row.count * d)))
            }
            start += batchSize
        }
        return out
    }

    /// One vector (d) for a subject whose tokens come as gap-free `runs` (oldest first), pooled over every token.
    /// - Precondition: at least one glucose token.
    public func embed(runs: [[Int]], pooling: GluFormerPooling) -> [Float] {
        let chunks = self.chunks(runs)
        precondition(!chunks.isEmpty, "GluFormerEmbedder: no tokens to embed")
        precondition(chunks.allSatisfy { $0.allSatisfy { (0 ..< GlucoseTokenizer.glucoseVocabulary).contains($0) } },
                     "GluFormerEmbedder: runs must hold glucose tokens 0…460 only")
        let d = dimension
        var acc = [Double](repeating: pooling == .max ? -.infinity : 0, count: d)
        var count = 0
        for states in hiddenStates(chunks) {
            states.withUnsafeBufferPointer { s in
                for t in 0 ..< s.count / d {
                    for j in 0 ..< d {
                        let v = Double(s[t * d + j])
                        if pooling == .max { acc[j] = Swift.max(acc[j], v) } else { acc[j] += v }
                    }
                }
            }
            count += states.count / d
        }
        return acc.map { Float(pooling == .max ? $0 : $0 / Double(count)) }
    }
}
