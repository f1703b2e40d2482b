// What every fuzz target asks of an error: that it quotes the input shortly. Quotations are bounded in
// characters (TextExcerpt: 80 a field, 400 a path or --set argument), so the bound counts Unicode scalars,
// not bytes: bytes that are not UTF-8 are quoted as U+FFFD, 3 bytes each.

/// The longest error message, in Unicode scalars, that a fuzz target accepts.
public let errorMessageBound = 2_000

/// Runs `body`; an error is expected, but one whose message exceeds `errorMessageBound` is a finding.
public func expectShortErrors(_ body: () throws -> Void) {
    do { try body() } catch {
        let message = "\(error)"
        let length = message.unicodeScalars.count
        if length > errorMessageBound { fatalError("error message of \(length) characters: \(message.prefix(300))") }
    }
}
