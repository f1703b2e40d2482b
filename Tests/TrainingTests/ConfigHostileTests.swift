// Hostile configs (issue 17): the one YAML reader refuses what would exhaust memory or stack, and what
// loaders silently resolve, before any value is built — the 9-line alias bomb fails in well under a second
// naming its line, duplicate keys name both lines, keys that are lists or mappings (a crash in Yams) and deep
// bracket nesting are refused, and error messages quote at most ~80 characters of any value or key.

import Config
import DelimitedText
import Foundation
import XCTest
@testable import Training

final class ConfigHostileTests: XCTestCase {
    /// The classic "billion laughs": nine anchors, each repeating the previous one nine times (9⁹ values).
    static let aliasBomb = """
        a: &a ["lol","lol","lol","lol","lol","lol","lol","lol","lol"]
        b: &b [*a,*a,*a,*a,*a,*a,*a,*a,*a]
        c: &c [*b,*b,*b,*b,*b,*b,*b,*b,*b]
        d: &d [*c,*c,*c,*c,*c,*c,*c,*c,*c]
        e: &e [*d,*d,*d,*d,*d,*d,*d,*d,*d]
        f: &f [*e,*e,*e,*e,*e,*e,*e,*e,*e]
        g: &g [*f,*f,*f,*f,*f,*f,*f,*f,*f]
        h: &h [*g,*g,*g,*g,*g,*g,*g,*g,*g]
        i: &i [*h,*h,*h,*h,*h,*h,*h,*h,*h]
        """

    func parse(_ yaml: String, overrides: [String] = []) throws -> RunConfig {
        try RunConfig.parse(yaml: yaml, source: "bomb.yaml", overrides: try [ConfigOverride](arguments: overrides))
    }

    func testAliasBombFailsFastNamingTheLine() throws {
        let start = Date()
        XCTAssertThrowsError(try parse(Self.aliasBomb + "\n" + TestDataset.config())) {
            XCTAssertEqual("\($0)", "bomb.yaml: line 2: YAML aliases (*name, <<: *name) are not accepted in configs: this "
                           + "one repeats the anchored node of line 1; write the values out")
        }
        let seconds = Date().timeIntervalSince(start)
        XCTAssertLessThan(seconds, 0.5, "refused after \(seconds) s")
        print("alias bomb refused in \(String(format: "%.4f", seconds)) s")
    }

    func testEveryAliasIsRefusedEvenInsideTheSections() throws {
        let merged = TestDataset.config().replacingOccurrences(of: "train:\n", with: "base: &base {seed: 3}\ntrain:\n  <<: *base\n")
        XCTAssertThrowsError(try parse(merged)) { XCTAssertTrue("\($0)".contains("YAML aliases"), "\($0)") }
        XCTAssertThrowsError(try parse(TestDataset.config(), overrides: ["train.seed=*x"])) {
            XCTAssertTrue("\($0)".contains("--set train.seed=*x"), "\($0)")
        }
    }

    func testLegalYAMLWithoutAliasesIsAccepted() throws {
        // Nodes that share a start position without being aliases: a block mapping and its first key, an empty
        // value and the next key, flow keys without values.
        for yaml in ["a:\nb: 1\n", "a:\n  b:\n    c: 1\n", "- \n- x\n", "{a, b}\n", "[a: 1, b]\n", "- a: 1\n  b: 2\n- [1, [2]]\n",
                     "a: ''\nb: \"\"\nc: ~\n", "? a\n: 1\n"] {
            XCTAssertNoThrow(try YAMLDocument.value(yaml, source: "ok.yaml"), yaml)
        }
        XCTAssertThrowsError(try YAMLDocument.value("a: &x 1\nb: *x\n", source: "s.yaml")) {
            XCTAssertEqual("\($0)", "s.yaml: line 2: YAML aliases (*name, <<: *name) are not accepted in configs: this one "
                           + "repeats the anchored node of line 1; write the values out")
        }
    }

    func testDuplicateKeysAreRefusedNamingBothLines() throws {
        let yaml = TestDataset.config("seed: 0\nseed: 1").replacingOccurrences(of: "  seed: 3\n", with: "")
        let lines = yaml.split(separator: "\n", omittingEmptySubsequences: false)
        let first = lines.firstIndex { $0 == "  seed: 0" }! + 1
        XCTAssertThrowsError(try parse(yaml)) {
            XCTAssertEqual("\($0)", "bomb.yaml: line \(first + 1): key 'seed' appears twice in one mapping (lines \(first) "
                           + "and \(first + 1)); keep one")
        }
        // The same key in different mappings is fine.
        XCTAssertNoThrow(try parse(TestDataset.config()))
    }

