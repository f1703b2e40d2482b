// The one error type of configuration reading: every config (data, train, model, sweep, toy) and every
// `--set` override names its file (or argument) and the full key path at fault.

import DelimitedText

/// A configuration error: names the config file (or `--set`) and the key path at fault.
public struct ConfigError: Error, CustomStringConvertible, Equatable {
    /// Where the value came from: the config file path, or "--set a.b=value".
    public var source: String
    /// Dotted key path ("train.optimizer.lr"), empty for file-level problems.
    public var key: String
    /// What is wrong, and where useful what was expected.
    public var message: String

    /// Creates an error.
    public init(source: String, key: String, _ message: String) {
        self.source = source
        self.key = key
        self.message = message
    }

    /// "configs/x.yaml: train.optimizer.lr must be > 0 (got -1)".
    public var description: String {
        let source = TextExcerpt.of(self.source, limit: 400)          // a path, or a --set argument of any length
        return key.isEmpty ? "\(source): \(message)" : "\(source): \(TextExcerpt.of(key)) \(message)"
    }
}
