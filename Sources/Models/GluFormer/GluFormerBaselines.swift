// Count baselines for GluFormer's next-token loss, fitted on the same next-token pairs the model trains on
// (`GluFormerTokenBatch.nextTokenPairs`: padding targets and targets after padding are skipped), with add-one
// (Laplace) smoothing over the 461 glucose tokens:
//   unigram  P(y) = (c(y) + 1) / (N + 461)
//   bigram   P(y | x) = (c(x, y) + 1) / (c(x) + 461)
// `nll` is the mean −log P over the counted pairs of other data, comparable with the model's cross-entropy.

import CGMSchema
import Foundation

/// Unigram and bigram next-token models with add-one smoothing.
public struct GluFormerCountBaselines {
    private var unigram = [Double](repeating: 0, count: GlucoseTokenizer.glucoseVocabulary)
    private var bigram = [Double](repeating: 0, count: GlucoseTokenizer.glucoseVocabulary * GlucoseTokenizer.glucoseVocabulary)
    private var context = [Double](repeating: 0, count: GlucoseTokenizer.glucoseVocabulary)
    /// Pairs counted.
    public private(set) var pairs = 0

    /// Empty counts.
    public init() {}

    /// Counts the next-token pairs of `tokens`.
    public mutating func fit(_ tokens: GluFormerTokenBatch) {
        forEachPair(tokens) { x, y in
            unigram[y] += 1
            bigram[x * GlucoseTokenizer.glucoseVocabulary + y] += 1
            context[x] += 1
            pairs += 1
        }
    }

    /// Mean negative log-likelihood (nats) of the pairs of `tokens` under the unigram and the bigram model,
    /// and the number of pairs.
    public func nll(_ tokens: GluFormerTokenBatch) -> (unigram: Double, bigram: Double, pairs: Int) {
        let v = Double(GlucoseTokenizer.glucoseVocabulary)
        var u = 0.0, b = 0.0, n = 0
        forEachPair(tokens) { x, y in
            u -= Foundation.log((unigram[y] + 1) / (Double(pairs) + v))
            b -= Foundation.log((bigram[x * GlucoseTokenizer.glucoseVocabulary + y] + 1) / (context[x] + v))
            n += 1
        }
        return (n > 0 ? u / Double(n) : .nan, n > 0 ? b / Double(n) : .nan, n)
    }

    private func forEachPair(_ tokens: GluFormerTokenBatch, _ body: (Int, Int) -> Void) {
        let (input, targets) = tokens.nextTokenPairs()
        for (i, y) in targets.enumerated() where y >= 0 { body(input.tokens[i], y) }
    }
}
