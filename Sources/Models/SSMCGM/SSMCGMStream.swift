// Streaming SSM-CGM (`cgmtrain forecast --stream`, SSM-CGM A.15's future work). Of the forward
// (SSMCGMNetwork), only the Mamba stack and the light Mamba mix positions, and both are causal; every
// other stage (prescalers, VSNs, the static contexts c_sel/c_seq/c_enr computed from the statics alone,
// post-stack gate + AddNorm, static enrichment, the head) acts on one position at a time. So:
//   encoder row t:  ξ_t = VSN_enc(x_t | c_sel), u_t = ξ_t + c_seq → stack step → m_t
//                   φ_t = AddNorm(GLU(m_t), ξ_t), θ_t = GRN_enrich(φ_t | c_enr) → light Mamba step
//                   (the encoder positions' head outputs are never read, so they are not computed)
//   forecast:       copies of both states consume the H decoder rows (ξ_dec from the known-future
//                   inputs) by prefill; the head runs on those H positions exactly as in the forward.
// The state after L + k encoder rows is the state the full forward reaches at position L + k − 1, so a
// stream started on L rows and advanced by k readings forecasts what the forward gives on the window of
// L + k past rows (the model takes any history length). Nothing is normalized per window (features use
// fixed scales or the cohort standardization recorded in the checkpoint), so the two agree to float
// rounding (the chunked scan vs the step recurrence sum in different orders; tested at 1e-4).
// Inference only (no dropout, no gradients).

import CGMSchema
import CGMTensor
import Layers

extension SSMCGMModel: StreamingForecaster {
    /// Stream-state keys of the two Mamba parts.
    static var stackKey: String { "mamba_stack" }
    static var lightKey: String { "light_mamba" }

    /// Consumes the past rows of every window of `batch` (B, L, P) from the initial state.
    public func streamStart(_ batch: Batch) -> ForecastStreamState {
        check(batch)
        let b = batch.count
        var state = ForecastStreamState(
            stacks: [Self.stackKey: network.stack.stream(store).initialState(batch: b),
                     Self.lightKey: MambaStackStreamState(layers: [network.lightMamba.stream(store).initialState(batch: b)])],
            positions: 0)
        consume(batch.pastTensor, batch, &state)
        return state
    }

    /// Consumes one new encoder row per sequence: `past` (B, P), O(1) in the positions consumed.
    public func streamStep(_ state: inout ForecastStreamState, past: [Float], _ batch: Batch) {
        check(batch)
        let p = config.pastNames.count
        precondition(past.count == batch.count * p, "ssm_cgm stream: new row has \(past.count) values, expected B·P = \(batch.count * p)")
        consume(Tensor(shape: [batch.count, 1, p], scalars: past), batch, &state)
    }

    /// The forecast from `state` with the decoder inputs and statics of `batch` (`state` is not changed).
    public func streamForecast(_ state: ForecastStreamState, _ batch: Batch) -> Forecast {
        check(batch)
        let g = Graph(training: false, recording: false), p = store.bind(g)
        let c = network.staticContexts(g.constant(Tensor(shape: batch.staticsShape, scalars: batch.statics)), p)
        let (selected, _) = network.selectDecoder(g.constant(batch.futureTensor), c)
        var stackState = parts(state).stack, lightState = parts(state).light
        let (temporal, enriched, mixed) = advance(selected, c, &stackState, &lightState)
        let prediction = network.scaffold.head(g.constant(mixed), enriched: enriched, temporal: temporal, p)
        return forecast(headOutput: prediction.value, batch)
    }

    // MARK: - Parts

    private func check(_ batch: Batch) {
        precondition(batch.pastFeatureCount == config.pastNames.count && batch.futureFeatureCount == config.futureNames.count
                     && batch.staticFeatureCount == config.statics.count,
                     "ssm_cgm stream: batch has \(batch.pastFeatureCount) past, \(batch.futureFeatureCount) future and "
                     + "\(batch.staticFeatureCount) static features; the model was built for \(config.pastNames.count), "
                     + "\(config.futureNames.count) and \(config.statics.count)")
    }

    private func parts(_ state: ForecastStreamState) -> (stack: MambaStackStreamState, light: Mamba2StreamState) {
        guard let stack = state.stacks[Self.stackKey], let light = state.stacks[Self.lightKey]?.layers, light.count == 1 else {
            preconditionFailure("ssm_cgm stream: state lacks '\(Self.stackKey)' or a one-layer '\(Self.lightKey)' (has \(state.stacks.keys.sorted()))")
        }
        return (stack, light[0])
    }

    /// Encoder rows (B, n, P) into `state`.
    private func consume(_ past: Tensor, _ batch: Batch, _ state: inout ForecastStreamState) {
        let g = Graph(training: false, recording: false), p = store.bind(g)
        let c = network.staticContexts(g.constant(Tensor(shape: batch.staticsShape, scalars: batch.statics)), p)
        let (selected, _) = network.selectEncoder(g.constant(past), c)
        var (stackState, lightState) = parts(state)
        _ = advance(selected, c, &stackState, &lightState)
        state.stacks[Self.stackKey] = stackState
        state.stacks[Self.lightKey] = MambaStackStreamState(layers: [lightState])
        state.positions += past.shape[1]
    }

    /// ξ (B, n, d) through the stack, gate, enrichment and the light Mamba from the given states (advanced):
    /// φ, θ (B, n, d) and the light Mamba's outputs (B, n, d). One row is a step (O(1)), more a prefill.
    private func advance(_ selected: Var, _ c: SSMCGMStaticContexts, _ stackState: inout MambaStackStreamState,
                         _ lightState: inout Mamba2StreamState) -> (temporal: Var, enriched: Var, mixed: Tensor) {
        let g = selected.graph, p = c.parameters
        let stackInput = (selected + g.unsqueeze(network.staticContextSequence(c.embedding, p), axis: 1)).value
        let stack = network.stack.stream(store)
        let stackOutput: Tensor
        if let row = Self.row(stackInput) {
            stackOutput = Self.rows(stack.step(row, &stackState))
        } else {
            (stackOutput, stackState) = stack.prefill(stackInput, from: stackState)
        }
        let temporal = network.scaffold.enrichment.temporal(g.constant(stackOutput), skip: selected, p)   // φ
        let enriched = network.scaffold.enrichment.enrich(temporal, context: network.scaffold.inputs.staticContextEnrichment(c.embedding, p), p)   // θ
        let light = network.lightMamba.stream(store)
        let mixed: Tensor
        if let row = Self.row(enriched.value) {
            mixed = Self.rows(light.step(row, &lightState))
        } else {
            (mixed, lightState) = light.prefill(enriched.value, from: lightState)
        }
        return (temporal, enriched, mixed)
    }

    /// (B, 1, d) as (B, d); nil for more positions.
    private static func row(_ x: Tensor) -> Tensor? {
        x.shape[1] == 1 ? Tensor(shape: [x.shape[0], x.shape[2]], scalars: x.scalars) : nil
    }

    /// (B, d) as (B, 1, d).
    private static func rows(_ x: Tensor) -> Tensor { Tensor(shape: [x.shape[0], 1, x.shape[1]], scalars: x.scalars) }
}
