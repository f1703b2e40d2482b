// libFuzzer target: the one YAML reader (alias, duplicate-key and nesting checks, then Yams) on arbitrary
// text, as a config file's top-level mapping, as the data: section and as a --set value. Errors are
// expected; a crash, a hang, memory growth beyond -rss_limit_mb or an over-long error message is a finding.

import CGMData
import Config
import Foundation
import FuzzSupport

@_cdecl("LLVMFuzzerTestOneInput")
public func fuzzConfig(_ data: UnsafePointer<UInt8>, _ size: Int) -> CInt {
    let text = String(decoding: UnsafeBufferPointer(start: data, count: size), as: UTF8.self)
    expectShortErrors {
        let top = try YAMLDocument.mapping(text, source: "fuzz.yaml", expected: "a mapping", emptyIsMapping: true)
        if let section = top["data"] as? [String: Any] { _ = try DataConfig.parse(section) }
        _ = try DataConfig.parse(top)
    }
    expectShortErrors {
        var root: [String: Any] = [:]
        try ConfigOverride("train.optimizer.lr=" + text).apply(to: &root)
    }
    return 0
}
