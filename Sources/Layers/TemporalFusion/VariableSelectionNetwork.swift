// Variable Selection Network (TFT, Lim et al. 2021 eqs. 6–8; SSM-CGM A.6 eqs. 7–14), pytorch-forecasting layout.
//
//   V variables, each x_i: (…, 1) for a real or (…, E_i) for a categorical embedding; (…) = (B) static
//   or (B, T) temporal; optional context c: (B, C) (static context, broadcast over time)
//   e_i  = prescaler_i(x_i): Linear(1 → d_i) for reals, the embedding itself for categoricals   (eqs. 7, 11)
//   ẽ_i  = GRN_i(e_i): d_i → Hidden (reals), ResampleNorm(E_i → Hidden) (embeddings)           (eqs. 8, 12)
//   α    = softmax_V(GRN_flat([e_1; …; e_V], c)): Σd_i → V (hidden width min(Hidden, V))     (eqs. 9, 13)
//   out  = Σ_i α_i ẽ_i: (…, Hidden),  weights α: (…, V)                                     (eqs. 10, 14)
// One variable: no selection, out = ẽ_1 and α = 1 (pytorch-forecasting's fast path).
// When every ẽ_i is a narrow GRN (V > 1 reals prescaled to ≤ 32 features ≠ Hidden, ResampleNorm skip), the
// GRNs and the sum run as one fused op (`Graph.narrowGRNs` + `Graph.weightedSum(_:weights:)`,
// CGMTensor/Ops/NarrowGRNSum.swift) that never stores an ẽ_i; same parameters, values (to rounding) and
// dropout bits as the composition. Embeddings (ResampleNorm transform) take the composition. The prescalers
// stay separate ops: e_i also feeds GRN_flat's concatenation, so it is materialized either way.

import CGMTensor
import Layers

/// A variable selection network over V inputs returning the fused representation and the selection
/// weights (the interpretable simplex α, summing to 1 over the variables).
///
/// Parameters (pytorch-forecasting names): `name.flattened_grn.*` (V > 1), `name.single_variable_grns.<var>.*`,
/// and `name.prescalers.<var>.*` for reals whose prescaler was not passed in (the TFT model shares
/// top-level `prescalers.<var>` across its three VSNs, as pytorch-forecasting does).
public struct VariableSelectionNetwork {
    /// One input variable.
    public struct Input: Equatable, Sendable {
        /// Variable name (used in parameter names; no dots).
        public var name: String
        /// Width of e_i: the prescaler's output for a real, the embedding width for a categorical.
        public var size: Int
        /// True for a categorical embedding (fed as is, transformed by a ResampleNorm).
        public var isEmbedding: Bool

        /// A real variable prescaled Linear(1 → `size`).
        public static func real(_ name: String, size: Int) -> Input { Input(name: name, size: size, isEmbedding: false) }
        /// A categorical variable whose embedding (width `size`) is given.
        public static func embedding(_ name: String, size: Int) -> Input { Input(name: name, size: size, isEmbedding: true) }
    }

    /// The per-variable transform e_i → ẽ_i.
    public enum Transform {
        /// A real variable's GRN (prescaled width d_i → Hidden).
        case grn(GatedResidualNetwork)
        /// An embedding's ResampleNorm (E_i → Hidden).
        case resampleNorm(ResampleNorm)

        func callAsFunction(_ x: Var, _ p: BoundParameters) -> Var {
            switch self {
            case .grn(let grn): return grn(x, p)
            case .resampleNorm(let norm): return norm(x, p)
            }
        }
    }

    /// The variables, in input order.
    public let inputs: [Input]
    /// Output width Hidden.
    public let hiddenSize: Int
    /// Width of the optional context.
    public let contextSize: Int?
    /// GRN_flat producing the selection logits (nil for a single variable).
    public let flattenedGRN: GatedResidualNetwork?
    /// ẽ_i transforms, in input order.
    public let singleVariable: [Transform]
    /// Prescalers of the real inputs (nil for embeddings), in input order.
    public let prescalers: [Linear?]

