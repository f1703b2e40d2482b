// The subject bootstrap draws from SplitMix64 (CGMData's `SamplerRNG`, the generator of the epoch shuffles)
// so that confidence intervals are reproducible bit for bit from a seed.

import CGMData

public typealias BootstrapRNG = SamplerRNG

extension SamplerRNG {
    /// A uniform integer in 0..<n (n > 0), unbiased (Lemire's multiply-and-reject, `next(below:)`).
    public mutating func index(below n: Int) -> Int {
        precondition(n > 0, "index(below:): n must be positive")
        return Int(next(below: UInt64(n)))
    }
}
