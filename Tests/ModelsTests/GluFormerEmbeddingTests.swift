// GluFormer subject embeddings: runs are cut into non-overlapping chunks of maxLength tokens, and mean / max pooling
// over every token equals the hand computation from each chunk's own last hidden layer; deterministic, dimension d,
// independent of the batch size, and the two poolings differ.

import CGMSchema
import CGMTensor
import XCTest
@testable import Models

final class GluFormerEmbeddingTests: XCTestCase {
    let net = GluFormerNetwork(GluFormerConfig(spec: GluFormerSpec(dModel: 8, heads: 2, layers: 2, feedForward: 12,
                                                                   dropout: 0.1, residual: false), maxLength: 6), seed: 4)

    func tokens(_ n: Int, from g0: Int) -> [Int] { (0 ..< n).map { GlucoseTokenizer.token(Float(g0 + 7 * $0 % 40)) } }

    /// The last hidden states (S × d) of one chunk run alone.
    func alone(_ chunk: [Int]) -> [[Float]] {
        let b = GluFormerTokenBatch(rows: [chunk])
        let h = net.hidden(tokens: b.tokens, positions: b.positions, padding: b.padding, batch: 1, length: b.length,
                           net.store.bind(Graph(training: false, recording: false))).value.scalars
        return (0 ..< chunk.count).map { Array(h[($0 * 8) ..< ($0 * 8 + 8)]) }
    }

    func testPoolingMatchesHandComputationOverChunks() {
        let runs = [tokens(10, from: 100), tokens(3, from: 180)]
        let embedder = GluFormerEmbedder(network: net)
        let chunks = embedder.chunks(runs)
        XCTAssertEqual(chunks.map(\.count), [6, 4, 3], "10 tokens → 6 + 4 (maxLength 6), then the 3-token run")
        XCTAssertEqual(chunks.flatMap { $0 }, runs.flatMap { $0 }, "chunks cover every token once, in order")

        let states = chunks.flatMap(alone)   // 13 token states
        XCTAssertEqual(states.count, 13)
        var mean = [Float](repeating: 0, count: 8), maximum = [Float](repeating: -.infinity, count: 8)
        for s in states { for j in 0 ..< 8 { mean[j] += s[j] / 13; maximum[j] = max(maximum[j], s[j]) } }

        let m = embedder.embed(runs: runs, pooling: .mean), x = embedder.embed(runs: runs, pooling: .max)
        XCTAssertEqual(m.count, 8)
        XCTAssertEqual(x.count, 8)
        for j in 0 ..< 8 {
            XCTAssertEqual(m[j], mean[j], accuracy: 1e-5, "mean pooling, dimension \(j)")
            XCTAssertEqual(x[j], maximum[j], accuracy: 1e-5, "max pooling, dimension \(j)")
        }
        XCTAssertNotEqual(m, x, "mean and max pooling differ")
        XCTAssertTrue(zip(x, m).allSatisfy { $0 >= $1 - 1e-6 }, "the maximum is at least the mean")
        // Not a mean of chunk means: the 3-token chunk weighs 3/13, not 1/3.
        let chunkMeans = chunks.map(alone).map { c in (0 ..< 8).map { j in c.reduce(0) { $0 + $1[j] } / Float(c.count) } }
        let meanOfMeans = (0 ..< 8).map { j in chunkMeans.reduce(0) { $0 + $1[j] } / 3 }
        XCTAssertGreaterThan(zip(meanOfMeans, m).map { abs($0 - $1) }.max()!, 1e-4)
    }

    func testDeterministicAndIndependentOfBatchSize() {
        let runs = [tokens(17, from: 90), tokens(5, from: 200), tokens(8, from: 60)]
        let a = GluFormerEmbedder(network: net, batchSize: 16).embed(runs: runs, pooling: .mean)
        XCTAssertEqual(a, GluFormerEmbedder(network: net, batchSize: 16).embed(runs: runs, pooling: .mean), "same bits")
        let one = GluFormerEmbedder(network: net, batchSize: 1).embed(runs: runs, pooling: .mean)
        for j in 0 ..< 8 { XCTAssertEqual(a[j], one[j], accuracy: 1e-5) }
        XCTAssertTrue(a.allSatisfy(\.isFinite))
        // Different glucose, different embedding.
        XCTAssertNotEqual(a, GluFormerEmbedder(network: net).embed(runs: [tokens(17, from: 250)], pooling: .mean))
    }
}
