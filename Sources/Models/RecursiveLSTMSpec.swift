// `model.name: recursive_lstm`, the "Recursive LSTM" baseline of PhysioSeq2Seq (section 4.2): one LSTM
// layer over [scaled CGM, scaled IOB] predicting the next step, trained one step ahead over an expanding
// window (teacher forcing), forecasting H steps by feeding its own predictions back (RecursiveLSTMForecaster).
//
//   model:
//     name: recursive_lstm
//     hidden: 300         # LSTM units (the paper's 300)
//     dropout: 0.0        # on the LSTM outputs before the head, training only (the paper states none)
//     huber_delta: 1.0    # δ of the Huber loss in eq. 11-scaled space (as eq. 15)
//     residual: true      # the head predicts the one-step change / σ₁ (TargetSpace); false: the next value itself
//
// The dataset's past features must include cgm_scaled, and its future features must be the other past
// features in the same order (the physio_seq2seq preset: [cgm_scaled, iob_scaled] / [iob_scaled]): over the
// horizon the model's input is [its own prediction, the known-future features].

import CGMSchema
import Config

/// The hyperparameters of `recursive_lstm` (PhysioSeq2Seq section 4.2).
public struct RecursiveLSTMSpec: LSTMForecasterSpec {
    public static let name = "recursive_lstm"
    /// Every default.
    public static let defaults = RecursiveLSTMSpec()
    public var hidden = 300
    public var dropout = 0.0
    public var huberDelta = 1.0
    public var residual = true

    public func build(for shape: DatasetShape, seed: UInt64) throws -> any ForecastModel {
        RecursiveLSTMForecaster(inputs: shape.pastFeatures.count, cgmIndex: try Self.cgmIndex(shape), spec: self,
                                targetSpace: try shape.targetSpace(residual: residual, model: Self.name), seed: seed)
    }

    /// The index of cgm_scaled among the past features, after checking that the future features are the
    /// other past features in order (what the recursion feeds beside its own prediction).
    static func cgmIndex(_ shape: DatasetShape) throws -> Int {
        guard let c = shape.pastFeatures.firstIndex(of: FeatureCatalog.cgmScaled) else {
            throw ModelBuildError("model recursive_lstm predicts and feeds back cgm_scaled, but the dataset's "
                                  + "past features \(shape.pastFeatures) do not include it; prepare it with e.g. "
                                  + "past_features: [cgm_scaled, iob_scaled]")
        }
        var others = shape.pastFeatures
        others.remove(at: c)
        guard shape.futureFeatures == others else {
            throw ModelBuildError("model recursive_lstm needs the dataset's future features to be its past "
                                  + "features without cgm_scaled, in order (\(others)), to continue its input over the "
                                  + "horizon; the dataset has future features \(shape.futureFeatures)")
        }
        return c
    }
}
