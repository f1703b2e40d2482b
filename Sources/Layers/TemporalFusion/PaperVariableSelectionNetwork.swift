// Variable Selection Network as SSM-CGM A.6 prints it (eqs. 7–14), beside pytorch-forecasting's form
// (VariableSelectionNetwork.swift: one flattened GRN scores all variables and α weights the ẽ_i). Here each
// variable is scored from its own context-aware GRN output and α weights a projection of its embedding:
//
//   V variables x_i: (…, In_i); optional context c: (…, C) or (B, C) for x_i (B, T, In_i)
//   e_i = E_i x_i                              embed.<v>: In_i → De (no bias)                     (eqs. 7, 11)
//   ẽ_i = GRN_i([e_i; c])                      grns.<v>: A.5 GRN De → D, hidden Hd                (eqs. 8, 12)
//   s_i = vᵀ ẽ_i + a,  α = softmax_i(s)        score: D → 1, shared by the variables              (eqs. 9, 13)
//   r   = Σ_i α_i P_i e_i                      projections.<v>: De → Out (no bias)                (eqs. 10, 14)
// The static VSN (eqs. 7–10) is this block over static variables with the summary s̄ omitted (no context),
// as A.6 allows; its r is the context c of the temporal one. Not yet selectable in a model (issue 18:
// `model.variant: paper` wires it later); goldens from Tests/LayersTests/Fixtures/ssm_cgm_paper_golden.py.

import CGMTensor

/// SSM-CGM A.6's VSN: per-variable embeddings, context-aware GRNs, shared scoring vector, α-weighted projections.
///
/// Parameters per variable v: `name.embed.<v>.weight`, `name.grns.<v>.*` (a `PaperGatedResidualNetwork`),
/// `name.projections.<v>.weight`; shared: `name.score.weight` (1, D) and `name.score.bias` (the scalar a).
public struct PaperVariableSelectionNetwork {
    /// Variable names (used in parameter names) and input widths In_i.
    public let names: [String], inputSizes: [Int]
    /// Widths: embedding De, GRN hidden Hd, GRN output D, fused output Out.
    public let embedSize: Int, hiddenSize: Int, scoreSize: Int, outputSize: Int
    /// E_i, GRN_i and P_i, in variable order.
    public let embeddings: [Linear], grns: [PaperGatedResidualNetwork], projections: [Linear]
    /// v and a of eqs. 9/13.
    public let score: Linear

    /// Registers the block's parameters under `name`.
    public init(_ store: ParameterStore, _ name: String, variables: [(name: String, size: Int)], embedSize: Int,
                hiddenSize: Int, scoreSize: Int, outputSize: Int, dropout: Float?, contextSize: Int? = nil,
                rng: inout PhiloxGenerator) {
        precondition(!variables.isEmpty && variables.allSatisfy { $0.size > 0 && !$0.name.contains(".") },
                     "paper VSN '\(name)': needs variables with positive widths and names without dots")
        names = variables.map(\.name)
        inputSizes = variables.map(\.size)
        self.embedSize = embedSize
        self.hiddenSize = hiddenSize
        self.scoreSize = scoreSize
        self.outputSize = outputSize
        embeddings = variables.map {
            TFTInit.linear(store, "\(name).embed.\($0.name)", inFeatures: $0.size, outFeatures: embedSize, bias: false,
                           .xavierUniform, rng: &rng)
        }
        grns = variables.map {
            PaperGatedResidualNetwork(store, "\(name).grns.\($0.name)", inputSize: embedSize, hiddenSize: hiddenSize,
                                      outputSize: scoreSize, dropout: dropout, contextSize: contextSize, rng: &rng)
        }
        projections = variables.map {
            TFTInit.linear(store, "\(name).projections.\($0.name)", inFeatures: embedSize, outFeatures: outputSize,
                           bias: false, .xavierUniform, rng: &rng)
        }
        score = TFTInit.linear(store, "\(name).score", inFeatures: scoreSize, outFeatures: 1, .xavierUniform, rng: &rng)
    }

    /// xs[i] (…, In_i) → (r (…, Out), α (…, V)).
    public func callAsFunction(_ xs: [Var], context c: Var? = nil, _ p: BoundParameters) -> (output: Var, weights: Var) {
        precondition(xs.count == names.count, "paper VSN: \(xs.count) inputs for \(names.count) variables")
        let g = p.graph
        var scores: [Var] = [], projected: [Var] = []
        for i in xs.indices {
            precondition(xs[i].shape.last == inputSizes[i],
                         "paper VSN: input '\(names[i])' \(xs[i].shape) does not end in \(inputSizes[i])")
            let e = embeddings[i](xs[i], p)                                  // eqs. 7/11
            scores.append(score(grns[i](e, context: c, p), p))              // eqs. 8–9 / 12–13: (…, 1)
            projected.append(projections[i](e, p))                          // P_i e_i
        }
        let last = xs[0].shape.count - 1
        let alpha = g.softmax(g.concat(scores, axis: last), axis: last)     // (…, V)
        var r = g.slice(alpha, axis: last, range: 0..<1) * projected[0]     // eqs. 10/14
        for i in 1 ..< projected.count { r = r + g.slice(alpha, axis: last, range: i..<(i + 1)) * projected[i] }
        return (r, alpha)
    }
}
