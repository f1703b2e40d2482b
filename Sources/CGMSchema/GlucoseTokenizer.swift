// GluFormer's glucose tokenizer (gluformer-readme, "Data Tokenization"): one token per mg/dL on the 5-minute grid.
//   token(g) = round(clamp(g, 40, 500)) − 40 ∈ 0 … 460   (461 glucose tokens; rounding half away from zero)
//   glucose(k) = k + 40 mg/dL
//   padding token 461 = glucoseVocabulary: above every glucose token, so it cannot collide with one; a missing
//   value (NaN on the grid) encodes as padding.
// Gaps: the grid comes from `Resampler` (gaps up to data.max_interpolation_gap_minutes are interpolated there);
// a longer gap stays NaN and splits the sequence (`segments`), so no token window spans it.

/// Glucose ↔ token mapping of GluFormer and the cutting of a grid into gap-free segments.
public enum GlucoseTokenizer {
    /// Lowest representable glucose (mg/dL); lower values are clipped to it.
    public static let minGlucose: Float = 40
    /// Highest representable glucose (mg/dL); higher values are clipped to it.
    public static let maxGlucose: Float = 500
    /// Number of glucose tokens (461: 40 … 500 mg/dL in 1 mg/dL steps).
    public static let glucoseVocabulary = 461
    /// The padding token (461), never a glucose token.
    public static let padding = 461
    /// Embedding rows: the glucose tokens plus padding (462).
    public static let vocabularySize = 462

    /// The token of a glucose value in mg/dL; NaN (missing) gives `padding`.
    @inlinable public static func token(_ glucose: Float) -> Int {
        guard !glucose.isNaN else { return padding }
        return Int(min(max(glucose, minGlucose), maxGlucose).rounded()) - Int(minGlucose)
    }

    /// The glucose value (mg/dL) of a token; `padding` gives NaN.
    /// - Precondition: 0 ≤ token ≤ padding.
    @inlinable public static func glucose(_ token: Int) -> Float {
        precondition(token >= 0 && token <= padding, "GlucoseTokenizer: token \(token) outside 0…\(padding)")
        return token == padding ? .nan : Float(token) + minGlucose
    }

    /// Tokens of a glucose series (NaN → padding).
    public static func tokens(_ glucose: [Float]) -> [Int] { glucose.map(token) }

    /// Glucose (mg/dL) of a token series (padding → NaN).
    public static func glucose(tokens: [Int]) -> [Float] { tokens.map(glucose) }

    /// The maximal runs of non-NaN values of a grid series, in order: the sequences a long gap splits.
    public static func segments(_ glucose: [Float]) -> [Range<Int>] {
        var out: [Range<Int>] = []
        var start: Int?
        for (i, g) in glucose.enumerated() {
            if g.isNaN {
                if let s = start { out.append(s ..< i) }
                start = nil
            } else if start == nil {
                start = i
            }
        }
        if let s = start { out.append(s ..< glucose.count) }
        return out
    }
}
