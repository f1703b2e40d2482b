// `model.name: seq2seq`: PhysioSeq2Seq's encoder–decoder LSTM (section 3.5) without ODE features; past
// features feed the encoder, known-future ones the decoder. With [cgm_scaled, iob_scaled] / [iob_scaled]
// this is the paper's "Seq2Seq − ODE".
//
//   model:
//     name: seq2seq
//     hidden: 64          # d, LSTM hidden units (eq. 12)
//     dropout: 0.2        # p on the decoder outputs
//     huber_delta: 1.0    # δ of the Huber loss in eq. 11-scaled space (eq. 15)
//     residual: true      # the head predicts the change from the last observed glucose, standardized per horizon
//                         # step (TargetSpace; issue 14); false: eq. 11-scaled glucose itself, as the paper

import CGMSchema
import Config

/// The keys the LSTM forecasters share (seq2seq, physio_seq2seq, recursive_lstm); each spec keeps its own
/// defaults.
public protocol LSTMForecasterSpec: ModelSpec {
    /// LSTM hidden units.
    var hidden: Int { get set }
    /// Dropout on the LSTM outputs before the head (training only).
    var dropout: Double { get set }
    /// δ of the Huber loss in eq. 11-scaled space (eq. 15).
    var huberDelta: Double { get set }
    /// The head predicts the change from the last observed glucose, standardized per horizon step (TargetSpace);
    /// false: eq. 11-scaled glucose itself, as the paper.
    var residual: Bool { get set }
}

extension LSTMForecasterSpec {
    public var keys: [ConfigKey<Self>] {
        [.int("hidden", \.hidden, 1...4096), .dropout(\.dropout), .huberDelta(\.huberDelta), .residual(\.residual)]
    }
}

/// The hyperparameters of `seq2seq` (PhysioSeq2Seq section 3.5, without ODE states).
public struct Seq2SeqSpec: LSTMForecasterSpec {
    public static let name = "seq2seq"
    /// Every default.
    public static let defaults = Seq2SeqSpec()
    public var hidden = 64
    public var dropout = 0.2
    public var huberDelta = 1.0
    public var residual = true

    public func build(for shape: DatasetShape, seed: UInt64) throws -> any ForecastModel {
        Seq2SeqForecaster(pastFeatures: shape.pastFeatures.count, futureFeatures: shape.futureFeatures.count, spec: self,
                          targetSpace: try shape.targetSpace(residual: residual, model: Self.name), seed: seed)
    }
}
