// libFuzzer target: the checkpoint reader (HDF5 structure, format and schema version, state_json, the top-k
// names it lists, every checksum, the preprocessing group) on arbitrary bytes written to a file. Errors are
// expected; a crash, a sanitizer report, an accepted top-k name that is not this program's, or an over-long
// error message is a finding. (libhdf5 itself is not instrumented: only crashes surface from it.)

import Foundation
import FuzzSupport
import Training

private let path = NSTemporaryDirectory() + "cgmtrain-fuzz-checkpoint-\(getpid()).h5"

@_cdecl("LLVMFuzzerTestOneInput")
public func fuzzCheckpoint(_ data: UnsafePointer<UInt8>, _ size: Int) -> CInt {
    guard FileManager.default.createFile(atPath: path, contents: Data(bytes: data, count: size)) else { return 0 }
    expectShortErrors {
        let c = try Checkpoint.read(path)
        for entry in c.state.topK where !CheckpointRetention.isOwnName(entry.file) {
            fatalError("accepted the top-k name \(entry.file)")
        }
    }
    return 0
}
