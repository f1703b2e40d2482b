// PreparedDatasetWriter: the distributed second half of `prepare`. Every rank runs its share of the shard
// jobs (job j goes to rank j mod size) and writes the shards into DIR.tmp-<jobid>/<split>/; the ranks then
// exchange an error flag (all-reduce) and their shard summaries (all-gather); if everything succeeded,
// rank 0 writes manifest.json and renames the temporary directory to DIR, otherwise rank 0 deletes it and
// every rank throws the same error naming the failing rank(s). A failed run therefore never leaves DIR
// half-written. Protocol (collectives in the same order on every rank):
//
//   A  rank 0: check DIR, create DIR.tmp-<jobid>/{train,val,test}      broadcast(setup status)
//   B  every rank: its jobs → shard files                              (local)
//   C  allReduce(max, error flag); allGather(rank report JSON)         every rank builds the same Manifest
//   D  failure: rank 0 removes the temp dir; barrier; all throw
//      success: rank 0 writes manifest, swaps in DIR; broadcast(status); all return the Manifest
//
// DIR and its temporary sibling must be on a filesystem all ranks see (one node, or a shared filesystem).
// A rank killed outright (not a thrown error) aborts the MPI job and may leave DIR.tmp-* behind, never DIR.

import Distributed
import Foundation

/// Failure of a distributed prepare: which rank(s) failed, on which job, and why.
public struct PreparedDatasetError: Error, CustomStringConvertible, Equatable {
    /// One rank's failure.
    public struct RankFailure: Codable, Equatable, Sendable {
        /// Failing rank, or nil when the failure is global (e.g. shards that disagree, seen by all ranks).
        public var rank: Int?
        /// Job label, e.g. "train/shard-00003.h5", when a job failed.
        public var job: String?
        /// Error text (naming the file and dataset when the error came from a shard).
        public var message: String
    }

    /// Output directory of the failed run (not created or left unchanged).
    public var outDir: String
    /// Failures, in rank order.
    public var failures: [RankFailure]

    /// "prepare of 'DIR' failed, nothing was written: rank 1 (job train/shard-00002.h5): ...".
    public var description: String {
        let parts = failures.map { f -> String in
            var s = f.rank.map { "rank \($0)" } ?? "all ranks"
            if let job = f.job { s += " (job \(job))" }
            return s + ": " + f.message
        }
        return "prepare of '\(outDir)' failed, nothing was written: " + parts.joined(separator: "; ")
    }
}

/// Writes a prepared dataset directory from shard jobs, distributed over a communicator's ranks.
public final class PreparedDatasetWriter {
    /// The communicator (all of its ranks must call `write` with the same jobs).
    public let comm: any Communicator
    /// Output directory DIR.
    public let outDir: String
    /// Replace an existing DIR (only after the new one is complete).
    public let overwrite: Bool
    /// Provenance written into every shard and the manifest.
    public let metadata: ShardMetadata
    /// Shard file writer (chunking and compression settings).
    public let shardWriter: ShardWriter

    /// Creates a writer for `outDir` (`chunkRows`, `gzipLevel`: see `ShardWriter`). `overwrite` replaces an
    /// existing prepared dataset (a directory with a manifest.json, or an empty directory); anything else at
    /// `outDir` is always refused.
    public init(comm: any Communicator, outDir: String, overwrite: Bool = false, metadata: ShardMetadata,
                chunkRows: Int? = nil, gzipLevel: Int = ShardSchema.defaultGzipLevel) {
        self.comm = comm
        var dir = outDir
        while dir.count > 1 && dir.hasSuffix("/") { dir.removeLast() }
        self.outDir = dir
        self.overwrite = overwrite
        self.metadata = metadata
        self.shardWriter = ShardWriter(metadata: metadata, chunkRows: chunkRows, gzipLevel: gzipLevel)
    }

