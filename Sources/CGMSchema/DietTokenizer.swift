// GluFormer diet tokens (gluformer-readme §9, "integrating dietary tokens (carbohydrates, proteins, fats) alongside
// glucose tokens"). With data.diet_tokens: true (preset gluformer) every logged meal becomes one token per nutrient:
//   nutrients  those of carbs_g, protein_g, fat_g, fibre_g the CSV has (carbs_g required), in that order: N slots
//   bins       B = 8 quantile bins per nutrient, fitted on the training scope's meals (amount > 0 in a 5-min bin):
//              edges e_1 … e_{B−1} = the k/B quantiles (k = 1 … B−1, linear interpolation); bin(x) = #{k : x ≥ e_k}
//   token      462 + n·B + bin(x)  for nutrient n with x > 0 g in the bin (after the 461 glucose tokens and padding
//              461); an empty slot (no meal, or 0 g of that nutrient) is −1
// Placement: a meal's tokens are ADDED to the embedding of the glucose token of the 5-minute step it is logged in
// (x_t = E[glucose_t] + Σ_n E[diet_{t,n}] + PE(t)); they replace nothing and shift no position, so the time grid,
// the window geometry, the causal mask and the KV cache are those of glucose-only GluFormer. A meal at step t informs
// the prediction of t + 1 onward. The edges are recorded in the fitted FeatureSpec (`dietBins`), so the manifest and
// every checkpoint carry them (generate --meal maps grams to tokens with them).

/// Quantile bins of meal nutrients and the diet-token numbering.
public struct DietBins: Codable, Equatable, Sendable {
    /// The nutrient columns that may appear, in slot order.
    public static let candidates = ["carbs_g", "protein_g", "fat_g", "fibre_g"]
    /// Bins per nutrient.
    public static let binsPerNutrient = 8
    /// The first diet token (after the glucose tokens and padding).
    public static let firstToken = GlucoseTokenizer.vocabularySize

    /// Nutrient columns, in slot order.
    public var nutrients: [String]
    /// Per nutrient, the B − 1 interior bin edges (grams, non-decreasing).
    public var edges: [[Float]]

    public init(nutrients: [String], edges: [[Float]]) {
        self.nutrients = nutrients
        self.edges = edges
    }

    /// Extra embedding rows the diet tokens need (N · B).
    public var vocabulary: Int { nutrients.count * Self.binsPerNutrient }

    /// The bin (0 ..< B) of `grams` of nutrient `n`.
    public func bin(_ n: Int, grams: Float) -> Int { edges[n].reduce(0) { grams >= $1 ? $0 + 1 : $0 } }

    /// The token of `grams` of nutrient `n`, or −1 when there is none (NaN or ≤ 0 g).
    public func token(_ n: Int, grams: Float) -> Int {
        guard grams.isFinite, grams > 0 else { return -1 }
        return Self.firstToken + n * Self.binsPerNutrient + bin(n, grams: grams)
    }

    /// The k/B quantiles (k = 1 … B − 1) of the positive amounts per nutrient.
    /// - Precondition: as many amount lists as nutrients.
    public static func fit(nutrients: [String], amounts: [[Float]]) -> DietBins {
        precondition(nutrients.count == amounts.count, "DietBins.fit: \(nutrients.count) nutrients, \(amounts.count) amount lists")
        let b = binsPerNutrient
        let edges = amounts.map { list -> [Float] in
            let v = list.filter { $0.isFinite && $0 > 0 }.sorted()
            guard !v.isEmpty else { return [Float](repeating: .infinity, count: b - 1) }   // never seen: bin 0
            return (1 ..< b).map { k in
                let x = Double(k) / Double(b) * Double(v.count - 1), i = Int(x), f = Float(x - Double(i))
                return i + 1 < v.count ? v[i] + f * (v[i + 1] - v[i]) : v[i]
            }
        }
        return DietBins(nutrients: nutrients, edges: edges)
    }
}
