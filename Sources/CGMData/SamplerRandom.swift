// SamplerRNG: SplitMix64 (Steele, Lea & Flood 2014), the small, fast, well-mixed 64-bit generator used
// for epoch shuffles. Deterministic across platforms and processes (unlike SystemRandomNumberGenerator),
// so every rank computes the same permutation from the same seed.

/// SplitMix64 pseudo-random generator: `state += 0x9E3779B97F4A7C15`, then a 64-bit finalizer.
public struct SamplerRNG: RandomNumberGenerator, Sendable {
    /// Internal state.
    public private(set) var state: UInt64

    /// Starts from `seed`.
    public init(seed: UInt64) { state = seed }

    /// Next 64 random bits.
    public mutating func next() -> UInt64 {
        state &+= 0x9E37_79B9_7F4A_7C15
        var z = state
        z = (z ^ (z >> 30)) &* 0xBF58_476D_1CE4_E5B9
        z = (z ^ (z >> 27)) &* 0x94D0_49BB_1331_11EB
        return z ^ (z >> 31)
    }

    /// Uniform integer in 0..<bound (bound > 0), unbiased (Lemire's multiply-and-reject).
    public mutating func next(below bound: UInt64) -> UInt64 {
        precondition(bound > 0, "SamplerRNG.next(below:): bound must be positive")
        var m = next().multipliedFullWidth(by: bound)
        if m.low < bound {
            let threshold = (0 &- bound) % bound
            while m.low < threshold { m = next().multipliedFullWidth(by: bound) }
        }
        return m.high
    }

    /// A permutation of 0..<count (Fisher–Yates, drawing from the end) determined by `seed`.
    public static func permutation(count: Int, seed: UInt64) -> [Int] {
        var rng = SamplerRNG(seed: seed)
        var p = Array(0..<count)
        var i = count - 1
        while i > 0 {
            let j = Int(rng.next(below: UInt64(i + 1)))
            p.swapAt(i, j)
            i -= 1
        }
        return p
    }
}
