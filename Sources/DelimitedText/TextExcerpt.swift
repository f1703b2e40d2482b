// Error messages quote what the user wrote (a CSV field, a config value, a key, a file name inside a
// checkpoint), and what the user wrote can be 200 MB long. Every quotation goes through here: at most
// `limit` characters, and when cut, how long the whole was.

/// Short quotations of untrusted text for error messages.
public enum TextExcerpt {
    /// Characters quoted at most.
    public static let limit = 80

    /// `text` if it has at most `limit` characters, else its first `limit` characters + "… (N bytes)".
    /// Characters are Unicode scalars, not Swift's grapheme clusters: one cluster can hold any number of
    /// combining marks (found by fuzz-config: 400 "characters" of a --set value quoted 2,133 scalars).
    public static func of(_ text: String, limit: Int = TextExcerpt.limit) -> String {
        let utf8 = text.utf8
        if utf8.count <= limit { return text }
        let scalars = text.unicodeScalars
        let head = scalars.prefix(limit)
        if head.endIndex == scalars.endIndex { return text }
        return String(String.UnicodeScalarView(head)) + "… (\(utf8.count) bytes)"
    }

    /// The same for raw bytes (decoded as UTF-8, invalid sequences replaced), reading only their start.
    public static func of(_ bytes: UnsafeBufferPointer<UInt8>, limit: Int = TextExcerpt.limit) -> String {
        if bytes.count <= limit { return String(decoding: bytes, as: UTF8.self) }
        let window = min(bytes.count, 4 * limit)
        let start = String(decoding: UnsafeBufferPointer(rebasing: bytes[..<window]), as: UTF8.self)
        if window == bytes.count && start.unicodeScalars.count <= limit { return start }
        return String(String.UnicodeScalarView(start.unicodeScalars.prefix(limit))) + "… (\(bytes.count) bytes)"
    }
}
