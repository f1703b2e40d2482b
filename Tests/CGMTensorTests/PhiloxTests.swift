import CGMTensor
import XCTest

final class PhiloxTests: XCTestCase {
    /// Known-answer vectors from Random123 (kat_vectors, philox4x32_10).
    func testKnownAnswers() {
        let zero = Philox.block((0, 0, 0, 0), key: (0, 0))
        XCTAssertEqual([zero.0, zero.1, zero.2, zero.3], [0x6627_e8d5, 0xe169_c58d, 0xbc57_ac4c, 0x9b00_dbd8])
        let ones = Philox.block((.max, .max, .max, .max), key: (.max, .max))
        XCTAssertEqual([ones.0, ones.1, ones.2, ones.3], [0x408f_276d, 0x41c8_3b0e, 0xa20b_c7c6, 0x6d54_51fd])
        let pi = Philox.block((0x243f_6a88, 0x85a3_08d3, 0x1319_8a2e, 0x0370_7344), key: (0xa409_3822, 0x299f_31d0))
        XCTAssertEqual([pi.0, pi.1, pi.2, pi.3], [0xd16c_fe09, 0x94fd_cceb, 0x5001_e420, 0x2412_6ea1])
    }

    func testGeneratorIsDeterministicAndStreamsDiffer() {
        var a = PhiloxGenerator(seed: 42, stream: 1), b = PhiloxGenerator(seed: 42, stream: 1)
        var c = PhiloxGenerator(seed: 42, stream: 2)
        let xa = (0..<10).map { _ in a.next() }, xb = (0..<10).map { _ in b.next() }
        XCTAssertEqual(xa, xb)
        XCTAssertNotEqual(xa, (0..<10).map { _ in c.next() })
    }

    func testUniformAndNormalMoments() {
        var g = PhiloxGenerator(seed: 3)
        let n = 200_000
        var su = 0.0, sn = 0.0, sn2 = 0.0
        for _ in 0..<n {
            let u = g.nextUniform(); XCTAssert(u >= 0 && u < 1)
            su += Double(u)
            let z = Double(g.nextNormal()); sn += z; sn2 += z * z
        }
        XCTAssertEqual(su / Double(n), 0.5, accuracy: 0.005)
        XCTAssertEqual(sn / Double(n), 0, accuracy: 0.01)
        XCTAssertEqual(sn2 / Double(n), 1, accuracy: 0.02)
    }

    func testRandomContextIsKeyedBySampleNotRow() {
        let a = RandomContext(seed: 1, step: 4, sampleIndices: [10, 11])
        let b = RandomContext(seed: 1, step: 4, sampleIndices: [11])
        let x = a.uniformBlock(call: 0, row: 1, elementBlock: 3), y = b.uniformBlock(call: 0, row: 0, elementBlock: 3)
        XCTAssertEqual([x.0, x.1, x.2, x.3], [y.0, y.1, y.2, y.3])
        let z = RandomContext(seed: 1, step: 5, sampleIndices: [11]).uniformBlock(call: 0, row: 0, elementBlock: 3)
        XCTAssertNotEqual([z.0, z.1], [y.0, y.1])
    }
}
