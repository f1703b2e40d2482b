/// Philox4x32-10 counter-based random numbers (Salmon et al., SC'11), as used by cuRAND and JAX.
///
/// A number is a pure function of (key, counter): dropout masks keyed by
/// (seed, step, global sample index) are identical whatever the number of ranks.
public enum Philox {
    public typealias Counter = (UInt32, UInt32, UInt32, UInt32)

    @inlinable
    public static func block(_ counter: Counter, key: (UInt32, UInt32)) -> Counter {
        var (c0, c1, c2, c3) = counter
        var (k0, k1) = key
        for _ in 0..<10 {
            let p0 = UInt64(0xD251_1F53) &* UInt64(c0)
            let p1 = UInt64(0xCD9E_8D57) &* UInt64(c2)
            let hi0 = UInt32(truncatingIfNeeded: p0 >> 32), lo0 = UInt32(truncatingIfNeeded: p0)
            let hi1 = UInt32(truncatingIfNeeded: p1 >> 32), lo1 = UInt32(truncatingIfNeeded: p1)
            (c0, c1, c2, c3) = (hi1 ^ c1 ^ k0, lo1, hi0 ^ c3 ^ k1, lo0)
            k0 = k0 &+ 0x9E37_79B9
            k1 = k1 &+ 0xBB67_AE85
        }
        return (c0, c1, c2, c3)
    }

    /// Maps 32 random bits to a Float uniform in [0, 1) with 24 bits of resolution.
    @inlinable public static func unitFloat(_ bits: UInt32) -> Float { Float(bits >> 8) * 0x1p-24 }
}

/// A sequential generator on Philox: block i of stream s under seed k. Conforms to
/// `RandomNumberGenerator`, so it drives parameter initialization and shuffles reproducibly.
public struct PhiloxGenerator: RandomNumberGenerator {
    public let seed: UInt64
    public let stream: UInt64
    private var index: UInt64 = 0
    private var buffer: Philox.Counter = (0, 0, 0, 0)
    private var used = 4

    public init(seed: UInt64, stream: UInt64 = 0) {
        self.seed = seed
        self.stream = stream
    }

    public mutating func next() -> UInt64 {
        UInt64(nextUInt32()) << 32 | UInt64(nextUInt32())
    }

    public mutating func nextUInt32() -> UInt32 {
        if used == 4 {
            buffer = Philox.block(
                (UInt32(truncatingIfNeeded: index), UInt32(truncatingIfNeeded: index >> 32),
                 UInt32(truncatingIfNeeded: stream), UInt32(truncatingIfNeeded: stream >> 32)),
                key: (UInt32(truncatingIfNeeded: seed), UInt32(truncatingIfNeeded: seed >> 32)))
            index += 1
            used = 0
        }
        defer { used += 1 }
        switch used {
        case 0: return buffer.0
        case 1: return buffer.1
        case 2: return buffer.2
        default: return buffer.3
        }
    }

    /// Uniform in [0, 1).
    public mutating func nextUniform() -> Float { Philox.unitFloat(nextUInt32()) }

    /// Uniform in [low, high).
    public mutating func nextUniform(_ low: Float, _ high: Float) -> Float { low + (high - low) * nextUniform() }

    /// Standard normal by Box–Muller (one value per call; deterministic).
    public mutating func nextNormal() -> Float {
        let u1 = max(Double(nextUInt32()) / 4_294_967_296.0, 1e-300)
        let u2 = Double(nextUInt32()) / 4_294_967_296.0
        return Float((-2 * _log(u1)).squareRoot() * _cos(2 * Double.pi * u2))
    }

    /// Deterministic Fisher–Yates shuffle.
    public mutating func shuffle<T>(_ a: inout [T]) {
        guard a.count > 1 else { return }
        for i in stride(from: a.count - 1, to: 0, by: -1) {
            let j = Int(next() % UInt64(i + 1))
            a.swapAt(i, j)
        }
    }
}

@usableFromInline func _log(_ x: Double) -> Double { Foundation_log(x) }
@usableFromInline func _cos(_ x: Double) -> Double { Foundation_cos(x) }

/// What random ops of one forward pass are keyed by. The trainer sets `step` and the *global*
/// index of every row of the batch, so a sample's dropout mask is the same on any number of ranks.
public struct RandomContext {
    public var seed: UInt64
    public var step: UInt64
    /// Global dataset index of each batch row (nil: the row index itself).
    public var sampleIndices: [Int]?
    /// Counts random ops within the forward pass so each call site draws from its own stream.
    public var callCounter: UInt32 = 0

    public init(seed: UInt64, step: UInt64 = 0, sampleIndices: [Int]? = nil) {
        self.seed = seed
        self.step = step
        self.sampleIndices = sampleIndices
    }

    /// Uniform [0,1) for element `element` of batch row `row` at random call site `call`.
    /// Four consecutive elements share one Philox block.
    @inlinable
    public func uniformBlock(call: UInt32, row: Int, elementBlock: Int) -> Philox.Counter {
        block(call: call, sample: sampleIndices.map { $0[row] } ?? row, elementBlock: elementBlock)
    }

    /// The Philox block for a global sample index (callers resolve `sampleIndices` once per row).
    @inlinable
    public func block(call: UInt32, sample: Int, elementBlock: Int) -> Philox.Counter {
        Philox.block(
            (UInt32(truncatingIfNeeded: elementBlock), UInt32(truncatingIfNeeded: sample),
             UInt32(truncatingIfNeeded: step), call),
            key: (UInt32(truncatingIfNeeded: seed), UInt32(truncatingIfNeeded: seed >> 32) ^ UInt32(truncatingIfNeeded: step >> 32)))
    }
}
