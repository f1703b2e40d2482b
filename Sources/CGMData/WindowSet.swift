/// Forecasting windows of one split, the contract between feature extraction (`prepare`'s first half)
/// and the HDF5 shard writer/reader (its second half) and the trainer.
///
/// Layout (row-major, N windows):
///   past        (N, L, P)  historical covariates, names in `pastFeatures`   (encoder input)
///   future      (N, H, F)  known-future covariates, names in `futureFeatures` (decoder input)
///   target      (N, H)     glucose in mg/dL at t+1 … t+H
///   statics     (N, S)     static covariates (encoded), names in `staticFeatures`
///   subject     (N)        index into `subjects`
///   decisionTime(N)        Unix seconds of the decision time t (last history step)
/// Extra per-window arrays (e.g. ODE states for PhysioSeq2Seq, token sequences for GluFormer) go in
/// `extras` under a name with their per-window shape.
public struct WindowSet {
    public var history: Int
    public var horizon: Int
    public var pastFeatures: [String]
    public var futureFeatures: [String]
    public var staticFeatures: [String]
    public var subjects: [String]
    public var past: [Float] = []
    public var future: [Float] = []
    public var target: [Float] = []
    public var statics: [Float] = []
    public var subject: [Int32] = []
    public var decisionTime: [Int64] = []
    public var extras: [String: (shape: [Int], values: [Float])] = [:]

    public var count: Int { subject.count }

    public init(history: Int, horizon: Int, pastFeatures: [String], futureFeatures: [String],
                staticFeatures: [String], subjects: [String]) {
        self.history = history
        self.horizon = horizon
        self.pastFeatures = pastFeatures
        self.futureFeatures = futureFeatures
        self.staticFeatures = staticFeatures
        self.subjects = subjects
    }

    /// Checks that every array has the length its shape implies; returns a message naming the first mismatch.
    public func validate() -> String? {
        let n = count
        let expected: [(String, Int, Int)] = [
            ("past", past.count, n * history * pastFeatures.count),
            ("future", future.count, n * horizon * futureFeatures.count),
            ("target", target.count, n * horizon),
            ("statics", statics.count, n * staticFeatures.count),
            ("decisionTime", decisionTime.count, n),
        ]
        for (name, got, want) in expected where got != want {
            return "WindowSet.\(name) has \(got) values, expected \(want) for \(n) windows"
        }
        for (name, e) in extras where e.values.count != n * e.shape.reduce(1, *) {
            return "WindowSet.extras[\(name)] has \(e.values.count) values, expected \(n) × \(e.shape)"
        }
        return nil
    }
}
