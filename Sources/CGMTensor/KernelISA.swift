// The vector ISA the hand-written kernels are tiled for, chosen at build time from the target CPU:
// Package.swift defines CGMTRAIN_AVX512 when CGMTRAIN_TARGET_CPU (or, for "native", the building machine) has
// AVX-512F, and in debug builds without CGMTRAIN_TARGET_CPU (baseline x86-64, one layout on every machine). A kernel's tile keeps its accumulators, the operands it loads and a broadcast within the register file:
//   AVX-512: 32 × 512-bit registers, 16 floats per vector
//   AVX2:    16 × 256-bit registers,  8 floats per vector (also every older or unknown target)
// Kernels that sum across lanes (dot products, row reductions) therefore add in a different order on the two
// ISAs: results agree to rounding, and the tests pass on either build.

/// The build's vector ISA: the width of `Vector` and the register budget of the kernels' tiles.
public enum KernelISA {
    #if CGMTRAIN_AVX512
    /// One full register of floats: SIMD16 (zmm).
    public typealias Vector = SIMD16<Float>
    /// Lane-wise integers of `Vector`'s width (exponent tricks of FastMath).
    public typealias IntVector = SIMD16<Int32>
    /// The ISA this build's kernels are tiled for.
    public static let name = "AVX-512"
    /// Vector registers available to a tile.
    public static let registers = 32
    #else
    /// One full register of floats: SIMD8 (ymm).
    public typealias Vector = SIMD8<Float>
    /// Lane-wise integers of `Vector`'s width (exponent tricks of FastMath).
    public typealias IntVector = SIMD8<Int32>
    /// The ISA this build's kernels are tiled for.
    public static let name = "AVX2"
    /// Vector registers available to a tile.
    public static let registers = 16
    #endif

    /// Floats per vector register.
    public static var lanes: Int { Vector.scalarCount }

    /// `n` rounded up to whole vectors.
    @inlinable @inline(__always)
    public static func padded(_ n: Int) -> Int { (n + Vector.scalarCount - 1) / Vector.scalarCount * Vector.scalarCount }

    /// Σ of a vector's lanes as a tree of half-width adds (16 → 8 → 4 → 2 → 1, or 8 → 4 → 2 → 1): log₂(lanes)
    /// dependent adds instead of the lanes − 1 of `SIMD.sum()`.
    @inlinable @inline(__always)
    public static func sum(_ v: Vector) -> Float {
        #if CGMTRAIN_AVX512
        let h8 = v.lowHalf + v.highHalf
        #else
        let h8 = v
        #endif
        let h4 = h8.lowHalf + h8.highHalf
        let h2 = h4.lowHalf + h4.highHalf
        return h2[0] + h2[1]
    }
}
