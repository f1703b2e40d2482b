// The parameter-less baselines of PhysioSeq2Seq (section 4.2) as registered models, so `cgmtrain train`,
// `evaluate`, `compare` and `forecast` treat them like any other model:
//
//   model:
//     name: naive          # last observed glucose carried forward, ĝ(t+h) = g(t); needs cgm_scaled in past_features
//     huber_delta: 1.0     # δ of the (reported, not optimized) validation loss, eq. 15
//
//   model:
//     name: digital_twin   # the matched Hovorka twin under basal-only inputs (Physio/DigitalTwinSpec.swift)
//     huber_delta: 1.0
//
// Neither has parameters: `train` validates once, writes config.yaml, best.h5 and last.h5 and takes no
// optimizer step (Trainer+Parameterless.swift).

import CGMSchema
import Config

/// A parameter-less baseline: its only key is the δ of its reported validation loss.
public protocol BaselineSpec: ModelSpec {
    /// δ of the Huber validation loss (eq. 15).
    var huberDelta: Double { get set }
}

extension BaselineSpec {
    public var keys: [ConfigKey<Self>] { [.huberDelta(\.huberDelta)] }
    public var unknownKeyContext: String { " for model \(Self.name) (it has no parameters)" }
}

/// "Naive Baseline" (section 4.2): the last observed glucose carried forward over the horizon.
public struct NaiveSpec: BaselineSpec {
    public static let name = "naive"
    /// Every default.
    public static let defaults = NaiveSpec()
    public var huberDelta = 1.0

    public func build(for shape: DatasetShape, seed: UInt64) throws -> any ForecastModel {
        guard let i = shape.pastFeatures.firstIndex(of: FeatureCatalog.cgmScaled) else {
            throw ModelBuildError("model naive reads the last observed glucose from the past feature "
                                  + "'\(FeatureCatalog.cgmScaled)', which the dataset does not have (past features: "
                                  + "\(shape.pastFeatures)); prepare it with cgm_scaled in past_features")
        }
        return NaiveForecaster(cgmScaledIndex: i, huberDelta: Float(huberDelta))
    }
}
