// Token rows as the network reads them: tokens (B, S) with left or inner padding, positions counted from each
// row's first real token, and padding flags. Next-token training pairs (GluFormer's autoregressive objective):
//   input  = tokens[0 ..< S−1],  target = tokens[1 ..< S],
//   a target is ignored (CE ignore index) when it is padding or when its input token is padding.

import CGMSchema

/// B rows of S tokens ready for `GluFormerNetwork`.
public struct GluFormerTokenBatch: Equatable {
    /// Rows B.
    public var batch: Int
    /// Tokens per row S.
    public var length: Int
    /// B·S tokens, row-major (padding = `GlucoseTokenizer.padding`).
    public var tokens: [Int]
    /// B·S positions: index minus the row's first real index (0 on padding before it).
    public var positions: [Int]
    /// B·S flags: true on padding.
    public var padding: [Bool]
    /// B·S·N diet tokens (−1 = empty slot), or nil without diet tokens.
    public var diet: [Int]?
    /// Diet slots per position N (0 without diet tokens).
    public var slots: Int

    /// Rows of equal length `length` (B·S tokens), with optional diet tokens (B·S·`slots`).
    public init(tokens: [Int], batch: Int, length: Int, diet: [Int]? = nil, slots: Int = 0) {
        precondition(tokens.count == batch * length, "GluFormerTokenBatch: \(tokens.count) tokens for B \(batch) × S \(length)")
        precondition(diet == nil || (slots > 0 && diet!.count == tokens.count * slots),
                     "GluFormerTokenBatch: \(diet?.count ?? 0) diet tokens for \(tokens.count) tokens × \(slots) slots")
        self.batch = batch
        self.length = length
        self.tokens = tokens
        self.diet = diet
        self.slots = diet == nil ? 0 : slots
        padding = tokens.map { $0 == GlucoseTokenizer.padding }
        positions = [Int](repeating: 0, count: tokens.count)
        for b in 0 ..< batch {
            var first: Int?
            for k in 0 ..< length where !padding[b * length + k] {
                if first == nil { first = k }
                positions[b * length + k] = k - first!
            }
        }
    }

    /// Rows of different lengths, left-padded to the longest; `diet` rows (count·`slots` each) padded with −1.
    public init(rows: [[Int]], diet: [[Int]]? = nil, slots: Int = 0) {
        let s = rows.map(\.count).max() ?? 0
        var t: [Int] = []
        t.reserveCapacity(rows.count * s)
        for r in rows { t += [Int](repeating: GlucoseTokenizer.padding, count: s - r.count) + r }
        var d: [Int]? = nil
        if let diet {
            precondition(diet.count == rows.count, "GluFormerTokenBatch: \(diet.count) diet rows for \(rows.count) rows")
            d = []
            for (r, row) in zip(rows, diet) { d! += [Int](repeating: -1, count: (s - r.count) * slots) + row }
        }
        self.init(tokens: t, batch: rows.count, length: s, diet: d, slots: slots)
    }

    /// The `tokens` extra of a batch (B, S) as a token batch.
    /// - Precondition: the batch has `extras["tokens"]`.
    public init(_ batch: Batch, key: String = "tokens") {
        guard let extra = batch.extras[key] else { preconditionFailure("GluFormer: the batch has no '\(key)' extra") }
        let s = extra.shape.reduce(1, *)
        let diet = batch.extras["diet"]
        self.init(tokens: extra.values.map { Int($0) }, batch: batch.count, length: s,
                  diet: diet?.values.map { Int($0) }, slots: diet?.shape.last ?? 0)
    }

    /// The diet tokens of row `b`'s real (non-padding) positions (count·N), or nil without diet tokens.
    public func realDiet(row b: Int) -> [Int]? {
        guard let diet else { return nil }
        var out: [Int] = []
        for k in 0 ..< length where !padding[b * length + k] {
            out += diet[((b * length + k) * slots) ..< ((b * length + k + 1) * slots)]
        }
        return out
    }

    /// The diet tokens of positions `range` of row `b` (range.count·N), or nil without diet tokens.
    public func diet(row b: Int, _ range: Range<Int>) -> [Int]? {
        diet.map { Array($0[((b * length + range.lowerBound) * slots) ..< ((b * length + range.upperBound) * slots)]) }
    }

    /// The first `count` tokens of every row.
    public func prefix(_ count: Int) -> GluFormerTokenBatch {
        var t: [Int] = [], d: [Int] = []
        for b in 0 ..< batch {
            t += tokens[(b * length) ..< (b * length + count)]
            if let diet { d += diet[(b * length * slots) ..< ((b * length + count) * slots)] }
        }
        return GluFormerTokenBatch(tokens: t, batch: batch, length: count, diet: diet == nil ? nil : d, slots: slots)
    }

    /// Next-token pairs: the input rows (S − 1 tokens) and one target per input position (−100 = ignored).
    public func nextTokenPairs(ignoreIndex: Int = -100) -> (input: GluFormerTokenBatch, targets: [Int]) {
        precondition(length >= 2, "GluFormerTokenBatch: next-token pairs need at least 2 tokens per row, got \(length)")
        let s = length - 1
        var input: [Int] = [], targets: [Int] = [], inputDiet: [Int] = []
        input.reserveCapacity(batch * s)
        targets.reserveCapacity(batch * s)
        for b in 0 ..< batch {
            for k in 0 ..< s {
                let x = tokens[b * length + k], y = tokens[b * length + k + 1]
                input.append(x)
                targets.append(x == GlucoseTokenizer.padding || y == GlucoseTokenizer.padding ? ignoreIndex : y)
            }
            if let diet { inputDiet += diet[(b * length * slots) ..< ((b * length + s) * slots)] }
        }
        return (GluFormerTokenBatch(tokens: input, batch: batch, length: s, diet: diet == nil ? nil : inputDiet, slots: slots),
                targets)
    }

    /// The real (non-padding) tokens of row `b`.
    public func realTokens(row b: Int) -> [Int] {
        tokens[(b * length) ..< ((b + 1) * length)].filter { $0 != GlucoseTokenizer.padding }
    }
}
