// Streaming forecasters (SSM-CGM A.15: "streaming-capable versions of SSM-CGM, leveraging the linear-time
// properties of Mamba"): the encoder keeps its recurrent state between readings, so a new reading costs
// O(1) in the context length instead of re-running the context. A stream started on a window of L past
// rows and advanced by k readings forecasts exactly what `forecast` gives for the window of L + k past
// rows ending at the newest reading (to float rounding): the stream is the forward over everything it
// has consumed, not over a sliding window of L (a state-space model cannot drop its oldest input).

import CGMSchema
import CGMTensor
import Layers

/// The state of a stream: the recurrent state of each of the model's Mamba stacks, by name.
public struct ForecastStreamState: Equatable, Sendable {
    /// Per stack name, its per-layer conv windows and SSM states (after the encoder positions consumed).
    public var stacks: [String: MambaStackStreamState]
    /// Encoder positions consumed.
    public var positions: Int

    public init(stacks: [String: MambaStackStreamState], positions: Int) {
        self.stacks = stacks
        self.positions = positions
    }
}

/// A forecaster whose encoder can consume one reading at a time.
public protocol StreamingForecaster: ForecastModel {
    /// Consumes the past rows of every window of `batch` (B, L, P) from the initial state.
    func streamStart(_ batch: Batch) -> ForecastStreamState
    /// Consumes one new encoder row per sequence: `past` (B, P) scaled features of the new reading;
    /// `batch` supplies the statics (its history and future are not read).
    func streamStep(_ state: inout ForecastStreamState, past: [Float], _ batch: Batch)
    /// The forecast from `state`, with the decoder inputs and statics of `batch` (its history is not read).
    func streamForecast(_ state: ForecastStreamState, _ batch: Batch) -> Forecast
}
