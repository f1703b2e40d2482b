// The static VSN's inputs from a (B, S) statics tensor, shared by TFT and SSM-CGM (SSM-CGM A.6 eq. 7):
// a categorical column (category indices) → its embedding (B, E); a real column → the column (B, 1),
// which the VSN prescales. No gradient flows into the category indices.

import CGMTensor
import Layers

/// Turns the statics tensor into the per-column inputs of a static variable selection network.
enum TFTStaticInputs {
    /// One input per column of `statics` (B, S): `embeddings[j]` for categorical column j (whose values
    /// must be category indices in 0..<cardinality; `model` names the model in the message), the column itself otherwise.
    static func columns(_ statics: Var, inputs: [TFTConfig.StaticInput], embeddings: [Embedding?],
                        model: String, _ p: BoundParameters) -> [Var] {
        let g = statics.graph, values = statics.value
        let (b, s) = (statics.shape[0], inputs.count)
        return inputs.enumerated().map { j, input in
            guard let embedding = embeddings[j], let cardinality = input.cardinality else {
                return g.slice(statics, axis: 1, range: j..<(j + 1))   // (B, 1)
            }
            let indices = (0..<b).map { row -> Int in
                let v = values.pointer[row * s + j]
                precondition(v.rounded() == v && v >= 0 && Int(v) < cardinality,
                             "\(model): static '\(input.name)' (column \(j)) of batch row \(row) is \(v), not a category index in 0..<\(cardinality)")
                return Int(v)
            }
            return embedding(indices, p)   // (B, E)
        }
    }
}
