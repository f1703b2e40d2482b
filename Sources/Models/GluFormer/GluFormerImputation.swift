// Gap imputation with GluFormer (gluformer-readme: "imputation of missing data segments"): every run of missing
// values (NaN) on a 5-minute glucose grid is filled by generating its length of tokens from the values just before
// it (at most maxLength − 1, back to the previous unfilled gap), with the given decoding (default: median, see
// GluFormerForecaster). A gap at the very start, with no context, stays NaN. The linear interpolation it is
// compared with (`linearFill`) also uses the value after the gap, which generation does not.

import CGMSchema

extension GluFormerGenerator {
    /// `glucose` (mg/dL, NaN = missing) with every gap that has preceding data filled by generation.
    public func impute(_ glucose: [Float], decoding: GluFormerDecoding = .median, seed: UInt64 = 0) -> [Float] {
        var out = glucose
        var i = 0
        while i < out.count {
            guard out[i].isNaN else { i += 1; continue }
            var j = i
            while j < out.count && out[j].isNaN { j += 1 }
            if i > 0 {
                var start = i   // the real values just before the gap, at most maxLength − 1
                while start > 0 && !out[start - 1].isNaN && i - start < network.config.maxLength - 1 { start -= 1 }
                let context = GlucoseTokenizer.tokens(Array(out[start ..< i]))
                let filled = generate(contexts: [context], steps: j - i, decoding: decoding, seed: seed).glucose[0]
                for k in i ..< j { out[k] = filled[k - i] }
            }
            i = j
        }
        return out
    }

    /// Linear interpolation across every interior gap (the reference imputation); edge gaps stay NaN.
    public static func linearFill(_ glucose: [Float]) -> [Float] {
        var out = glucose
        var i = 0
        while i < out.count {
            guard out[i].isNaN else { i += 1; continue }
            var j = i
            while j < out.count && out[j].isNaN { j += 1 }
            if i > 0 && j < out.count {
                let a = out[i - 1], b = out[j], span = Float(j - i + 1)
                for k in i ..< j { out[k] = a + (b - a) * Float(k - i + 1) / span }
            }
            i = j
        }
        return out
    }
}
