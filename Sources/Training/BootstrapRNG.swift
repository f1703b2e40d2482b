// SplitMix64 (Steele, Lea & Flood 2014; the generator Java's SplittableRandom and Vigna's xoshiro seeding use):
// a 64-bit counter advanced by the golden-ratio increment, then finalized by two xor-shift-multiply rounds.
// Used for the subject bootstrap so that confidence intervals are reproducible bit for bit from a seed.

/// The SplitMix64 generator: deterministic, seedable, identical on every platform.
public struct BootstrapRNG: RandomNumberGenerator, Sendable {
    /// The counter.
    public private(set) var state: UInt64

    /// A generator whose first output is SplitMix64(seed).
    public init(seed: UInt64) { state = seed }

    /// The next 64 random bits.
    public mutating func next() -> UInt64 {
        state &+= 0x9E37_79B9_7F4A_7C15
        var z = state
        z = (z ^ (z >> 30)) &* 0xBF58_476D_1CE4_E5B9
        z = (z ^ (z >> 27)) &* 0x94D0_49BB_1331_11EB
        return z ^ (z >> 31)
    }

    /// A uniform integer in 0..<n (n > 0) by Lemire's multiply-and-reject method (unbiased).
    public mutating func index(below n: Int) -> Int {
        precondition(n > 0, "BootstrapRNG.index(below:): n must be positive")
        let bound = UInt64(n)
        var m = next().multipliedFullWidth(by: bound)
        if m.low < bound {
            let threshold = (0 &- bound) % bound
            while m.low < threshold { m = next().multipliedFullWidth(by: bound) }
        }
        return Int(m.high)
    }
}
