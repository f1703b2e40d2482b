// Token rows as the network reads them: tokens (B, S) with left or inner padding, positions counted from each
// row's first real token, and padding flags. Next-token training pairs (GluFormer's autoregressive objective):
//   input  = tokens[0 ..< S−1],  target = tokens[1 ..< S],
//   a target is ignored (CE ignore index) when it is padding or when its input token is padding.

import CGMData

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

    /// Rows of equal length `length` (B·S tokens).
    public init(tokens: [Int], batch: Int, length: Int) {
        precondition(tokens.count == batch * length, "GluFormerTokenBatch: \(tokens.count) tokens for B \(batch) × S \(length)")
        self.batch = batch
        self.length = length
        self.tokens = tokens
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

    /// Rows of different lengths, left-padded to the longest.
    public init(rows: [[Int]]) {
        let s = rows.map(\.count).max() ?? 0
        var t: [Int] = []
        t.reserveCapacity(rows.count * s)
        for r in rows { t += [Int](repeating: GlucoseTokenizer.padding, count: s - r.count) + r }
        self.init(tokens: t, batch: rows.count, length: s)
    }

    /// The `tokens` extra of a batch (B, S) as a token batch.
    /// - Precondition: the batch has `extras["tokens"]`.
    public init(_ batch: Batch, key: String = "tokens") {
        guard let extra = batch.extras[key] else { preconditionFailure("GluFormer: the batch has no '\(key)' extra") }
        let s = extra.shape.reduce(1, *)
        self.init(tokens: extra.values.map { Int($0) }, batch: batch.count, length: s)
    }

    /// The first `count` tokens of every row.
    public func prefix(_ count: Int) -> GluFormerTokenBatch {
        var t: [Int] = []
        for b in 0 ..< batch { t += tokens[(b * length) ..< (b * length + count)] }
        return GluFormerTokenBatch(tokens: t, batch: batch, length: count)
    }

    /// Next-token pairs: the input rows (S − 1 tokens) and one target per input position (−100 = ignored).
    public func nextTokenPairs(ignoreIndex: Int = -100) -> (input: GluFormerTokenBatch, targets: [Int]) {
        precondition(length >= 2, "GluFormerTokenBatch: next-token pairs need at least 2 tokens per row, got \(length)")
        let s = length - 1
        var input: [Int] = [], targets: [Int] = []
        input.reserveCapacity(batch * s)
        targets.reserveCapacity(batch * s)
        for b in 0 ..< batch {
            for k in 0 ..< s {
                let x = tokens[b * length + k], y = tokens[b * length + k + 1]
                input.append(x)
                targets.append(x == GlucoseTokenizer.padding || y == GlucoseTokenizer.padding ? ignoreIndex : y)
            }
        }
        return (GluFormerTokenBatch(tokens: input, batch: batch, length: s), targets)
    }

    /// The real (non-padding) tokens of row `b`.
    public func realTokens(row b: Int) -> [Int] {
        tokens[(b * length) ..< ((b + 1) * length)].filter { $0 != GlucoseTokenizer.padding }
    }
}
