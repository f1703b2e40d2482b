// Batch: B windows gathered from shards, row-major like WindowSet, plus the global sample indices they
// came from (the trainer keys dropout masks and per-sample bookkeeping by global index).
//
//   past (B, L, P)   future (B, H, F)   target (B, H)   statics (B, S)   subject (B)   decisionTime (B)
//   extras[name] (B, ...)               indices (B)

/// An extra per-window array of a batch: per-window shape and row-major values (B × shape).
public struct BatchExtra: Equatable, Sendable {
    /// Per-window shape.
    public var shape: [Int]
    /// Values, `B × shape.reduce(1, *)` of them.
    public var values: [Float]

    /// Creates an extra array.
    public init(shape: [Int], values: [Float]) {
        self.shape = shape
        self.values = values
    }
}

/// A mini-batch of windows read from a prepared dataset.
public struct Batch: Equatable, Sendable {
    /// Global sample index (within the split) of each row, in batch order.
    public var indices: [Int]
    /// History length L.
    public var history: Int
    /// Horizon H.
    public var horizon: Int
    /// Number of past features P.
    public var pastFeatureCount: Int
    /// Number of future features F.
    public var futureFeatureCount: Int
    /// Number of static features S.
    public var staticFeatureCount: Int
    /// (B, L, P) historical covariates.
    public var past: [Float]
    /// (B, H, F) known-future covariates.
    public var future: [Float]
    /// (B, H) glucose targets.
    public var target: [Float]
    /// (B, S) static covariates.
    public var statics: [Float]
    /// (B) subject index into `Manifest.subjects` (dataset-wide, not per shard).
    public var subject: [Int32]
    /// (B) Unix seconds of each decision time.
    public var decisionTime: [Int64]
    /// Extra arrays by name, (B, ...) each.
    public var extras: [String: BatchExtra]

    /// Number of windows B.
    public var count: Int { indices.count }
    /// [B, L, P].
    public var pastShape: [Int] { [count, history, pastFeatureCount] }
    /// [B, H, F].
    public var futureShape: [Int] { [count, horizon, futureFeatureCount] }
    /// [B, H].
    public var targetShape: [Int] { [count, horizon] }
    /// [B, S].
    public var staticsShape: [Int] { [count, staticFeatureCount] }

    /// Creates a zero-filled batch of `count` windows with the given dimensions (filled in by a reader).
    public init(count: Int, history: Int, horizon: Int, pastFeatureCount: Int, futureFeatureCount: Int,
                staticFeatureCount: Int, extras: [String: [Int]] = [:]) {
        self.indices = [Int](repeating: 0, count: count)
        self.history = history
        self.horizon = horizon
        self.pastFeatureCount = pastFeatureCount
        self.futureFeatureCount = futureFeatureCount
        self.staticFeatureCount = staticFeatureCount
        self.past = [Float](repeating: 0, count: count * history * pastFeatureCount)
        self.future = [Float](repeating: 0, count: count * horizon * futureFeatureCount)
        self.target = [Float](repeating: 0, count: count * horizon)
        self.statics = [Float](repeating: 0, count: count * staticFeatureCount)
        self.subject = [Int32](repeating: 0, count: count)
        self.decisionTime = [Int64](repeating: 0, count: count)
        self.extras = extras.mapValues {
            BatchExtra(shape: $0, values: [Float](repeating: 0, count: count * $0.reduce(1, *)))
        }
    }
}

/// Names of per-window extra arrays (`Batch.extras`) that models read, besides the ODE states (`ODEStateExtras`).
public enum WindowExtras {
    /// Per-step smoothed meal targets ỹ, shape [L] (SSM-CGM A.2; `data.meal_labels`).
    public static let mealLabels = "meal_labels"
}
