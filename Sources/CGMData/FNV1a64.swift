// FNV-1a 64-bit (Fowler–Noll–Vo): the project's one stable hash, for config and manifest hashes, the
// parameter-layout fingerprint and checkpoint checksums. Unlike `Hasher` it is the same in every process.

/// An incremental 64-bit FNV-1a hash.
public struct FNV1a64 {
    public private(set) var value: UInt64 = 0xCBF2_9CE4_8422_2325
    private static let prime: UInt64 = 0x0000_0100_0000_01B3

    public init() {}

    public mutating func add(_ bytes: UnsafeRawBufferPointer) {
        var h = value
        for b in bytes { h = (h ^ UInt64(b)) &* Self.prime }
        value = h
    }

    public mutating func add(_ string: String) {
        var h = value
        for b in string.utf8 { h = (h ^ UInt64(b)) &* Self.prime }
        value = h
    }

    public mutating func add(_ word: UInt64) {
        withUnsafeBytes(of: word.littleEndian) { add($0) }
    }

    /// Hash of 32-bit words (parameter bits): one multiply per word rather than per byte, so hashing a
    /// large model's parameters every few steps stays cheap. Not the byte-wise FNV of the same memory.
    public mutating func add(words: UnsafePointer<UInt32>, count: Int) {
        var h = value
        for i in 0..<count { h = (h ^ UInt64(words[i])) &* Self.prime }
        value = h
    }

    /// 16 lowercase hex digits.
    public var hex: String {
        let s = String(value, radix: 16)
        return String(repeating: "0", count: 16 - s.count) + s
    }

    /// FNV-1a 64 of the UTF-8 bytes of `text`, as 16 lowercase hex digits.
    public static func hex(_ text: String) -> String {
        var h = FNV1a64()
        h.add(text)
        return h.hex
    }
}