    /// Registers the network under `name`. `prescalers` maps variable names to shared prescalers
    /// (Linear(1 → size)); reals without one get `name.prescalers.<var>`.
    public init(_ store: ParameterStore, _ name: String, inputs: [Input], hiddenSize: Int, dropout: Float?,
                contextSize: Int? = nil, prescalers shared: [String: Linear] = [:],
                skip: GatedResidualNetwork.Skip = .resampleNorm, rng: inout PhiloxGenerator) {
        precondition(!inputs.isEmpty, "VSN '\(name)': needs at least one input variable")
        precondition(Set(inputs.map(\.name)).count == inputs.count, "VSN '\(name)': duplicate variable names \(inputs.map(\.name))")
        precondition(inputs.allSatisfy { $0.size > 0 }, "VSN '\(name)': every input width must be positive: \(inputs)")
        self.inputs = inputs
        self.hiddenSize = hiddenSize
        self.contextSize = contextSize
        let total = inputs.reduce(0) { $0 + $1.size }
        flattenedGRN = inputs.count > 1
            ? GatedResidualNetwork(store, "\(name).flattened_grn", inputSize: total,
                                   hiddenSize: min(hiddenSize, inputs.count), outputSize: inputs.count,
                                   dropout: dropout, contextSize: contextSize, skip: skip, rng: &rng)
            : nil
        var transforms: [Transform] = [], scalers: [Linear?] = []
        for input in inputs {
            let grnName = "\(name).single_variable_grns.\(input.name)"
            if input.isEmbedding {
                transforms.append(.resampleNorm(ResampleNorm(store, grnName, inputSize: input.size, outputSize: hiddenSize)))
                scalers.append(nil)
                continue
            }
            transforms.append(.grn(GatedResidualNetwork(
                store, grnName, inputSize: input.size, hiddenSize: min(input.size, hiddenSize), outputSize: hiddenSize,
                dropout: dropout, skip: skip, rng: &rng)))
            if let s = shared[input.name] {
                precondition(s.inFeatures == 1 && s.outFeatures == input.size,
                             "VSN '\(name)': shared prescaler of '\(input.name)' maps \(s.inFeatures) → \(s.outFeatures), need 1 → \(input.size)")
                scalers.append(s)
            } else {
                scalers.append(Linear(store, "\(name).prescalers.\(input.name)", inFeatures: 1, outFeatures: input.size, rng: &rng))
            }
        }
        singleVariable = transforms
        prescalers = scalers
    }

    /// Fuses `xs` (one per input, in order: (…, 1) for reals, (…, E) for embeddings) under an optional
    /// context (B, C) (ignored with a single variable, as in pytorch-forecasting). Returns the fused output
    /// (…, Hidden) and the selection weights (…, V), all 1 for a single variable.
    public func callAsFunction(_ xs: [Var], context: Var? = nil, _ p: BoundParameters) -> (output: Var, weights: Var) {
        precondition(xs.count == inputs.count, "VSN: \(xs.count) inputs given for \(inputs.count) variables")
        let g = xs[0].graph
        let lead = Array(xs[0].shape.dropLast())
        var embedded: [Var] = []
        for (i, x) in xs.enumerated() {
            let want = inputs[i].isEmbedding ? inputs[i].size : 1
            precondition(Array(x.shape.dropLast()) == lead && x.shape.last == want,
                         "VSN: variable '\(inputs[i].name)' has shape \(x.shape), expected \(lead + [want])")
            embedded.append(prescalers[i].map { $0(x, p) } ?? x)
        }
        if let flattenedGRN, let layers = narrowLayers(p) {   // Σᵢ αᵢ GRNᵢ(eᵢ) as one op (eqs. 8, 10)
            let grns = g.narrowGRNs(embedded, layers)   // the V GRNs' dropout masks, drawn in variable order
            let weights = g.softmax(flattenedGRN(g.concat(embedded, axis: -1), context: context, p), axis: -1)
            return (g.weightedSum(grns, weights: weights), weights)
        }
        let transformed = zip(singleVariable, embedded).map { transform, e in transform(e, p) }
        guard let flattenedGRN else {
            return (transformed[0], g.constant(Tensor(repeating: 1, shape: lead + [1])))
        }
        let logits = flattenedGRN(g.concat(embedded, axis: -1), context: context, p)   // (…, V)
        let weights = g.softmax(logits, axis: -1)
        return (g.weightedSum(transformed, weights: weights), weights)   // Σᵢ αᵢ ẽᵢ, fused (eq. 10)
    }

    /// Every variable's GRN as a `NarrowGRNLayer` when all of them are narrow GRNs (reals with prescalers,
    /// `GatedResidualNetwork.narrowLayer`); nil otherwise (e.g. an embedding's ResampleNorm), and then
    /// nothing was added to the graph.
    private func narrowLayers(_ p: BoundParameters) -> [NarrowGRNLayer]? {
        var grns: [GatedResidualNetwork] = []
        for transform in singleVariable {
            guard case .grn(let grn) = transform, grn.isNarrow else { return nil }
            grns.append(grn)
        }
        return grns.map { $0.narrowLayer(p)! }
    }
}
