// DistributedSampler: PyTorch DistributedSampler semantics (equal counts, padding/dropping, epoch-seeded
// shuffle) and the property data-parallel equivalence rests on: the union over R ranks of step s's
// batches of size B is the single-rank step s batch of size R·B.

import Foundation
import XCTest
@testable import CGMData

final class SamplerTests: XCTestCase {

    func testSplitMix64MatchesReferenceVectors() {
        // Reference outputs of SplitMix64 from seed 0 (Vigna's splitmix64.c).
        var rng = SamplerRNG(seed: 0)
        XCTAssertEqual(rng.next(), 0xE220_A839_7B1D_CDAF)
        XCTAssertEqual(rng.next(), 0x6E78_9E6A_A1B9_65F4)
        XCTAssertEqual(rng.next(), 0x06C4_5D18_8009_454F)
        var bounded = SamplerRNG(seed: 7)
        let draws = (0..<10_000).map { _ in bounded.next(below: 6) }
        XCTAssertEqual(Set(draws), Set(0..<6))
        for v in 0..<6 { XCTAssertEqual(Double(draws.filter { $0 == v }.count), 10_000.0 / 6, accuracy: 200) }
    }

    func testPermutationIsDeterministicAndComplete() {
        let p = SamplerRNG.permutation(count: 50, seed: 11)
        XCTAssertEqual(p.sorted(), Array(0..<50))
        XCTAssertEqual(p, SamplerRNG.permutation(count: 50, seed: 11))
        XCTAssertNotEqual(p, SamplerRNG.permutation(count: 50, seed: 12))
        XCTAssertNotEqual(p, Array(0..<50))
        XCTAssertEqual(SamplerRNG.permutation(count: 0, seed: 1), [])
        XCTAssertEqual(SamplerRNG.permutation(count: 1, seed: 1), [0])
    }

    func testPyTorchPaddingWithoutShuffle() {
        // N = 10, R = 4: numSamples 3, total 12, padded with indices 0 and 1 (torch gives the same).
        let ranks = (0..<4).map { DistributedSampler(count: 10, numReplicas: 4, rank: $0, shuffle: false).indices() }
        XCTAssertEqual(ranks, [[0, 4, 8], [1, 5, 9], [2, 6, 0], [3, 7, 1]])
        // Padding longer than the data repeats it: N = 2, R = 5.
        let tiny = (0..<5).map { DistributedSampler(count: 2, numReplicas: 5, rank: $0, shuffle: false).indices() }
        XCTAssertEqual(tiny, [[0], [1], [0], [1], [0]])
        // dropLast: floor(10 / 4) = 2 each, the tail dropped.
        let dropped = (0..<4).map {
            DistributedSampler(count: 10, numReplicas: 4, rank: $0, shuffle: false, dropLast: true).indices()
        }
        XCTAssertEqual(dropped, [[0, 4], [1, 5], [2, 6], [3, 7]])
        XCTAssertEqual(DistributedSampler(count: 0, numReplicas: 3, rank: 2).indices(), [])
    }

    func testEqualCountsAndCoverageForManySizes() {
        for n in [1, 7, 16, 33] {
            for r in [1, 2, 3, 4] {
                for dropLast in [false, true] {
                    var samplers = (0..<r).map {
                        DistributedSampler(count: n, numReplicas: r, rank: $0, seed: 5, dropLast: dropLast)
                    }
                    for k in samplers.indices { samplers[k].setEpoch(2) }
                    let lists = samplers.map { $0.indices() }
                    let expected = dropLast ? n / r : (n + r - 1) / r
                    XCTAssertEqual(lists.map(\.count), Array(repeating: expected, count: r), "n \(n) r \(r)")
                    let all = lists.flatMap { $0 }
                    if dropLast {
                        XCTAssertEqual(Set(all).count, all.count, "no duplicates when dropping")
                    } else {
                        XCTAssertEqual(Set(all), Set(0..<n), "every sample seen, n \(n) r \(r)")
                        XCTAssertEqual(all.count - n, expected * r - n, "padding only")
                    }
                }
            }
        }
    }

