// Distributed validation with exact sums. The N validation windows are split exactly: rank r evaluates
// indices r, r + R, r + 2R, … < N (no padding, so no window is counted twice and none is left out),
// in batches read ahead by a Prefetcher. Each rank accumulates Σ (batch mean loss × batch size) and its
// window count in Double; the ranks all-gather (sum, count, error flag) and every rank adds the R pairs
// in rank order, so the validation loss — the mean per-window loss over the whole split — is bit-for-bit
// the same on every rank and the early-stopping, scheduler and checkpoint decisions taken from it agree.
// A read error on any rank becomes an error on every rank naming that rank.

import CGMData
import CGMTensor
import DataParallel
import Distributed
import Foundation
import Models

/// Result of one validation pass (identical on every rank).
public struct ValidationResult: Equatable {
    /// Mean loss per window over the split.
    public var loss: Double
    /// Windows evaluated (the split's size).
    public var count: Int
}

/// Evaluates the model's loss on this rank's exact share of the validation split.
final class DistributedValidator {
    let reader: ShardReader
    let comm: any Communicator
    let batchSize: Int
    let prefetchDepth: Int

    init(reader: ShardReader, comm: any Communicator, batchSize: Int, prefetchDepth: Int) {
        self.reader = reader
        self.comm = comm
        self.batchSize = batchSize
        self.prefetchDepth = prefetchDepth
    }

    /// This rank's batches: indices r, r + R, … < N, cut into batches.
    static func batches(count: Int, rank: Int, size: Int, batchSize: Int) -> [[Int]] {
        let mine = Array(stride(from: rank, to: count, by: size))
        return stride(from: 0, to: mine.count, by: batchSize).map { Array(mine[$0..<min($0 + batchSize, mine.count)]) }
    }

    /// One validation pass (collective: every rank calls it at the same point).
    func run(_ model: any ForecastModel) throws -> ValidationResult {
        let batches = Self.batches(count: reader.count, rank: comm.rank, size: comm.size, batchSize: batchSize)
        var sum = 0.0, n = 0.0
        var failure = ""
        let prefetcher = Prefetcher(batches: batches, reader: reader, depth: prefetchDepth)
        defer { prefetcher.cancel() }
        do {
            while let batch = try prefetcher.next() {
                let g = Graph(training: false, recording: false)
                let loss = model.loss(batch, g).value.scalar
                sum += Double(loss) * Double(batch.count)
                n += Double(batch.count)
            }
        } catch {
            failure = "validation data: \(error)"
        }
        let all = try comm.allGather([sum, n, failure.isEmpty ? 0 : 1])
        if (0..<comm.size).contains(where: { all[3 * $0 + 2] != 0 }) {
            throw try AgreedFailure.gather(comm, local: failure, context: "validation failed")
        }
        var total = 0.0, count = 0.0
        for r in 0..<comm.size {
            total += all[3 * r]
            count += all[3 * r + 1]
        }
        return ValidationResult(loss: count > 0 ? total / count : .nan, count: Int(count))
    }
}
