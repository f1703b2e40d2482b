// Vectorized eˣ − 1 and ELU on Swift SIMD (FastMath.swift has the shared reduction and polynomial).
//
//   expm1(x) = 2ⁿ(eʳ − 1) + (2ⁿ − 1) with n = round(x / ln 2), r = x − n·ln2 (Cody–Waite) and
//              eʳ − 1 = r + r²·P(r) from the exp polynomial *before* adding 1 (as FastMath.tanh), so the
//              result keeps full relative accuracy for tiny |x| (n = 0: exactly r + r²P(r)) and no
//              cancellation happens. 2ⁿ = s₁s₂ (s₁ = 2^⌊n/2⌋) is applied as s₁ · (s₂(eʳ − 1) + (s₂ − 1/s₁)):
//              scaling by powers of two is exact, so this equals 2ⁿ(eʳ − 1) + (2ⁿ − 1) rounded once per
//              operation, while 2ⁿ itself never overflows for n = 128 (x up to 88.72). x is clamped to
//              [−104, 89]: expm1(x ≤ −104) = −1, expm1(x > 88.7228) = +∞; NaN propagates.
//              Relative error ≤ 2.5e-7 against expm1 in Double (asserted in FastMathExpm1Tests).
//   elu(x)    = x if x > 0 else α · expm1(x)   (Clevert et al. 2016; PyTorch `ELU(alpha)`)
//
// The scalar and the SIMD versions execute the same operation sequence, so they agree bit for bit.

extension FastMath {
    /// eˣ − 1 for one Float, with full relative accuracy near 0 (see the file header).
    @inlinable @inline(__always)
    public static func expm1(_ x: Float) -> Float {
        var xc = x > expClampHigh ? expClampHigh : x
        xc = xc < expClampLow ? expClampLow : xc
        let (em1, ni) = reducedExpm1(xc)
        let n1 = ni &>> 1, n2 = ni &- n1
        let s1 = Float(bitPattern: UInt32(bitPattern: (n1 &+ 127) &<< 23))
        let inv1 = Float(bitPattern: UInt32(bitPattern: (127 &- n1) &<< 23))
        let s2 = Float(bitPattern: UInt32(bitPattern: (n2 &+ 127) &<< 23))
        return s1 * (s2 * em1 + (s2 - inv1))
    }

    /// eˣ − 1 lane-wise (see `expm1(_: Float)`).
    @inlinable @inline(__always)
    public static func expm1(_ x: Vector) -> Vector {
        let hi = Vector(repeating: expClampHigh), lo = Vector(repeating: expClampLow)
        let xc = x.replacing(with: hi, where: x .> hi).replacing(with: lo, where: x .< lo)
        let (em1, ni) = reducedExpm1(xc)
        let n1 = ni &>> 1, n2 = ni &- n1
        let s1 = unsafeBitCast((n1 &+ 127) &<< 23, to: Vector.self)
        let inv1 = unsafeBitCast((127 &- n1) &<< 23, to: Vector.self)
        let s2 = unsafeBitCast((n2 &+ 127) &<< 23, to: Vector.self)
        return s1 * (s2 * em1 + (s2 - inv1))
    }

    /// ELU lane-wise: x where x > 0, else α(eˣ − 1) (NaN stays NaN).
    @inlinable @inline(__always)
    public static func elu(_ x: Vector, alpha: Float) -> Vector {
        (alpha * expm1(x)).replacing(with: x, where: x .> 0)
    }

    /// ELU for one Float (bitwise one lane of the SIMD version).
    @inlinable @inline(__always)
    public static func elu(_ x: Float, alpha: Float) -> Float {
        x > 0 ? x : alpha * expm1(x)
    }

    /// y[i] = ELU(x[i]) with parameter α. `y` may equal `x`; otherwise they must not overlap.
    @inlinable
    public static func elu(_ x: UnsafePointer<Float>, _ y: UnsafeMutablePointer<Float>, count: Int, alpha: Float) {
        let w = Vector.scalarCount
        let src = UnsafeRawPointer(x), dst = UnsafeMutableRawPointer(y)
        var i = 0
        while i + 2 * w <= count {   // two independent chains per iteration
            let a = src.loadUnaligned(fromByteOffset: i * 4, as: Vector.self)
            let b = src.loadUnaligned(fromByteOffset: (i + w) * 4, as: Vector.self)
            dst.storeBytes(of: elu(a, alpha: alpha), toByteOffset: i * 4, as: Vector.self)
            dst.storeBytes(of: elu(b, alpha: alpha), toByteOffset: (i + w) * 4, as: Vector.self)
            i += 2 * w
        }
        while i < count {
            y[i] = elu(x[i], alpha: alpha)
            i += 1
        }
    }
}
