// Which checkpoint files a run keeps, and how they are put in place (rank 0 only):
//
//   last.h5            every validation check, epoch end and stop (signal, early stopping), and every
//                      train.checkpoint_interval_minutes: what --resume reads
//   epoch-NNN.h5       every epoch end (NNN = 1-based epoch just completed)
//   best.h5            whenever the validation loss reaches a new minimum
//   top-R-epochEEE-stepSSSSSS-valV.h5   the k lowest validation losses (k = train.top_k), R = rank
//                      1…k; files are renamed as their rank changes and deleted when they fall out
//
// One event (a validation check, an epoch end, a stop) writes the checkpoint once, atomically
// (H5File.create: temporary, fsync, rename), under its first name (last.h5 when it is one of them); its
// other names are hard links made atomically (link to a temporary name, rename), or copies where links are
// not supported. New files are written before older top-k files are renamed or deleted, so a crash at any
// point leaves every file complete; `reconcile` (on resume) puts the names back in line with the resumed
// state, linking the names of the resumed step that a kill left unwritten.
//
// File names read from a checkpoint (the top-k list) are untrusted: `validate(topK:)` (called by
// Checkpoint.read) accepts only the exact names this code writes, and every rename or removal goes through
// `ownPath`, so nothing outside the run directory can be named.

import Config
import DelimitedText
import Foundation
import HDF5IO

/// Naming, top-k bookkeeping and atomic placement of checkpoint files in a run directory.
public struct CheckpointRetention {
    /// The run directory.
    public let directory: String
    /// k of top-k (0 = none).
    public let topK: Int
    /// The training data's preprocessing, recorded in every checkpoint `save` writes (for `forecast`).
    public let preprocessing: CheckpointPreprocessing?

    public init(directory: String, topK: Int, preprocessing: CheckpointPreprocessing? = nil) {
        self.directory = directory
        self.topK = topK
        self.preprocessing = preprocessing
    }

    public static let last = "last.h5"
    public static let best = "best.h5"

    /// "epoch-003.h5" for the 3rd completed epoch.
    public static func epochFile(_ epoch: Int) -> String { String(format: "epoch-%03d.h5", epoch) }

    /// "top-1-epoch003-step000120-val0.01234.h5".
    public static func topFile(rank: Int, _ e: TopKEntry) -> String {
        String(format: "top-%d-epoch%03d-step%06d-val%.5f.h5", rank, e.epoch, e.step, e.valLoss)
    }

    public func path(_ name: String) -> String { (directory as NSString).appendingPathComponent(name) }

    // MARK: Names read from files

