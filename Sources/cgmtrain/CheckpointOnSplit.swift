// The options of the commands that run a checkpoint on a split of a prepared dataset (evaluate, explain,
// counterfactual): --checkpoint, --data, --split, and where their output goes by default.

import ArgumentParser
import CGMData
import Foundation

struct CheckpointOnSplit: ParsableArguments {
    @Option(help: "Checkpoint file (e.g. RUN/best.h5).")
    var checkpoint: String
    @Option(help: "Prepared dataset directory.")
    var data: String
    @Option(help: "Split: train, val or test.")
    var split: String = "test"

    func validate() throws {
        guard ShardSplit(rawValue: split) != nil else { throw ValidationError("--split must be train, val or test, got '\(split)'") }
    }

    /// The split (validated by `validate`).
    var shardSplit: ShardSplit { ShardSplit(rawValue: split)! }

    /// `out`, or the checkpoint's directory + /NAME-<split>.
    func outDirectory(_ out: String?, name: String) -> String {
        out ?? ((checkpoint as NSString).deletingLastPathComponent as NSString).appendingPathComponent("\(name)-\(split)")
    }
}
