// The dimensions of a prepared dataset's windows: what a model is built for (CGMData reads them from a
// manifest; a checkpoint records them for inference without a dataset).

/// What a model builder knows about the data: the dimensions of the prepared windows.
public struct DatasetShape: Equatable {
    public var history: Int
    public var horizon: Int
    public var pastFeatures: [String]
    public var futureFeatures: [String]
    public var staticFeatures: [String]
    /// Per-window shapes of the extra arrays (e.g. `ode_hist`), by name.
    public var extras: [String: [Int]]
    /// Per static feature, its category count (embedding rows, unknown class included) when categorical,
    /// nil when real — from the dataset's fitted `FeatureSpec`; empty when that spec is not available.
    /// Derived from the recorded spec, so checkpoints do not store it separately.
    public var staticCardinalities: [Int?]
    /// σ_h of residual targets (`GlucoseChangeScale`, h = 1 … H) from the dataset's fitted spec; nil for datasets
    /// prepared before it was recorded.
    public var glucoseChangeScale: [Float]?

    public init(history: Int, horizon: Int, pastFeatures: [String], futureFeatures: [String], staticFeatures: [String],
                extras: [String: [Int]] = [:], staticCardinalities: [Int?] = [], glucoseChangeScale: [Float]? = nil) {
        self.history = history
        self.horizon = horizon
        self.pastFeatures = pastFeatures
        self.futureFeatures = futureFeatures
        self.staticFeatures = staticFeatures
        self.extras = extras
        self.staticCardinalities = staticCardinalities
        self.glucoseChangeScale = glucoseChangeScale
    }

    /// Nil if the dataset has each of the ODE-state extras `names` (`data.ode_states: true`) with the right
    /// shape, otherwise a message for `model` naming what is missing.
    public func odeStatesProblem(model: String, names: [String]) -> String? {
        let want = ODEStateExtras.shapes(history: history, horizon: horizon)
        for name in names where extras[name] != want[name] {
            return "model \(model) needs extras/\(name) of per-window shape \(want[name]!) in the dataset (got "
                + (extras[name].map { "\($0)" } ?? "none") + "); prepare it with data.ode_states: true"
        }
        return nil
    }
}
