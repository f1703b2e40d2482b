// ShardJob: the unit of work of a distributed `prepare`. Job k covers a deterministic group of subjects and
// produces shard k of one or more splits (one split when splits are by subject; all three when each
// subject's timeline is split by time). Jobs are dealt to ranks round-robin by their position in the job
// list, and a shard's content depends only on its job, so the output is identical for any number of ranks.

import Foundation

/// One unit of `prepare` work: subjects → shard `index` of each split in `splits`.
public struct ShardJob: Codable, Hashable, Sendable {
    /// Shard index (file `shard-NNNNN.h5` in each split directory).
    public var index: Int
    /// Splits this job writes a shard for (usually one).
    public var splits: [ShardSplit]
    /// Subjects whose windows go into the shard(s), in the caller's order.
    public var subjects: [String]

    /// A job producing shard `index` of one split.
    public init(split: ShardSplit, index: Int, subjects: [String]) {
        self.init(splits: [split], index: index, subjects: subjects)
    }

    /// A job producing shard `index` of each split in `splits`.
    public init(splits: [ShardSplit], index: Int, subjects: [String]) {
        self.index = index
        self.splits = splits
        self.subjects = subjects
    }

    /// "train/shard-00003.h5" (or "{train,val}/shard-00003.h5" for multi-split jobs), for messages.
    public var label: String {
        let s = splits.count == 1 ? splits[0].rawValue : "{" + splits.map(\.rawValue).joined(separator: ",") + "}"
        return s + "/" + ShardSchema.shardFileName(index: index)
    }

    /// Groups `subjects` (in the given order) into consecutive jobs of at most `subjectsPerShard` subjects,
    /// numbered from 0, each producing shards for `splits`. An empty subject list gives no jobs.
    public static func plan(subjects: [String], splits: [ShardSplit], subjectsPerShard: Int) -> [ShardJob] {
        precondition(subjectsPerShard > 0, "ShardJob.plan: subjectsPerShard must be positive, got \(subjectsPerShard)")
        return stride(from: 0, to: subjects.count, by: subjectsPerShard).enumerated().map { k, start in
            ShardJob(splits: splits, index: k,
                     subjects: Array(subjects[start..<min(start + subjectsPerShard, subjects.count)]))
        }
    }

    /// Jobs for subject-level splits: each split's subjects grouped as in `plan(subjects:splits:...)`;
    /// jobs ordered train, val, test.
    public static func plan(subjectsBySplit: [ShardSplit: [String]], subjectsPerShard: Int) -> [ShardJob] {
        ShardSplit.allCases.flatMap { split in
            plan(subjects: subjectsBySplit[split] ?? [], splits: [split], subjectsPerShard: subjectsPerShard)
        }
    }
}

/// What one job produced: windows per split, plus QC counts to be summed over all jobs into the manifest.
public struct ShardJobOutput {
    /// Windows for each of the job's splits (a missing split is an error).
    public var windows: [ShardSplit: WindowSet]
    /// QC counters of this job (summed key by key over all jobs).
    public var qcCounts: [String: Int]

    /// Creates a job output.
    public init(windows: [ShardSplit: WindowSet], qcCounts: [String: Int] = [:]) {
        self.windows = windows
        self.qcCounts = qcCounts
    }
}

/// Values a `PreparedDatasetWriter` job closure may return: a `WindowSet` (single-split jobs), a
/// `[ShardSplit: WindowSet]`, or a `ShardJobOutput`.
public protocol ShardJobResult {
    /// The result as a `ShardJobOutput` for `job`.
    func shardJobOutput(for job: ShardJob) throws -> ShardJobOutput
}

extension ShardJobOutput: ShardJobResult {
    /// Itself.
    public func shardJobOutput(for job: ShardJob) throws -> ShardJobOutput { self }
}

extension WindowSet: ShardJobResult {
    /// The windows of a single-split job.
    public func shardJobOutput(for job: ShardJob) throws -> ShardJobOutput {
        guard job.splits.count == 1 else {
            throw ShardError(file: job.label, message: "job \(job.index) writes \(job.splits.count) splits; "
                             + "return [ShardSplit: WindowSet] or ShardJobOutput instead of one WindowSet")
        }
        return ShardJobOutput(windows: [job.splits[0]: self])
    }
}

extension Dictionary: ShardJobResult where Key == ShardSplit, Value == WindowSet {
    /// Windows per split, no QC counts.
    public func shardJobOutput(for job: ShardJob) throws -> ShardJobOutput { ShardJobOutput(windows: self) }
}