    /// Found by fuzz-config: Yams force-unwraps every key as a string, so a list or mapping as a key crashed the
    /// process (in the config file, a sweep's space or a --set value alike).
    func testKeysThatAreNotNamesAreRefusedNamingTheLine() throws {
        for (yaml, line) in [("seed: 1\n[a, b]: 1\n", 2), ("? {a: 1}\n: 2\n", 1), ("train:\n  ? - x\n  : 3\n", 2)] {
            XCTAssertThrowsError(try YAMLDocument.value(yaml, source: "keys.yaml")) {
                XCTAssertEqual("\($0)", "keys.yaml: line \(line): a key must be a name, not a list or mapping", yaml)
            }
        }
        var root: [String: Any] = [:]
        XCTAssertThrowsError(try ConfigOverride("train.optimizer={[1]: 2}").apply(to: &root)) {
            XCTAssertTrue("\($0)".hasSuffix("line 1: a key must be a name, not a list or mapping"), "\($0)")
        }
    }

    func testDeepNestingIsRefusedBeforeComposing() throws {
        let deep = "a: " + String(repeating: "[", count: 200_000) + String(repeating: "]", count: 200_000) + "\n"
        let start = Date()
        XCTAssertThrowsError(try parse(deep)) {
            XCTAssertEqual("\($0)", "bomb.yaml: line 1: brackets nest deeper than 64 levels")
        }
        XCTAssertLessThan(Date().timeIntervalSince(start), 1)
        // Brackets inside quotes and comments do not count.
        XCTAssertNoThrow(try YAMLDocument.value("a: '" + String(repeating: "[", count: 100) + "' # [[[[\n", source: "x"))
    }

    /// Found by fuzz-config: a "character" (grapheme cluster) can hold any number of combining marks, so an
    /// excerpt of 80 characters could quote a whole 200 MB field. Excerpts count Unicode scalars.
    func testExcerptsCountScalarsNotGraphemeClusters() throws {
        let zalgo = "a" + String(repeating: "\u{06EA}", count: 100_000)          // one grapheme cluster
        XCTAssertEqual(zalgo.count, 1)
        let excerpt = TextExcerpt.of(zalgo)
        XCTAssertEqual(excerpt.unicodeScalars.count, 80 + "… (200001 bytes)".unicodeScalars.count, excerpt)
        let bytes = Array(zalgo.utf8)
        let raw = bytes.withUnsafeBufferPointer { TextExcerpt.of($0) }
        XCTAssertEqual(raw.unicodeScalars.count, 80 + "… (200001 bytes)".unicodeScalars.count, raw)
        var root: [String: Any] = [:]
        XCTAssertThrowsError(try ConfigOverride("train.optimizer.lr=" + zalgo + ": [").apply(to: &root)) {
            XCTAssertLessThan("\($0)".unicodeScalars.count, 1_000, "\($0)".prefix(200) + "…")
        }
        // '=' followed by a combining mark is one Character: the key still ends at the first '=' byte, and a
        // key that is not a path is quoted shortly.
        XCTAssertEqual(try ConfigOverride("train.seed=\u{06EA}1").path, ["train", "seed"])
        XCTAssertThrowsError(try ConfigOverride("a b" + zalgo + "=1")) {
            XCTAssertLessThan("\($0)".unicodeScalars.count, 1_000, "\($0)".prefix(200) + "…")
        }
    }

    func testMessagesQuoteAtMostEightyCharactersOfAValue() throws {
        let long = String(repeating: "x", count: 5_000_000)
        XCTAssertThrowsError(try parse(TestDataset.config(), overrides: ["train.scheduler.name=\(long)"])) {
            let text = "\($0)"
            XCTAssertLessThan(text.count, 1000, "message of \(text.count) characters")
            XCTAssertTrue(text.contains("(got '" + String(repeating: "x", count: 80) + "… (5000000 bytes)')"), String(text.prefix(400)))
        }
        XCTAssertThrowsError(try parse(TestDataset.config("\(long): 1"))) {
            XCTAssertLessThan("\($0)".count, 1200)
        }
    }
}