    func testEpochChangesTheOrderAndSeedFixesIt() {
        var a = DistributedSampler(count: 40, numReplicas: 2, rank: 1, seed: 9)
        let e0 = a.indices()
        a.setEpoch(1)
        let e1 = a.indices()
        XCTAssertNotEqual(e0, e1)
        var b = DistributedSampler(count: 40, numReplicas: 2, rank: 1, seed: 9)
        b.setEpoch(1)
        XCTAssertEqual(b.indices(), e1, "same seed and epoch, same order")
        XCTAssertNotEqual(DistributedSampler(count: 40, numReplicas: 2, rank: 1, seed: 10).indices(), e0)
        // seed + epoch semantics (as in torch): (seed 9, epoch 1) == (seed 10, epoch 0).
        XCTAssertEqual(DistributedSampler(count: 40, numReplicas: 2, rank: 1, seed: 10).indices(), e1)
        XCTAssertEqual(a.globalOrder(), SamplerRNG.permutation(count: 40, seed: 10))
    }

    func testUnionOfRankBatchesEqualsSingleRankBatchOfRTimesB() {
        let n = 103
        let batch = 4
        for r in [1, 2, 4] {
            for epoch in 0..<3 {
                var single = DistributedSampler(count: n, numReplicas: 1, rank: 0, seed: 21)
                single.setEpoch(epoch)
                let big = single.batches(batchSize: r * batch)
                let perRank: [[[Int]]] = (0..<r).map { rank in
                    var s = DistributedSampler(count: n, numReplicas: r, rank: rank, seed: 21)
                    s.setEpoch(epoch)
                    return s.batches(batchSize: batch)
                }
                let steps = perRank[0].count
                XCTAssertTrue(perRank.allSatisfy { $0.count == steps }, "every rank runs the same number of steps")
                XCTAssertEqual(steps, big.count)
                // Full steps: exactly the same set of global indices.
                let fullSteps = n / (r * batch)
                for s in 0..<fullSteps {
                    let union = perRank.flatMap { $0[s] }
                    XCTAssertEqual(union.count, r * batch)
                    XCTAssertEqual(Set(union), Set(big[s]), "r \(r) epoch \(epoch) step \(s)")
                    // Rank-major interleaving: rank k's j-th sample is the single-rank sample j·R + k.
                    for k in 0..<r {
                        XCTAssertEqual(perRank[k][s], (0..<batch).map { big[s][$0 * r + k] })
                    }
                }
                // Last step: the single-rank batch, plus padding repeated from the start of the order.
                if fullSteps < steps {
                    let union = Set(perRank.flatMap { $0[fullSteps] })
                    XCTAssertTrue(Set(big[fullSteps]).isSubset(of: union))
                    XCTAssertTrue(union.subtracting(big[fullSteps]).isSubset(of: Set(single.globalOrder().prefix(r))))
                }
            }
        }
    }

    func testBatchesCutRankIndices() {
        let s = DistributedSampler(count: 10, numReplicas: 1, rank: 0, shuffle: false)
        XCTAssertEqual(s.batches(batchSize: 4), [[0, 1, 2, 3], [4, 5, 6, 7], [8, 9]])
        XCTAssertEqual(s.batches(batchSize: 4, dropLastBatch: true), [[0, 1, 2, 3], [4, 5, 6, 7]])
        XCTAssertEqual(s.batches(batchSize: 20), [Array(0..<10)])
        XCTAssertEqual(s.numSamples, 10)
        XCTAssertEqual(DistributedSampler(count: 10, numReplicas: 3, rank: 0).totalSize, 12)
    }

    /// The trainer's epoch geometry counts batches without drawing the order: the count must be what `batches` cuts.
    func testBatchCountIsTheNumberOfBatches() {
        for count in [0, 1, 7, 100, 101] {
            for replicas in [1, 2, 3, 4] {
                for batch in [1, 3, 10, 64] {
                    for dropLast in [false, true] {
                        let s = DistributedSampler(count: count, numReplicas: replicas, rank: replicas - 1, seed: 5, dropLast: dropLast)
                        for dropLastBatch in [false, true] {
                            XCTAssertEqual(s.batchCount(batchSize: batch, dropLastBatch: dropLastBatch),
                                           s.batches(batchSize: batch, dropLastBatch: dropLastBatch).count,
                                           "N \(count) R \(replicas) B \(batch) dropLast \(dropLast) dropLastBatch \(dropLastBatch)")
                        }
                    }
                }
            }
        }
    }
}
