// HDF5Error and the HDF5 error-stack capture. HDF5's own stderr printing is silenced once
// (cgm_h5_silence_errors); instead each failed call reads the library's error stack and the Swift
// error names the file, the object path, the operation and HDF5's innermost explanation.

import CHDF5
import Foundation

/// Error from HDF5IO: names the file on disk, the object inside it and what failed.
public struct HDF5Error: Error, CustomStringConvertible, Equatable {
    /// Path of the HDF5 file on disk (the final path, even while writing to the temporary sibling).
    public let file: String
    /// Object path inside the file ("/" for the file itself), e.g. "/weights/lstm0".
    public let object: String
    /// What was being done, e.g. "open dataset", "read attribute 'units'".
    public let operation: String
    /// Explanation: HDF5's error-stack messages or the wrapper's own.
    public let message: String

    /// Creates an error value.
    public init(file: String, object: String, operation: String, message: String) {
        self.file = file
        self.object = object
        self.operation = operation
        self.message = message
    }

    /// Human-readable message naming the failing call/object.
    public var description: String {
        "HDF5 error: cannot \(operation) '\(object)' in file '\(file)': \(message)"
    }
}

/// Library-wide HDF5 facts and one-time setup.
public enum H5Library {
    /// One-time initialization: silences HDF5's automatic error printing on stderr.
    static let initialized: Bool = {
        H5open()
        cgm_h5_silence_errors()
        return true
    }()

    /// Ensures `initialized` ran (call at every public entry point that creates HDF5 objects).
    @inline(__always) static func ensureInitialized() { _ = initialized }

    /// Version of the linked HDF5 library, e.g. "1.10.8".
    public static var version: String {
        var major: UInt32 = 0, minor: UInt32 = 0, release: UInt32 = 0
        H5get_libversion(&major, &minor, &release)
        return "\(major).\(minor).\(release)"
    }

    /// True when the deflate (gzip) filter is available for encoding and decoding.
    public static var hasGzip: Bool {
        ensureInitialized()
        return H5Zfilter_avail(H5Z_FILTER_DEFLATE) > 0
    }

    /// Reads (and clears) the current thread's HDF5 error stack: "outer api message: innermost message".
    static func takeErrorStack() -> String {
        final class Box { var lines: [String] = [] }
        let box = Box()
        let walker: H5E_walk2_t = { _, err, data in
            guard let err, let data else { return 0 }
            let box = Unmanaged<Box>.fromOpaque(data).takeUnretainedValue()
            let fn = err.pointee.func_name.map { String(cString: $0) } ?? "?"
            let desc = err.pointee.desc.map { String(cString: $0) } ?? ""
            var minor = ""
            var buf = [CChar](repeating: 0, count: 256)
            if H5Eget_msg(err.pointee.min_num, nil, &buf, 256) > 0 {
                minor = String(decoding: buf.prefix { $0 != 0 }.map { UInt8(bitPattern: $0) }, as: UTF8.self)
            }
            box.lines.append("\(fn)(): \(desc)" + (minor.isEmpty ? "" : " [\(minor)]"))
            return 0
        }
        H5Ewalk2(cgm_h5e_default(), H5E_WALK_DOWNWARD, walker, Unmanaged.passUnretained(box).toOpaque())
        H5Eclear2(cgm_h5e_default())
        var lines: [String] = []
        for l in box.lines where !lines.contains(l) { lines.append(l) }
        if lines.isEmpty { return "HDF5 call failed (no error stack)" }
        if lines.count <= 2 { return lines.joined(separator: "; ") }
        return lines[0] + "; ...; " + lines[lines.count - 1]
    }
}
