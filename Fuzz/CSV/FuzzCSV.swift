// libFuzzer target: the CSV reader, the canonical cohort reader (numbers, timestamps, header layout, per
// subject sorting and deduplication) and subjects.csv, on arbitrary bytes. Errors are expected; a crash,
// a hang, a sanitizer report or an error message longer than its bound is a finding.

import CGMData
import DelimitedText
import Foundation
import FuzzSupport

@_cdecl("LLVMFuzzerTestOneInput")
public func fuzzCSV(_ data: UnsafePointer<UInt8>, _ size: Int) -> CInt {
    let bytes = Array(UnsafeBufferPointer(start: data, count: size))
    expectShortErrors { _ = try CohortReader().read(try CSVReader(bytes: bytes, name: "cgm.csv")) }
    expectShortErrors { _ = try SubjectTable.read(try CSVReader(bytes: bytes, name: "subjects.csv")) }
    expectShortErrors {
        let reader = try CSVReader(bytes: bytes, name: "raw.csv")
        var row = CSVRow()
        while try reader.next(into: &row) {
            for i in 0..<row.count { _ = row.withField(i) { TimestampParser.parse($0) } }
        }
    }
    return 0
}
