// Diet tokens of a subject's features and the fitting of their bins (DietTokenizer.swift in CGMSchema
// defines the bins and the token numbering).

import CGMSchema

extension DietBins {
    /// Per grid step of `f`, the N diet tokens (row-major, −1 = empty).
    public func tokens(_ f: SubjectFeatures) -> [Int] {
        let columns = nutrients.map { f.columns[$0] ?? [] }
        var out = [Int](repeating: -1, count: f.count * nutrients.count)
        for (n, c) in columns.enumerated() where !c.isEmpty {
            for i in 0 ..< f.count { out[i * nutrients.count + n] = token(n, grams: c[i]) }
        }
        return out
    }
}

extension FeatureSpec {
    /// Fits `dietBins` on the training scope's meals of `features` (which must carry the nutrient columns).
    public mutating func fitDiet(nutrients: [String], features: [SubjectFeatures], scope: [Int64?]) {
        var amounts = [[Float]](repeating: [], count: nutrients.count)
        for (s, f) in features.enumerated() {
            guard let cutoff = scope[s] else { continue }
            for (n, name) in nutrients.enumerated() {
                guard let c = f.columns[name] else { continue }
                for i in 0 ..< f.count where f.time(at: i) <= cutoff && c[i].isFinite && c[i] > 0 { amounts[n].append(c[i]) }
            }
        }
        dietBins = DietBins.fit(nutrients: nutrients, amounts: amounts)
    }
}
