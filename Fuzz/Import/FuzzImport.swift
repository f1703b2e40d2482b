// libFuzzer target: `cgmtrain import` on one file of arbitrary bytes (the format recognized from its head as
// with --format auto: Dexcom Clarity, LibreView, CareLink, Nightscout CSV and JSON, OhioT1DM XML, D1NAMO),
// nothing written. Errors are expected; a crash, a hang, a sanitizer report, an over-long error message or
// personal data from the file (names, birth dates, serial numbers) in an accepted subject id is a finding.

import CGMImport
import Foundation
import FuzzSupport

private let directory: String = {
    let d = NSTemporaryDirectory() + "cgmtrain-fuzz-import-\(getpid())"
    try? FileManager.default.createDirectory(atPath: d, withIntermediateDirectories: true)
    return d
}()
private let path = directory + "/export.csv"

@_cdecl("LLVMFuzzerTestOneInput")
public func fuzzImport(_ data: UnsafePointer<UInt8>, _ size: Int) -> CInt {
    guard FileManager.default.createFile(atPath: path, contents: Data(bytes: data, count: size)) else { return 0 }
    var options = ImportOptions()
    options.timezone = "Europe/Berlin"
    expectShortErrors {
        let result = try CohortImporter.read(inputs: [path], options: options)
        for s in result.series where result.personal.occurs(in: s.subject) {
            fatalError("personal data in the subject id \(s.subject)")
        }
    }
    return 0
}
