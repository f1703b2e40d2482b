import Foundation

/// A seeded xoshiro256** generator (Blackman & Vigna 2018), seeded through SplitMix64.
///
/// Every random draw in this module goes through one of these: the same `(seed, stream)` gives the
/// same numbers on every run, and independent streams (one per subject, one per twin population, ...)
/// keep results independent of the order in which they are consumed.
public struct SeededGenerator: RandomNumberGenerator, Sendable {
    private var s0: UInt64, s1: UInt64, s2: UInt64, s3: UInt64

    /// Generator for `stream` under `seed`; distinct streams are statistically independent.
    public init(seed: UInt64, stream: UInt64 = 0) {
        var sm = seed ^ (stream &* 0x9E37_79B9_7F4A_7C15) ^ 0xD1B5_4A32_D192_ED03
        s0 = SeededGenerator.splitMix(&sm)
        s1 = SeededGenerator.splitMix(&sm)
        s2 = SeededGenerator.splitMix(&sm)
        s3 = SeededGenerator.splitMix(&sm)
    }

    private static func splitMix(_ x: inout UInt64) -> UInt64 {
        x &+= 0x9E37_79B9_7F4A_7C15
        var z = x
        z = (z ^ (z >> 30)) &* 0xBF58_476D_1CE4_E5B9
        z = (z ^ (z >> 27)) &* 0x94D0_49BB_1331_11EB
        return z ^ (z >> 31)
    }

    public mutating func next() -> UInt64 {
        let result = ((s1 &* 5) << 7 | (s1 &* 5) >> 57) &* 9
        let t = s1 << 17
        s2 ^= s0
        s3 ^= s1
        s1 ^= s2
        s0 ^= s3
        s2 ^= t
        s3 = (s3 << 45) | (s3 >> 19)
        return result
    }

    /// Uniform in [0, 1) with 53 bits of resolution.
    public mutating func uniform() -> Double { Double(next() >> 11) * 0x1p-53 }

    /// Uniform in [low, high).
    public mutating func uniform(_ low: Double, _ high: Double) -> Double { low + (high - low) * uniform() }

    /// Uniform integer in `range`.
    public mutating func int(_ range: ClosedRange<Int>) -> Int {
        let span = UInt64(range.upperBound - range.lowerBound + 1)
        return range.lowerBound + Int(next() % span)
    }

    /// True with probability `p`.
    public mutating func bernoulli(_ p: Double) -> Bool { uniform() < p }

    /// Standard normal by Box–Muller (one value per call, so the stream position is predictable).
    public mutating func normal() -> Double {
        let u1 = max(uniform(), 1e-300)
        let u2 = uniform()
        return (-2 * Foundation.log(u1)).squareRoot() * Foundation.cos(2 * Double.pi * u2)
    }

    /// Normal with mean `mean` and standard deviation `sd`.
    public mutating func normal(mean: Double, sd: Double) -> Double { mean + sd * normal() }

    /// Log-normal with the given median and coefficient of variation:
    /// `median · exp(σ z)`, `σ = sqrt(ln(1 + cv²))`.
    public mutating func logNormal(median: Double, cv: Double) -> Double {
        let sigma = Foundation.log(1 + cv * cv).squareRoot()
        return median * Foundation.exp(sigma * normal())
    }

    /// Normal draw resampled until it lies in `range` (at most 64 tries, then clamped).
    public mutating func truncatedNormal(mean: Double, sd: Double, in range: ClosedRange<Double>) -> Double {
        for _ in 0..<64 {
            let v = normal(mean: mean, sd: sd)
            if range.contains(v) { return v }
        }
        return min(max(mean, range.lowerBound), range.upperBound)
    }

    /// Exponential with the given mean.
    public mutating func exponential(mean: Double) -> Double { -mean * Foundation.log(max(1 - uniform(), 1e-300)) }

    /// Poisson count with mean `lambda` (Knuth's method; small means only).
    public mutating func poisson(_ lambda: Double) -> Int {
        let limit = Foundation.exp(-lambda)
        var k = 0
        var p = uniform()
        while p > limit && k < 1000 {
            k += 1
            p *= uniform()
        }
        return k
    }

    /// Deterministic Fisher–Yates shuffle.
    public mutating func shuffle<T>(_ a: inout [T]) {
        guard a.count > 1 else { return }
        for i in stride(from: a.count - 1, to: 0, by: -1) {
            a.swapAt(i, int(0...i))
        }
    }
}
