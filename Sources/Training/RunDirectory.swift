// The run directory (`--run DIR`, e.g. checkpoints/seq2seq-01/), owned by rank 0:
//
//   config.yaml            the resolved configuration (every default filled in)
//   metrics.jsonl          one JSON object per validation check and per epoch (MetricsLog)
//   learning_curve.svg     the learning curve, redrawn after every epoch (MetricsLog.writeLearningCurve: the
//                          call site where the SVG writer plugs in)
//   last.h5, best.h5, epoch-NNN.h5, top-*.h5     checkpoints (CheckpointRetention)
//   pids/rank-R.pid        process ids, only when asked (--write-pids; used by tests to kill one rank)
//
// A new run refuses a directory that already holds a run (a checkpoint or metrics) or a prepared dataset,
// so nothing is silently overwritten or mixed; it creates the directory and config.yaml only when it writes
// its first record, so a run that fails at setup or at its first step leaves nothing behind. `--resume`
// reads last.h5, or when that is missing (a kill between a check's files) the checkpoint of the latest step
// (every checkpoint holds the full state). Files are written atomically (temporary + rename).

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

    /// Rank 0, new run, before anything is written: refuses a file, a directory that already holds a run (a
    /// checkpoint), and a prepared dataset (the dataset `dataDirectory` itself, or any directory with a
    /// manifest.json). Metrics without a checkpoint (a run killed between them) are replaced by `create`.
    public func checkFresh(dataDirectory: String) throws {
        let fm = FileManager.default
        if Self.samePlace(path, dataDirectory) || fm.fileExists(atPath: file("manifest.json")) {
            throw RunDirectoryError("--run \(path) holds a prepared dataset (manifest.json): checkpoints would be mixed into "
                                    + "its shards; choose a run directory of its own")
        }
        var isDir: ObjCBool = false
        if fm.fileExists(atPath: path, isDirectory: &isDir) {
            guard isDir.boolValue else { throw RunDirectoryError("\(path) exists and is not a directory") }
            let files = (try? fm.contentsOfDirectory(atPath: path)) ?? []
            if let existing = files.sorted().first(where: { $0.hasSuffix(".h5") }) {
                throw RunDirectoryError("run directory \(path) already holds a run (\(existing)); pass --resume to "
                                        + "continue it, or choose a new --run directory")
            }
        }
    }

    /// Whether two paths name the same directory (after resolving `.`, `..` and symbolic links).
    static func samePlace(_ a: String, _ b: String) -> Bool {
        func resolved(_ p: String) -> String { URL(fileURLWithPath: p).standardizedFileURL.resolvingSymlinksInPath().path }
        return resolved(a) == resolved(b)
    }

    /// Rank 0, new run, when its first record is written: `checkFresh`, then creates the directory (and
    /// parents) and writes the resolved config.
    public func create(dataDirectory: String, configYAML: String) throws {
        try checkFresh(dataDirectory: dataDirectory)
        let fm = FileManager.default
        do {
            try fm.createDirectory(atPath: path, withIntermediateDirectories: true)
        } catch {
            throw RunDirectoryError("cannot create run directory \(path): \(error.localizedDescription)")
        }
        // Records of a run killed before its first checkpoint: nothing can resume them, the new run replaces them.
        for stale in ["metrics.jsonl", "learning_curve.svg"] { try? fm.removeItem(atPath: file(stale)) }
        try writeAtomically("config.yaml", configYAML)
    }

    /// Rank 0, resume: the checkpoint to resume from — last.h5, or when it is missing the checkpoint of this
    /// program's naming with the latest global step (files of one step are names of one checkpoint).
    public func resumeCheckpoint(dataDirectory: String) throws -> String {
        if Self.samePlace(path, dataDirectory) || FileManager.default.fileExists(atPath: file("manifest.json")) {
            throw RunDirectoryError("--run \(path) holds a prepared dataset (manifest.json), not a run")
        }
        if FileManager.default.fileExists(atPath: lastCheckpoint) { return lastCheckpoint }
        let names = ((try? FileManager.default.contentsOfDirectory(atPath: path)) ?? [])
            .filter { CheckpointRetention.isOwnName($0) }.sorted()
        let steps = names.compactMap { name in (try? Checkpoint.globalStep(of: file(name))).map { (name, $0) } }
        guard let latest = steps.max(by: { $0.1 < $1.1 }) else {
            throw RunDirectoryError("cannot resume: \(path) holds no checkpoint (the run was stopped before its first "
                                    + "validation check); start it again without --resume")
        }
        return file(latest.0)
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