    /// Runs this rank's share of `jobs` (job j on rank j mod size) through `produce`, writes the shards and,
    /// if every rank succeeded, the manifest; then publishes DIR atomically. Collective: every rank calls it
    /// with the same `jobs`. `qc` holds counters known to the caller (added to the jobs' summed counters)
    /// and the yield; when `qc.yield` is nil, `computeYield(summedCounts, totalWindows)` supplies it.
    /// Returns the manifest on every rank; throws `PreparedDatasetError` on every rank if any failed.
    @discardableResult
    public func write<R: ShardJobResult>(jobs: [ShardJob], qc: ManifestQC = ManifestQC(),
                                         computeYield: (([String: Int], Int) -> Double?)? = nil,
                                         produce: (ShardJob) throws -> R) throws -> Manifest {
        let rank = comm.rank
        var tempDir: String?
        var published = false
        defer {
            // Rank 0 owns the temp dir: any exit before publishing (including a collective failing) removes it.
            if rank == 0, !published, let tempDir { try? FileManager.default.removeItem(atPath: tempDir) }
        }

        // A: rank 0 prepares the temporary directory; everyone learns its name or the reason it failed.
        var setup = SetupStatus(tempDir: nil, error: nil)
        if rank == 0 {
            do {
                tempDir = try makeTempDirectory()
                setup.tempDir = tempDir
            } catch {
                setup.error = "\(error)"
            }
        }
        setup = try ShardJSON.decode(SetupStatus.self, try comm.broadcast(try ShardJSON.encode(setup), root: 0))
        guard let temp = setup.tempDir, setup.error == nil else {
            throw PreparedDatasetError(outDir: outDir, failures: [.init(rank: 0, job: nil,
                                                                        message: setup.error ?? "no temp dir")])
        }

        // B: this rank's jobs.
        var report = RankReport(rank: rank, jobsFingerprint: ShardJSON.fingerprint((try? ShardJSON.encode(jobs)) ?? ""),
                                summaries: [], qcCounts: [:], failure: nil)
        runJobs(jobs, in: temp, produce: produce, into: &report)

        // C: error flag, then everyone's report; every rank derives the same verdict and manifest.
        let anyFailed = try comm.allReduce(Int32(report.failure == nil ? 0 : 1), op: .max)
        let reports = try comm.allGatherStrings(try ShardJSON.encode(report)).map {
            try ShardJSON.decode(RankReport.self, $0)
        }
        var failures = reports.compactMap(\.failure)
        for r in reports where r.jobsFingerprint != reports[0].jobsFingerprint {
            failures.append(.init(rank: r.rank, job: nil, message: "job list differs from rank 0's; every rank "
                                  + "must pass the same jobs"))
        }
        assert((anyFailed != 0) == reports.contains { $0.failure != nil })
        var manifest: Manifest?
        if failures.isEmpty {
            do {
                var counts = qc.counts
                for r in reports { counts.merge(r.qcCounts, uniquingKeysWith: +) }
                let summaries = reports.flatMap(\.summaries)
                let windows = summaries.reduce(0) { $0 + $1.windowCount }
                let yield = qc.yield ?? computeYield?(counts, windows)
                manifest = try Manifest(summaries: summaries, metadata: metadata,
                                        qc: ManifestQC(counts: counts, yield: yield))
            } catch {
                failures.append(.init(rank: nil, job: nil, message: "\(error)"))
            }
        }

        // D: clean up and fail together, or publish.
        guard let manifest, failures.isEmpty else {
            if rank == 0 { try? FileManager.default.removeItem(atPath: temp) }
            try comm.barrier()   // no rank returns before the temp dir is gone
            throw PreparedDatasetError(outDir: outDir, failures: failures.sorted { ($0.rank ?? -1) < ($1.rank ?? -1) })
        }
        var finalError = ""
        if rank == 0 {
            do {
                try manifest.write(toDirectory: temp)
                try publish(temp)
                published = true
            } catch {
                finalError = "\(error)"
            }
        }
        finalError = try comm.broadcast(finalError, root: 0)
        if !finalError.isEmpty {
            throw PreparedDatasetError(outDir: outDir, failures: [.init(rank: 0, job: nil, message: finalError)])
        }
        return manifest
    }

    // MARK: Steps

    /// Runs this rank's jobs; records summaries, QC counts, or the first failure.
    private func runJobs<R: ShardJobResult>(_ jobs: [ShardJob], in temp: String, produce: (ShardJob) throws -> R,
                                            into report: inout RankReport) {
        let rank = comm.rank
        if let problem = Self.validateJobs(jobs) {
            report.failure = .init(rank: rank, job: nil, message: problem)
            return
        }
        for (ordinal, job) in jobs.enumerated() where ordinal % comm.size == rank {
            do {
                let output = try produce(job).shardJobOutput(for: job)
                guard Set(output.windows.keys) == Set(job.splits) else {
                    throw ShardError(file: job.label, rank: rank, message: "job returned windows for splits "
                                     + "\(output.windows.keys.sorted().map(\.rawValue)), expected "
                                     + "\(job.splits.map(\.rawValue))")
                }
                for split in job.splits {
                    let path = (temp as NSString).appendingPathComponent(ShardSchema.relativePath(split: split,
                                                                                                 index: job.index))
                    report.summaries.append(try shardWriter.write(output.windows[split]!, split: split,
                                                                  index: job.index, to: path, rank: rank))
                }
                report.qcCounts.merge(output.qcCounts, uniquingKeysWith: +)
            } catch {
                report.failure = .init(rank: rank, job: job.label, message: "\(error)")
                return
            }
        }
    }

    /// Nil if the job list is well formed (non-empty splits, non-negative indices, each shard once).
    static func validateJobs(_ jobs: [ShardJob]) -> String? {
        var seen = Set<String>()
        for job in jobs {
            if job.splits.isEmpty { return "job \(job.index) has no splits" }
            if job.index < 0 { return "job \(job.label) has a negative shard index" }
            for split in job.splits {
                let shard = ShardSchema.relativePath(split: split, index: job.index)
                if !seen.insert(shard).inserted { return "shard \(shard) is produced by two jobs" }
            }
        }
        return nil
    }

