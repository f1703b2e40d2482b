// The run directory (`--run DIR`, e.g. checkpoints/seq2seq-01/), owned by rank 0:
//
//   config.yaml            the resolved configuration (every default filled in)
//   metrics.jsonl          one JSON object per validation check and per epoch (MetricsLog)
//   learning_curve.svg     the learning curve, redrawn after every epoch (MetricsLog.writeLearningCurve: the
//                          call site where the SVG writer plugs in)
//   last.h5, best.h5, epoch-NNN.h5, top-*.h5     checkpoints (CheckpointRetention)
//   pids/rank-R.pid        process ids, only when asked (--write-pids; used by tests to kill one rank)
//
// A new run refuses a directory that already holds a run (a checkpoint or metrics), so nothing is
// silently overwritten; `--resume` requires last.h5. Files are written atomically (temporary + rename).

import Charts
import Foundation

/// Paths and lifecycle of a run directory.
public struct RunDirectory {
    /// The directory.
    public let path: String

    public init(_ path: String) {
        var p = path
        while p.count > 1 && p.hasSuffix("/") { p.removeLast() }
        self.path = p
    }

    public func file(_ name: String) -> String { (path as NSString).appendingPathComponent(name) }
    public var configFile: String { file("config.yaml") }
    public var metricsFile: String { file("metrics.jsonl") }
    public var learningCurveFile: String { file("learning_curve.svg") }
    public var lastCheckpoint: String { file(CheckpointRetention.last) }

    /// Rank 0, new run: creates the directory (and parents); refuses one that already holds a run.
    public func prepareFresh() throws {
        let fm = FileManager.default
        var isDir: ObjCBool = false
        if fm.fileExists(atPath: path, isDirectory: &isDir) {
            guard isDir.boolValue else { throw RunDirectoryError("\(path) exists and is not a directory") }
            let files = (try? fm.contentsOfDirectory(atPath: path)) ?? []
            if let existing = files.sorted().first(where: { $0.hasSuffix(".h5") || $0 == "metrics.jsonl" }) {
                throw RunDirectoryError("run directory \(path) already holds a run (\(existing)); pass --resume to "
                                        + "continue it, or choose a new --run directory")
            }
        }
        do {
            try fm.createDirectory(atPath: path, withIntermediateDirectories: true)
        } catch {
            throw RunDirectoryError("cannot create run directory \(path): \(error.localizedDescription)")
        }
    }

    /// Rank 0, resume: the directory and its last.h5 must exist.
    public func checkResumable() throws {
        guard FileManager.default.fileExists(atPath: lastCheckpoint) else {
            throw RunDirectoryError("cannot resume: \(lastCheckpoint) does not exist (no epoch finished and no stop "
                                    + "was checkpointed yet?); start a new run without --resume")
        }
    }

    /// Writes `text` to `name` atomically.
    public func writeAtomically(_ name: String, _ text: String) throws {
        do {
            try Data(text.utf8).write(to: URL(fileURLWithPath: file(name)), options: .atomic)
        } catch {
            throw RunDirectoryError("cannot write \(file(name)): \(error.localizedDescription)")
        }
    }

    /// Writes pids/rank-R.pid with this process's id (any rank; creates pids/).
    public func writePID(rank: Int) throws {
        let dir = file("pids")
        try? FileManager.default.createDirectory(atPath: dir, withIntermediateDirectories: true)
        let target = (dir as NSString).appendingPathComponent("rank-\(rank).pid")
        do {
            try Data("\(getpid())\n".utf8).write(to: URL(fileURLWithPath: target), options: .atomic)
        } catch {
            throw RunDirectoryError("cannot write \(target): \(error.localizedDescription)")
        }
    }
}

/// A problem with the run directory.
public struct RunDirectoryError: Error, CustomStringConvertible {
    public let description: String
    public init(_ message: String) { description = message }
}