    /// Whether `name` is a checkpoint name this program writes: `last.h5`, `best.h5`, `epoch-NNN.h5` or
    /// `top-R-epochEEE-stepSSSSSS-valV.h5` — a plain file name, never a path.
    public static func isOwnName(_ name: String) -> Bool {
        name == last || name == best
            || name.range(of: #"^epoch-[0-9]{3,}\.h5$"#, options: .regularExpression) != nil
            || name.range(of: #"^top-[1-9][0-9]*-epoch[0-9]{3,}-step[0-9]{6,}-val-?[0-9]+\.[0-9]{5}\.h5$"#,
                          options: .regularExpression) != nil
    }

    /// Checks a top-k list read from a checkpoint (untrusted: checkpoints travel between people and its
    /// checksum anyone can recompute): entry i must carry exactly the name `topFile` gives it at rank i + 1,
    /// with a finite loss, best first. Nothing outside the run directory can then be named by it.
    public static func validate(topK entries: [TopKEntry], file: String) throws {
        for (i, e) in entries.enumerated() {
            guard e.valLoss.isFinite, e.epoch >= 0, e.step >= 0, e.file == topFile(rank: i + 1, e) else {
                throw CheckpointError(file: file, "its top-k entry \(i + 1) names the file '\(TextExcerpt.of(e.file))' "
                                      + "(val loss \(e.valLoss), epoch \(e.epoch), step \(e.step)), which is not the name "
                                      + "this program gives it ('\(topFile(rank: i + 1, e))'); the checkpoint was altered "
                                      + "or damaged, refusing to use it")
            }
            if i > 0, e.valLoss < entries[i - 1].valLoss {
                throw CheckpointError(file: file, "its top-k list is not ordered by validation loss (entry \(i + 1)); "
                                      + "the checkpoint was altered or damaged, refusing to use it")
            }
        }
    }

    /// `path(name)` for a name about to be renamed or removed; refuses anything but this program's names.
    func ownPath(_ name: String) throws -> String {
        guard Self.isOwnName(name) else {
            throw CheckpointError(file: directory, "refusing to rename or remove '\(TextExcerpt.of(name))': not a "
                                  + "checkpoint name this program writes")
        }
        return path(name)
    }

    // MARK: Top-k

    /// What a new validation result does to the top-k list.
    public struct TopKUpdate: Equatable {
        /// The new list, best first, with final file names.
        public var entries: [TopKEntry]
        /// File name of the new entry, if it made the list.
        public var added: String?
        /// (old name, new name) of kept entries whose rank changed.
        public var renames: [Renaming]
        /// Files of entries that fell out.
        public var removed: [String]

        public struct Renaming: Equatable {
            public var from: String
            public var to: String
        }
    }

    /// The top-k list after a check with `valLoss` at (`epoch`, `step`). Non-finite losses never enter;
    /// ties keep the earlier checkpoint ahead.
    public func update(_ current: [TopKEntry], valLoss: Double, epoch: Int, step: Int) -> TopKUpdate {
        var update = TopKUpdate(entries: current, added: nil, renames: [], removed: [])
        guard topK > 0, valLoss.isFinite else { return update }
        guard current.count < topK || valLoss < current[current.count - 1].valLoss else { return update }
        var entries = current
        let at = entries.firstIndex { valLoss < $0.valLoss } ?? entries.count
        entries.insert(TopKEntry(file: "", valLoss: valLoss, epoch: epoch, step: step), at: at)
        while entries.count > topK { update.removed.append(entries.removeLast().file) }
        for i in entries.indices {
            let name = Self.topFile(rank: i + 1, entries[i])
            if i == at {
                update.added = name
            } else if entries[i].file != name {
                update.renames.append(.init(from: entries[i].file, to: name))
            }
            entries[i].file = name
        }
        update.entries = entries
        return update
    }

    /// Carries out the renames and removals of `update` (after the new file was written).
    public func apply(_ update: TopKUpdate) throws {
        // Ranks only move down when an entry is inserted above, and names include epoch and step, so no
        // rename target is the current name of another kept file.
        for r in update.renames where FileManager.default.fileExists(atPath: try ownPath(r.from)) {
            try rename(from: try ownPath(r.from), to: try ownPath(r.to))
        }
        for name in update.removed { try? FileManager.default.removeItem(atPath: try ownPath(name)) }
        syncDirectory()
    }

    // MARK: Placing files

    /// Writes `contents` under each of `names` (see the file comment), with `preprocessing` recorded
    /// unless `contents` carries its own. `names` must not be empty.
    public func save(_ contents: CheckpointContents, as names: [String]) throws {
        guard let first = names.first else { return }
        var contents = contents
        if contents.preprocessing == nil { contents.preprocessing = preprocessing }
        try Checkpoint.write(contents, to: path(first))
        for name in names.dropFirst() { try linkOrCopy(path(first), path(name)) }
    }

    /// Makes `dst` another name of `src` atomically (hard link, or a copy where links fail).
    func linkOrCopy(_ src: String, _ dst: String) throws {
        let tmp = dst + ".tmp-link-\(getpid())"
        unlink(tmp)
        if link(src, tmp) != 0 {
            do {
                let data = try Data(contentsOf: URL(fileURLWithPath: src))
                guard FileManager.default.createFile(atPath: tmp, contents: data) else {
                    throw CheckpointError(file: dst, "cannot create \(tmp)")
                }
                let fd = open(tmp, O_RDONLY)
                if fd >= 0 { fsync(fd); close(fd) }
            } catch let e as CheckpointError {
                throw e
            } catch {
                throw CheckpointError(file: dst, "cannot copy \(src): \(error)")
            }
        }
        try rename(from: tmp, to: dst)
        syncDirectory()
    }

    private func rename(from: String, to: String) throws {
        guard Foundation.rename(from, to) == 0 else {
            let reason = String(cString: strerror(errno))
            throw CheckpointError(file: to, "cannot rename \(from) to it: \(reason)")
        }
    }

    private func syncDirectory() {
        let fd = open(directory, O_RDONLY | O_DIRECTORY)
        if fd >= 0 { fsync(fd); close(fd) }
    }

    // MARK: Resume

    /// Makes the run directory agree with a resumed `state` (rank 0, before training continues):
    /// checkpoint files written after it by the interrupted run (epoch files of later epochs, top-k files
    /// not in its list, a newer best.h5) are removed, and listed top-k files found under an older rank's
    /// name are renamed. Returns notes for the log.
    public func reconcile(with state: TrainingState, resumedFrom: String) -> [String] {
        var notes: [String] = []
        let fm = FileManager.default
        let files = (try? fm.contentsOfDirectory(atPath: directory)) ?? []
        for f in files where f.hasPrefix("epoch-") && f.hasSuffix(".h5") {
            if let n = Int(f.dropFirst(6).dropLast(3)), n > state.epoch {
                try? fm.removeItem(atPath: path(f))
                notes.append("removed \(f), written after the resume point")
            }
        }
        let listed = Set(state.topK.map(\.file))
        for entry in state.topK where !Self.isOwnName(entry.file) {     // Checkpoint.read refuses these already
            notes.append("ignored the top-k entry '\(TextExcerpt.of(entry.file))': not a checkpoint name")
        }
        for entry in state.topK where Self.isOwnName(entry.file) && !fm.fileExists(atPath: path(entry.file)) {
            let tag = String(format: "-epoch%03d-step%06d-", entry.epoch, entry.step)
            if let old = files.first(where: { $0.hasPrefix("top-") && $0.contains(tag) && !listed.contains($0) }) {
                try? rename(from: path(old), to: path(entry.file))
                notes.append("renamed \(old) to \(entry.file)")
            } else if entry.step == state.globalStep, (try? Checkpoint.globalStep(of: resumedFrom)) == entry.step,
                      (try? linkOrCopy(resumedFrom, path(entry.file))) != nil {
                notes.append("linked \(entry.file) to the checkpoint of its step")      // killed before its link
            } else {
                notes.append("top-k checkpoint \(entry.file) is missing")
            }
        }
        let now = Set((try? fm.contentsOfDirectory(atPath: directory)) ?? [])
        for f in now where f.hasPrefix("top-") && f.hasSuffix(".h5") && !listed.contains(f) {
            try? fm.removeItem(atPath: path(f))
            notes.append("removed \(f), written after the resume point")
        }
        for f in now where f.contains(".tmp-") {
            try? fm.removeItem(atPath: path(f))
        }
        let bestPath = path(Self.best)
        if state.bestStep == state.globalStep, (try? Checkpoint.globalStep(of: bestPath)) != state.bestStep,
           (try? Checkpoint.globalStep(of: resumedFrom)) == state.bestStep, (try? linkOrCopy(resumedFrom, bestPath)) != nil {
            notes.append("linked best.h5 to the checkpoint of its step")                  // killed before its link
        } else if fm.fileExists(atPath: bestPath), let step = try? Checkpoint.globalStep(of: bestPath), step > state.globalStep {
            try? fm.removeItem(atPath: bestPath)
            if let top = state.topK.first, top.step == state.bestStep, Self.isOwnName(top.file),
               fm.fileExists(atPath: path(top.file)) {
                try? linkOrCopy(path(top.file), bestPath)
                notes.append("best.h5 was newer than the resume point; restored it from \(top.file)")
            } else {
                notes.append("best.h5 was newer than the resume point and was removed; the next improvement rewrites it")
            }
        }
        syncDirectory()
        return notes
    }
}

extension Checkpoint {
    /// The global_step attribute of a checkpoint file (cheap: attributes only).
    public static func globalStep(of path: String) throws -> Int {
        try HDF5Lock.withLock {
            let f = try H5File.open(path: path)
            defer { f.discard() }
            return Int(try f.int64Attribute("global_step"))
        }
    }
}
