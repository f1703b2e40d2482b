import CGMTensor
import Layers

/// The encoder–decoder LSTM of PhysioSeq2Seq (section 3.5, eqs. 12–13).
///
///   encoder input E: (B, L, encoderInputs)  → LSTM_enc → (h_L, c_L)            (eq. 12)
///   decoder input D: (B, H, decoderInputs)  → LSTM_dec from (h_L, c_L) → O: (B, H, d)
///   dropout(p) on O, shared Linear(d → 1) at every step → scaled CGM (B, H)   (eq. 13)
/// All H outputs come from one forward pass: no prediction is fed back.
public struct Seq2SeqLSTM {
    public struct Config {
        public var encoderInputs: Int
        public var decoderInputs: Int
        public var hidden: Int
        public var dropout: Float
        /// PhysioSeq2Seq with ODE states: encoder [CGM, IOB, 10 states], decoder [IOB, 10 states], d = 64, p = 0.2.
        public static let physio = Config(encoderInputs: 12, decoderInputs: 11, hidden: 64, dropout: 0.2)
        public init(encoderInputs: Int, decoderInputs: Int, hidden: Int, dropout: Float) {
            self.encoderInputs = encoderInputs
            self.decoderInputs = decoderInputs
            self.hidden = hidden
            self.dropout = dropout
        }
    }

    public let config: Config
    public let store: ParameterStore
    public let encoder: LSTM, decoder: LSTM
    public let head: Linear

    public init(_ config: Config, seed: UInt64) {
        self.config = config
        store = ParameterStore()
        var rng = PhiloxGenerator(seed: seed, stream: 1)
        encoder = LSTM(store, "encoder", inputSize: config.encoderInputs, hiddenSize: config.hidden, rng: &rng)
        decoder = LSTM(store, "decoder", inputSize: config.decoderInputs, hiddenSize: config.hidden, rng: &rng)
        head = Linear(store, "head", inFeatures: config.hidden, outFeatures: 1, rng: &rng)
    }

    /// Scaled-CGM forecast (B, H).
    public func callAsFunction(encoderInput: Var, decoderInput: Var, _ p: BoundParameters) -> Var {
        let g = encoderInput.graph
        let enc = encoder(encoderInput, p)
        let dec = decoder(decoderInput, h0: enc.hT, c0: enc.cT, p)
        let y = head(g.dropout(dec.output, p: config.dropout), p)   // (B, H, 1)
        return g.reshape(y, to: Array(y.shape.dropLast()))
    }
}
