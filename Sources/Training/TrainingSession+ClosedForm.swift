// A closed-form model (`linear_ar`) is fitted, not trained: one pass over the training split accumulates its
// ridge normal equations (rank r: windows r, r + R, …, as validation splits its windows), one all-reduce sums them,
// and every rank solves the same system for each penalty in `model.l2`. The penalty kept is the one with the lowest
// validation mean squared error, computed from the validation split's own normal equations (one more pass and
// all-reduce, no forecast per penalty). Then, like a parameter-less baseline, `train` validates once with the
// model's loss, writes best.h5 = last.h5 and marks the run finished ("closed_form"), so `evaluate`, `compare` and
// `forecast` use it like any trained model. Sums run in Double; the same rank count gives the same bits.

import CGMData
import Config
import DataParallel
import Foundation
import Models

extension TrainingSession {
    /// The `TrainingState.finished` value of a closed-form fit.
    static let finishedClosedForm = "closed_form"

    /// Collective: fits `linear` in closed form, validates once and writes best.h5 and last.h5.
    func fitClosedForm(_ linear: LinearARForecaster, _ state: inout TrainingState) throws -> TrainingOutcome {
        let start = Date()
        let train = try normalEquations(linear, reader: trainReader)
        let val = try normalEquations(linear, reader: validator.reader)
        var best: (lambda: Double, mse: Double, w: [Double])?
        var lines: [String] = []
        for lambda in linear.penalties {
            let w: [Double]
            do { w = try train.solve(lambda: lambda) } catch {
                lines.append("l2 \(lambda): \(error)")
                continue
            }
            let mse = val.meanSquaredError(w)
            lines.append("l2 \(YAMLNode.formatDouble(lambda)): validation MSE \(Progress.fmt(mse)) (residual units)")
            if mse.isFinite, mse < best?.mse ?? .infinity { best = (lambda, mse, w) }
        }
        guard let best else {
            throw AgreedFailure("linear_ar: no penalty in model.l2 \(linear.penalties) gave a solution: " + lines.joined(separator: "; "))
        }
        linear.setSolution(best.w)
        progress.line("train: linear_ar fitted in closed form on \(Int(train.rows)) training windows (\(linear.featureCount) "
                      + "features × \(linear.horizon) steps; \(comm.size) rank(s)); " + lines.joined(separator: "; ")
                      + "; kept l2 \(YAMLNode.formatDouble(best.lambda))")
        return try validateOnceAndFinish(&state, reason: Self.finishedClosedForm, since: start,
                                         windowsSeen: train.rows + val.rows)
    }

    /// Collective: the normal equations of every window of `reader`'s split, summed over the ranks.
    private func normalEquations(_ linear: LinearARForecaster, reader: ShardReader) throws -> RidgeNormalEquations {
        let batches = DistributedValidator.batches(count: reader.count, rank: comm.rank, size: comm.size,
                                                   batchSize: config.train.batchSize)
        var sums = linear.emptySums()
        var failure = ""
        let prefetcher = Prefetcher(batches: batches, reader: reader, depth: config.train.prefetchDepth)
        defer { prefetcher.cancel() }
        do {
            while let batch = try prefetcher.next() { linear.accumulate(batch, into: &sums) }
        } catch {
            failure = "\(reader.split.rawValue) data: \(error)"
        }
        let failed = try comm.allReduce(failure.isEmpty ? 0.0 : 1.0)
        if failed > 0 { throw try AgreedFailure.gather(comm, local: failure, context: "linear_ar fit failed") }
        var flat = sums.flat
        try comm.allReduce(&flat)
        return RidgeNormalEquations(flat: flat, features: linear.featureCount, outputs: linear.horizon)
    }
}
