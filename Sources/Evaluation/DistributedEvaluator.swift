import CGMData
import CGMSchema
import CGMTensor
import Distributed
import Foundation
import Models

/// Forecasts every window of a split with a model. The split is cut into global batches of `batchSize`
/// consecutive windows, dealt round-robin to the ranks, so every window is forecast in the same batch for
/// any number of ranks: a row's forecast can depend on its batch's size through the GEMM path OpenBLAS
/// picks, and this keeps the forecasts bit-identical across rank counts. The records are gathered so every
/// rank (rank 0 writes) holds all of them, ordered by window.
public struct DistributedEvaluator {
    public var batchSize = 256
    /// Subgroup labels (`diabetes_status`) from a subjects.csv, when the windows do not encode them.
    public var subjectTable: SubjectTable?

    public init(batchSize: Int = 256, subjectTable: SubjectTable? = nil) {
        self.batchSize = batchSize
        self.subjectTable = subjectTable
    }

    public func run(model: any ForecastModel, dataset: ShardDataset, split: ShardSplit, comm: any Communicator)
        throws -> ForecastRecords {
        let manifest = dataset.manifest
        let spec = try? FeatureSpec(jsonString: manifest.featureSpecJSON)   // nil for datasets written without one
        let naive = try LastObservedGlucose(pastFeatures: manifest.pastFeatures, spec: spec)
        var labels = SubgroupLabels(manifest: manifest, spec: spec)
        if let subjectTable { labels.read(subjectTable, subjects: manifest.subjects) }
        let n = dataset.count(split)
        guard n > 0 else { throw EvaluationError("the \(split) split of \(dataset.directory) has no windows") }
        let reader = ShardReader(dataset: dataset, split: split, rank: comm.rank)
        defer { reader.close() }
        // Every rank, even one left without windows, learns the quantile levels from one probe window.
        let levels = model.forecast(try reader.read(indices: [0]), Graph(training: false, recording: false)).quantileLevels
        var records = ForecastRecords(horizon: manifest.horizon, quantileLevels: levels)
        for (k, start) in stride(from: 0, to: n, by: batchSize).enumerated() where k % comm.size == comm.rank {
            let batch = try reader.read(indices: Array(start..<min(start + batchSize, n)))
            labels.observe(batch)   // a window's subject label comes from its own static covariates
            let forecast = model.forecast(batch, Graph(training: false, recording: false))
            try records.append(batch: batch, forecast: forecast, naive: naive.values(batch),
                               subjectIDs: manifest.subjects, groups: labels.bySubject)
        }
        return try records.gathered(over: comm)
    }
}
