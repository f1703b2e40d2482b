// `model.name: ssm_cgm`: SSM-CGM (Figure 1, A.4) — TFT's VSNs, GRNs, static encoders and quantile head
// around a stack of residual Mamba-2 blocks and a light Mamba (see SSMCGMNetwork). Defaults are Table 4:
//
//   model:
//     name: ssm_cgm
//     d_model: 128                # model width (TFT hidden size)
//     depth: 4                    # residual Mamba-2 blocks in the stack
//     d_state: 128                # SSM state size N
//     d_conv: 8                   # causal depthwise convolution width
//     expand: 4                   # d_inner = expand · d_model in the stack
//     headdim: 64                 # channels per head (8 heads at the defaults)
//     heads: 8                    # alternative to headdim (the paper's search axis "head-dim config"):
//                                 # headdim = expand · d_model / heads; giving both requires them to agree
//     ngroups: 1                  # groups of B, C (1 for mes)
//     chunk: 128                  # SSD chunk length
//     light_expand: 1             # d_inner of the light Mamba = light_expand · d_model (our choice); its
//                                 # headdim is min(headdim, light_expand · d_model)
//     variant: mes                # mes (A.8: shared value and readout, per-head dynamics) | standard
//     dropout: 0.2
//     hidden_continuous: 8
//     quantiles: [0.1, 0.5, 0.9]
//     residual: true              # quantiles of the standardized change from the last glucose (TargetSpace);
//                                 # false: of eq. 11-scaled glucose, as the paper

import CGMSchema
import Config
import Layers

/// The hyperparameters of `ssm_cgm` (defaults: SSM-CGM Table 4).
public struct SSMCGMSpec: TemporalFusionSpec {
    public static let name = "ssm_cgm"
    /// Every default.
    public static let defaults = SSMCGMSpec()
    /// Model width d_model (TFT's hidden size), the residual Mamba-2 blocks of the stack (Table 4 "Mamba depth"),
    /// the SSM state size N, the causal convolution width and d_inner = expand · d_model of the stack blocks.
    public var dModel = 128, depth = 4, dState = 128, dConv = 8, expand = 4
    /// Channels per head P (heads = expand · d_model / headdim; when neither it nor `heads` is given, min(this,
    /// d_model)), the groups of B and C (1 for MES) and the SSD chunk length.
    public var headdim = 64, ngroups = 1, chunk = 128
    /// d_inner = lightExpand · d_model in the light Mamba (our choice; its headdim is min(headdim, d_inner)).
    public var lightExpand = 1
    /// Standard Mamba-2 heads or SSM-CGM's MES-style heads (A.8), in every block.
    public var variant: Mamba2Variant = .mes
    /// The scaffold's keys (TemporalFusionSpec; dropout also on each stack block's output before the residual add).
    public var dropout = 0.2, hiddenContinuous = 8, quantiles = [0.1, 0.5, 0.9], residual = true

    /// Model width d.
    public var width: Int { dModel }

    /// Heads of the stack blocks, expand · d_model / headdim.
    public var heads: Int { expand * dModel / headdim }

    public var keys: [ConfigKey<SSMCGMSpec>] {
        [.int("d_model", \.dModel, 1...4096), .int("depth", \.depth, 1...64), .int("d_state", \.dState, 1...1024),
         .int("d_conv", \.dConv, 1...64), .int("expand", \.expand, 1...16), .int("headdim", \.headdim, 1...4096),
         ConfigKey("heads", read: { _, _ in }, write: { .int($0.heads) }),   // read by validate: it sets headdim
         .int("ngroups", \.ngroups, 1...64), .int("chunk", \.chunk, 1...4096), .int("light_expand", \.lightExpand, 1...16),
         .choice("variant", \.variant)] + Self.scaffoldKeys
    }

    /// `heads` (the paper's search axis "head-dim config") sets headdim = expand · d_model / heads; then the
    /// Mamba blocks' own checks (Mamba2Config.problems), named by key.
    public mutating func validate(_ m: ConfigMap) throws {
        let inner = expand * dModel
        if let heads = try m.int("heads", in: 1...4096) {
            guard inner % heads == 0 else { throw m.error("heads", "must divide expand · d_model = \(inner) (got \(heads))") }
            if m.has("headdim"), headdim * heads != inner {
                throw m.error("heads", "\(heads) disagrees with headdim \(headdim): heads · headdim must be expand · d_model = \(inner)")
            }
            headdim = inner / heads
        } else if !m.has("headdim") {
            headdim = min(headdim, dModel)
        }
        if let problem = problems.first { throw m.error(problem.key, problem.message) }
    }

    /// The mixer of each stack block.
    public var stackMamba: Mamba2Config {
        Mamba2Config(dModel: dModel, dState: dState, dConv: dConv, expand: expand, headdim: headdim, ngroups: ngroups,
                     chunk: chunk, dtLimit: 1e-3...10, learnableInitStates: true, variant: variant)
    }

    /// The light Mamba replacing the attention: the stack's mixer with expand `lightExpand` and headdim
    /// min(headdim, lightExpand · d_model) (one head when the stack's heads are wider than its d_inner).
    public var lightMamba: Mamba2Config {
        var c = stackMamba
        c.expand = lightExpand
        c.headdim = min(headdim, lightExpand * dModel)
        return c
    }

    /// What is wrong with the sizes (empty when valid), by key: both Mamba mixers' checks.
    public var problems: [(key: String, message: String)] {
        var out: [(key: String, message: String)] = depth < 1 ? [("depth", "must be ≥ 1 (got \(depth))")] : []
        for p in stackMamba.problems(expandKey: "expand") + lightMamba.problems(expandKey: "light_expand")
        where !out.contains(where: { $0 == p }) { out.append(p) }
        return out
    }

    public func build(for shape: DatasetShape, seed: UInt64) throws -> any ForecastModel {
        try buildModel(SSMCGMNetwork.self, for: shape, seed: seed)
    }
}
