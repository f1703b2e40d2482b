// The scaffold TFT and SSM-CGM share, registered in pytorch-forecasting's module order: the inputs and static
// encoders (TemporalFusionInputs), the model's temporal core (TFT: the LSTM encoder–decoder; SSM-CGM: the Mamba
// stack), the gated skip with static enrichment (TemporalEnrichment), the model's position mixer (TFT: the
// interpretable attention; SSM-CGM: the light Mamba) and the quantile head (QuantileHead). A network is its
// config, its parameter store, one scaffold and its own forward over the parts.

import CGMTensor
import Layers

/// The parts of a TFT-style network (see the file header).
public struct TemporalFusionScaffold<Core, Mixer> {
    /// Every parameter of the network.
    public let store = ParameterStore()
    /// Embeddings, prescalers, the three VSNs and the static encoders.
    public let inputs: TemporalFusionInputs
    /// The temporal core over the encoder and decoder positions.
    public let core: Core
    /// φ = AddNorm(GLU(core), ξ) and θ = GRN_enrich(φ | c_enr).
    public let enrichment: TemporalEnrichment
    /// The position mixer read at the decoder steps.
    public let mixer: Mixer
    /// The gated quantile head.
    public let head: QuantileHead

    /// Checks `config` (`model` names it in the message) and registers every part in module order, drawing from
    /// `rng`; `core` and `mixer` register the model's own parts. `names` are the model's names of its static
    /// encoders (after c_sel), of the gate and AddNorm after the core, and of the gate after the mixer.
    public init<C: TemporalFusionConfig>(config: C, model: String,
                                         names: (staticContexts: [String], gate: String, addNorm: String, headGate: String),
                                         rng: inout PhiloxGenerator, core: (ParameterStore, inout PhiloxGenerator) -> Core,
                                         mixer: (ParameterStore, inout PhiloxGenerator) -> Mixer) {
        let errors = config.validationErrors()
        precondition(errors.isEmpty, "\(model) config: " + errors.joined(separator: "; "))
        inputs = TemporalFusionInputs(store, config: config, staticContexts: names.staticContexts, model: model, rng: &rng)
        self.core = core(store, &rng)
        enrichment = TemporalEnrichment(store, gateName: names.gate, addNormName: names.addNorm, config: config, rng: &rng)
        self.mixer = mixer(store, &rng)
        head = QuantileHead(store, gateNormName: names.headGate, config: config, rng: &rng)
    }
}
