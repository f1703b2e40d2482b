// Atomic file output for evaluation artefacts: write a temporary file next to the target, then rename(2)
// over it, so a reader never sees a half-written metrics.json, CSV or SVG.

import Foundation
#if canImport(Glibc)
import Glibc
#elseif canImport(Musl)
import Musl
#elseif canImport(Darwin)
import Darwin
#endif

/// Writing evaluation files atomically.
public enum EvaluationFiles {
    /// Writes `data` to `path` through a temporary file in the same directory and a rename. Throws an
    /// `EvaluationError` naming the path on failure (the temporary file is removed).
    public static func writeAtomically(_ data: Data, to path: String) throws {
        let url = URL(fileURLWithPath: path)
        let dir = url.deletingLastPathComponent().path
        let temp = (dir as NSString).appendingPathComponent(
            ".\(url.lastPathComponent).tmp-\(getpid())-\(UInt32.random(in: 0...UInt32.max))")
        do {
            try data.write(to: URL(fileURLWithPath: temp))
        } catch {
            try? FileManager.default.removeItem(atPath: temp)
            throw EvaluationError("cannot write '\(path)': \(error.localizedDescription)")
        }
        guard rename(temp, path) == 0 else {
            let reason = String(cString: strerror(errno))
            try? FileManager.default.removeItem(atPath: temp)
            throw EvaluationError("cannot write '\(path)': rename failed: \(reason)")
        }
    }

    /// Writes UTF-8 `text` to `path` atomically.
    public static func writeAtomically(_ text: String, to path: String) throws {
        try writeAtomically(Data(text.utf8), to: path)
    }

    /// Creates `dir` (and parents) if missing; throws naming it when that fails or it is a file.
    public static func ensureDirectory(_ dir: String) throws {
        var isDirectory: ObjCBool = false
        if FileManager.default.fileExists(atPath: dir, isDirectory: &isDirectory) {
            guard isDirectory.boolValue else { throw EvaluationError("'\(dir)' exists and is not a directory") }
            return
        }
        do {
            try FileManager.default.createDirectory(atPath: dir, withIntermediateDirectories: true)
        } catch {
            throw EvaluationError("cannot create directory '\(dir)': \(error.localizedDescription)")
        }
    }
}
