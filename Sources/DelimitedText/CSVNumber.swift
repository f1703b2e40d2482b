// Byte-level parsing of CSV numbers and missing-value markers, without building a String per field.
// Decimal numbers with at most 19 significant digits and a decimal exponent within ±22 take Clinger's
// exact fast path (an exactly representable mantissa times or divided by an exact power of ten is one
// correctly rounded operation); anything else falls back to the standard library's parser.

/// Number and missing-value parsing on raw field bytes (inlinable: called for every field by the readers
/// in other modules).
public enum CSVNumber {
    @usableFromInline static let powersOfTen: [Double] = (0 ... 22).map { p in
        var v = 1.0
        for _ in 0 ..< p { v *= 10 }
        return v
    }

    /// `bytes` without leading and trailing spaces and tabs.
    @inlinable
    public static func trim(_ bytes: UnsafeBufferPointer<UInt8>) -> UnsafeBufferPointer<UInt8> {
        var lo = 0, hi = bytes.count
        while lo < hi, bytes[lo] == 0x20 || bytes[lo] == 0x09 { lo += 1 }
        while hi > lo, bytes[hi - 1] == 0x20 || bytes[hi - 1] == 0x09 { hi -= 1 }
        return UnsafeBufferPointer(rebasing: bytes[lo ..< hi])
    }

    /// True for an empty field or one of the usual missing markers `NA`, `NaN`, `null`, `None`
    /// (case-insensitive), after trimming.
    @inlinable
    public static func isMissing(_ raw: UnsafeBufferPointer<UInt8>) -> Bool {
        let b = trim(raw)
        switch b.count {
        case 0: return true
        case 2: return lower(b[0]) == 0x6E && lower(b[1]) == 0x61  // na
        case 3: return lower(b[0]) == 0x6E && lower(b[1]) == 0x61 && lower(b[2]) == 0x6E  // nan
        case 4:
            let s = (lower(b[0]), lower(b[1]), lower(b[2]), lower(b[3]))
            return s == (0x6E, 0x75, 0x6C, 0x6C) || s == (0x6E, 0x6F, 0x6E, 0x65)  // null, none
        default: return false
        }
    }

    /// Parses a finite decimal number (`-12`, `3.5`, `.5`, `1e-3`, `+7.`) after trimming; nil otherwise.
    @inlinable
    public static func parseDouble(_ raw: UnsafeBufferPointer<UInt8>) -> Double? {
        let b = trim(raw)
        let n = b.count
        var i = 0
        var negative = false
        if i < n, b[i] == 0x2D || b[i] == 0x2B {
            negative = b[i] == 0x2D
            i += 1
        }
        var mantissa: UInt64 = 0
        var significant = 0, exponent = 0, digits = 0
        var exact = true
        while i < n, b[i] &- 0x30 < 10 {
            accumulate(b[i], &mantissa, &significant, &exponent, &exact, fraction: false)
            digits += 1
            i += 1
        }
        if i < n, b[i] == 0x2E {
            i += 1
            while i < n, b[i] &- 0x30 < 10 {
                accumulate(b[i], &mantissa, &significant, &exponent, &exact, fraction: true)
                digits += 1
                i += 1
            }
        }
        guard digits > 0 else { return nil }
        if i < n, b[i] == 0x65 || b[i] == 0x45 {
            i += 1
            var expNegative = false
            if i < n, b[i] == 0x2D || b[i] == 0x2B {
                expNegative = b[i] == 0x2D
                i += 1
            }
            var e = 0, expDigits = 0
            while i < n, b[i] &- 0x30 < 10 {
                if e < 100_000 { e = e * 10 + Int(b[i] &- 0x30) }
                expDigits += 1
                i += 1
            }
            guard expDigits > 0 else { return nil }
            exponent += expNegative ? -e : e
        }
        guard i == n else { return nil }
        if exact, mantissa <= 1 << 53, abs(exponent) <= 22 {
            let m = Double(mantissa)
            let v = exponent >= 0 ? m * powersOfTen[exponent] : m / powersOfTen[-exponent]
            return negative ? -v : v
        }
        guard let v = Double(String(decoding: b, as: UTF8.self)), v.isFinite else { return nil }
        return v
    }

    @usableFromInline
    static func accumulate(_ byte: UInt8, _ mantissa: inout UInt64, _ significant: inout Int,
                                   _ exponent: inout Int, _ exact: inout Bool, fraction: Bool) {
        let d = UInt64(byte &- 0x30)
        if significant == 0, d == 0 {
            if fraction { exponent -= 1 }  // leading zeros: 0.00123
            return
        }
        if significant < 19 {
            mantissa = mantissa * 10 + d
            significant += 1
            if fraction { exponent -= 1 }
        } else {
            if d != 0 { exact = false }
            if !fraction { exponent += 1 }
        }
    }

    @usableFromInline @inline(__always)
    static func lower(_ b: UInt8) -> UInt8 { b | 0x20 }
}
