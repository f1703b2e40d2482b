// libFuzzer target: manifest.json decoding and validation (schema version, counts, shard names that must be
// exactly the ones prepare writes, so no name leaves the dataset directory) on arbitrary bytes.

import CGMData
import Foundation
import FuzzSupport

private let directory = NSTemporaryDirectory() + "cgmtrain-fuzz-manifest-\(getpid())"

@_cdecl("LLVMFuzzerTestOneInput")
public func fuzzManifest(_ data: UnsafePointer<UInt8>, _ size: Int) -> CInt {
    let bytes = Data(bytes: data, count: size)
    expectShortErrors {
        let m = try Manifest.parse(bytes, directory: directory, path: directory + "/manifest.json")
        for split in ShardSplit.allCases {
            for shard in m.split(split).shards where shard.file.contains("..") || shard.file.hasPrefix("/") {
                fatalError("accepted a shard path outside the dataset: \(shard.file)")
            }
        }
    }
    return 0
}
