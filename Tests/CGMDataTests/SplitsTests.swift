// Splits: the seeded subject split (determinism, disjointness, sizes) and the temporal split's
// boundaries by decision time.

import XCTest
@testable import CGMData

final class SplitsTests: XCTestCase {
    private let ids = (0 ..< 20).map { String(format: "S%02d", $0) }

    func testSubjectSplitIsDeterministicAndDisjoint() {
        let a = SubjectSplit.random(ids, seed: 7)
        XCTAssertEqual(a, SubjectSplit.random(ids, seed: 7))
        XCTAssertEqual(a, SubjectSplit.random(ids.reversed() + ["S03"], seed: 7), "order and repeats of the input do not matter")
        XCTAssertEqual([a.train.count, a.validation.count, a.test.count], [14, 3, 3])
        let all = a.train + a.validation + a.test
        XCTAssertEqual(Set(all).count, 20, "no subject in two splits")
        XCTAssertEqual(Set(all), Set(ids))
        XCTAssertNotEqual(a, SubjectSplit.random(ids, seed: 8))
        XCTAssertEqual(a.split(of: a.test[0]), .test)
        XCTAssertNil(a.split(of: "nobody"))
    }

    func testSubjectSplitGoldenPartition() {
        // Pins SplitMix64 + Fisher–Yates over the sorted ids: a change here changes every dataset split.
        // Expected values from an independent Python re-implementation (64-bit SplitMix64, rejection
        // sampling below the largest multiple of the bound, swaps i = n−1 … 1).
        let split = SubjectSplit.random(ids, seed: 42)
        XCTAssertEqual(split.validation, goldenValidation)
        XCTAssertEqual(split.test, goldenTest)
    }

    private let goldenValidation = ["S02", "S05", "S12"]
    private let goldenTest = ["S00", "S13", "S15"]

    func testEverySplitGetsASubjectFromThreeUp() {
        let three = SubjectSplit.random(["a", "b", "c"], seed: 1)
        XCTAssertEqual([three.train.count, three.validation.count, three.test.count], [1, 1, 1])
        let four = SubjectSplit.random(["a", "b", "c", "d"], seed: 1)
        XCTAssertEqual([four.train.count, four.validation.count, four.test.count], [2, 1, 1])
        let noTest = SubjectSplit.random(["a", "b", "c", "d"], seed: 1, fractions: [0.75, 0.25, 0])
        XCTAssertEqual([noTest.train.count, noTest.validation.count, noTest.test.count], [3, 1, 0])
        let one = SubjectSplit.random(["a"], seed: 1)
        XCTAssertEqual(one.train, ["a"])
    }

    func testTemporalSplitBoundariesByDecisionTime() throws {
        // 60 grid points (5 h) and a window at every decision index 0 … 47 with H = 12 (1 h).
        // E = last target time = time(47) + 60 min = time(59).
        //   test:        targets in (E − 60, E]        → t = time(47) only
        //   validation:  targets in (E − 120, E − 60]  → t = time(35) only
        //   train:       targets end by E − 120         → t ≤ time(23)
        //   discarded:   t = 24…34 and 36…46 (targets straddle a boundary)
        let f = try FeatureBuilder().build(makeResampledSubject([Float](repeating: 100, count: 60)), features: [])
        let empty = try FeatureBuilder().build(makeResampledSubject([100], id: "B"), features: [])
        let refs = (0 ... 47).map { WindowRef(subject: 0, decision: $0) }
        let (splits, cutoff) = TemporalSplit(horizon: 12).assign(refs, features: [f, empty])
        XCTAssertEqual(refs.indices.filter { splits[$0] == .test }, [47])
        XCTAssertEqual(refs.indices.filter { splits[$0] == .validation }, [35])
        XCTAssertEqual(refs.indices.filter { splits[$0] == .train }, Array(0 ... 23))
        XCTAssertEqual(splits.filter { $0 == nil }.count, 22)
        XCTAssertEqual(cutoff, [f.time(at: 35), nil], "training data ends where validation targets begin")
        // Target periods never overlap across splits: (t, t + 60 min] of each split lie in disjoint intervals.
        func targetRange(_ split: SplitName) -> ClosedRange<Int64> {
            let times = refs.indices.filter { splits[$0] == split }.map { f.time(at: refs[$0].decision) }
            return (times.min()! + 300) ... (times.max()! + 3600)
        }
        XCTAssertLessThan(targetRange(.train).upperBound, targetRange(.validation).lowerBound)
        XCTAssertLessThan(targetRange(.validation).upperBound, targetRange(.test).lowerBound)
    }

    func testTemporalSplitWithStrideTwelve() throws {
        // Stride 12: decisions 0, 12, 24, 36 → E = time(48); test t = 36, validation t = 24, train t = 0 and 12.
        let f = try FeatureBuilder().build(makeResampledSubject([Float](repeating: 100, count: 49)), features: [])
        let refs = [0, 12, 24, 36].map { WindowRef(subject: 0, decision: $0) }
        let (splits, _) = TemporalSplit(horizon: 12).assign(refs, features: [f])
        XCTAssertEqual(splits, [.train, .train, .validation, .test])
    }
}