    /// Why `outDir` (not named in the text) cannot receive a prepared dataset (nil: it can): something that is not a directory, a
    /// directory that is neither empty nor a prepared dataset (never replaced), or a prepared dataset without
    /// `overwrite`. Each message says what to do; only the last one suggests --overwrite.
    public static func outputProblem(_ outDir: String, overwrite: Bool) -> String? {
        let fm = FileManager.default
        var isDir: ObjCBool = false
        guard fm.fileExists(atPath: outDir, isDirectory: &isDir) else { return nil }
        guard isDir.boolValue else { return "exists and is not a directory; choose another output directory" }
        let hasManifest = fm.fileExists(atPath: (outDir as NSString).appendingPathComponent(Manifest.fileName))
        let isEmpty = ((try? fm.contentsOfDirectory(atPath: outDir)) ?? ["?"]).isEmpty
        guard hasManifest || isEmpty else {
            return "exists and is not a prepared dataset (no \(Manifest.fileName)); choose another output "
                + "directory (--overwrite replaces only a prepared dataset)"
        }
        return overwrite ? nil : "output directory already exists; pass --overwrite to replace it"
    }

    /// `DIR.tmp-PID-HEX` siblings left by a prepare into the same DIR that was killed (its process PID is gone
    /// from this node). Only names of exactly that pattern are considered.
    static func leftoverTemporaries(of outDir: String) -> [String] {
        let parent = (outDir as NSString).deletingLastPathComponent
        let base = (outDir as NSString).lastPathComponent
        let names = (try? FileManager.default.contentsOfDirectory(atPath: parent.isEmpty ? "." : parent)) ?? []
        return names.compactMap { name -> String? in
            guard name.hasPrefix(base + ".tmp-") else { return nil }
            let tag = name.dropFirst(base.count + 5).split(separator: "-", omittingEmptySubsequences: false)
            guard tag.count == 2, let pid = Int32(tag[0]), pid > 0, pid != getpid(), !tag[1].isEmpty,
                  tag[1].allSatisfy(\.isHexDigit), tag[1].count <= 8 else { return nil }
            guard kill(pid, 0) != 0 && errno == ESRCH else { return nil }     // still running here: not ours to touch
            return (parent as NSString).appendingPathComponent(name)
        }
    }

    /// Rank 0: refuses an unusable DIR (`outputProblem`), removes leftovers of killed prepares into the same
    /// DIR, then creates DIR.tmp-<jobid>/{train,val,test}.
    private func makeTempDirectory() throws -> String {
        let fm = FileManager.default
        if let problem = Self.outputProblem(outDir, overwrite: overwrite) {
            throw ShardError(file: outDir, rank: 0, message: problem)
        }
        for leftover in Self.leftoverTemporaries(of: outDir) { try? fm.removeItem(atPath: leftover) }
        let jobID = "\(getpid())-" + String(UInt32.random(in: 0...UInt32.max), radix: 16)
        let temp = outDir + ".tmp-" + jobID
        do {
            for split in ShardSplit.allCases {
                try fm.createDirectory(atPath: (temp as NSString).appendingPathComponent(split.rawValue),
                                       withIntermediateDirectories: true)
            }
        } catch {
            try? fm.removeItem(atPath: temp)
            throw ShardError(file: temp, rank: 0, message: "cannot create temporary output directory: \(error)")
        }
        return temp
    }

    /// Rank 0: moves the complete temp dir to DIR; an old DIR (overwrite) is moved aside first and deleted
    /// only once the new one is in place (restored if the swap fails).
    private func publish(_ temp: String) throws {
        let fm = FileManager.default
        var old: String?
        if fm.fileExists(atPath: outDir) {
            let aside = temp.replacingOccurrences(of: ".tmp-", with: ".old-")
            guard rename(outDir, aside) == 0 else {
                throw ShardError(file: outDir, rank: 0, message: "cannot move the old directory aside: "
                                 + String(cString: strerror(errno)))
            }
            old = aside
        }
        guard rename(temp, outDir) == 0 else {
            let reason = String(cString: strerror(errno))
            if let old { _ = rename(old, outDir) }
            throw ShardError(file: outDir, rank: 0, message: "cannot rename \(temp) to it: \(reason)")
        }
        if let old { try? fm.removeItem(atPath: old) }
        let parent = (outDir as NSString).deletingLastPathComponent
        let fd = open(parent.isEmpty ? "." : parent, O_RDONLY | O_DIRECTORY)
        if fd >= 0 {
            _ = fsync(fd)
            close(fd)
        }
    }
}

/// Rank 0's answer in phase A.
private struct SetupStatus: Codable {
    var tempDir: String?
    var error: String?
}

/// One rank's result in phase C.
private struct RankReport: Codable {
    var rank: Int
    var jobsFingerprint: String
    var summaries: [ShardSummary]
    var qcCounts: [String: Int]
    var failure: PreparedDatasetError.RankFailure?
}
