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

import CGMData
import Foundation
import Models

extension ModelRegistry {
    /// SSM-CGM (Table 4 defaults).
    static let ssmCGM = ModelSpec(
        name: "ssm_cgm",
        summary: "SSM-CGM: TFT with a Mamba-2 (MES) stack and a light Mamba in place of LSTMs and attention; QuantileLoss",
        parse: { m in
            try m.rejectUnknown(["name", "d_model", "depth", "d_state", "d_conv", "expand", "headdim", "heads", "ngroups", "chunk",
                                 "light_expand", "variant", "dropout", "hidden_continuous", "quantiles", "residual"],
                                context: " for model ssm_cgm")
            let dModel = try m.int("d_model", in: 1...4096) ?? 128
            let depth = try m.int("depth", in: 1...64) ?? 4
            let dState = try m.int("d_state", in: 1...1024) ?? 128
            let dConv = try m.int("d_conv", in: 1...64) ?? 8
            let expand = try m.int("expand", in: 1...16) ?? 4
            let givenHeaddim = try m.int("headdim", in: 1...4096)
            var headdim = givenHeaddim ?? min(64, dModel)
            if let heads = try m.int("heads", in: 1...4096) {
                guard (expand * dModel) % heads == 0 else {
                    throw m.error("heads", "must divide expand · d_model = \(expand * dModel) (got \(heads))")
                }
                if let givenHeaddim, givenHeaddim * heads != expand * dModel {
                    throw m.error("heads", "\(heads) disagrees with headdim \(givenHeaddim): heads · headdim must be expand · d_model = \(expand * dModel)")
                }
                headdim = expand * dModel / heads
            }
            let ngroups = try m.int("ngroups", in: 1...64) ?? 1
            let chunk = try m.int("chunk", in: 1...4096) ?? 128
            let lightExpand = try m.int("light_expand", in: 1...16) ?? 1
            let variant = Mamba2Variant(rawValue: try m.choice("variant", Mamba2Variant.allCases.map(\.rawValue)) ?? "mes")!
            let dropout = try m.double("dropout", "in [0, 1)", { (0..<1).contains($0) }) ?? 0.2
            let continuous = try m.int("hidden_continuous", in: 1...4096) ?? 8
            let quantiles = try parseQuantiles(m)
            let residual = try m.bool("residual") ?? true
            // The light Mamba's headdim is min(headdim, light_expand · d_model) (SSMCGMConfig.lightMamba).
            let checks = [("expand", expand, headdim), ("light_expand", lightExpand, min(headdim, lightExpand * dModel))]
            for (key, e, p) in checks where (e * dModel) % p != 0 {
                throw m.error("headdim", "must divide \(key) · d_model = \(e * dModel) (got \(headdim))")
            }
            if variant == .mes && ngroups != 1 {
                throw m.error("ngroups", "must be 1 for variant mes (one readout C shared by all heads; got \(ngroups))")
            }
            for (key, e, p) in checks where ((e * dModel) / p) % ngroups != 0 {
                throw m.error("ngroups", "must divide the \((e * dModel) / p) heads of \(key) (got \(ngroups))")
            }
            let ints: [(String, Int)] = [("d_model", dModel), ("depth", depth), ("d_state", dState), ("d_conv", dConv),
                                         ("expand", expand), ("headdim", headdim), ("heads", expand * dModel / headdim),
                                         ("ngroups", ngroups), ("chunk", chunk), ("light_expand", lightExpand)]
            var values = quantileValues(quantiles)
            for (k, v) in ints { values[k] = Double(v) }
            values["variant_mes"] = variant == .mes ? 1 : 0
            values["dropout"] = dropout
            values["hidden_continuous"] = Double(continuous)
            values["residual"] = residual ? 1 : 0
            return ModelConfig(
                name: "ssm_cgm",
                node: .map([("name", .string("ssm_cgm"))] + ints.map { ($0.0, .int($0.1)) }
                           + [("variant", .string(variant.rawValue)), ("dropout", .double(dropout)),
                              ("hidden_continuous", .int(continuous)),
                              ("quantiles", .list(quantiles.map(YAMLNode.formatDouble))), ("residual", .bool(residual))]),
                values: values)
        },
        build: { config, shape, seed in
            let v = config.values
            func int(_ key: String) -> Int { Int(v[key]!) }
            let c = SSMCGMConfig(pastNames: shape.pastFeatures, futureNames: shape.futureFeatures,
                                 statics: try staticInputs(shape, model: "ssm_cgm"),
                                 dModel: int("d_model"), depth: int("depth"), dState: int("d_state"), dConv: int("d_conv"),
                                 expand: int("expand"), headdim: int("headdim"), ngroups: int("ngroups"), chunk: int("chunk"),
                                 lightExpand: int("light_expand"), variant: v["variant_mes"] == 1 ? .mes : .standard,
                                 dropout: Float(v["dropout"]!), hiddenContinuous: int("hidden_continuous"),
                                 quantiles: quantiles(v))
            let errors = c.validationErrors()
            guard errors.isEmpty else {
                throw ModelBuildError(description: "model ssm_cgm cannot be built for this dataset: " + errors.joined(separator: "; "))
            }
            return SSMCGMModel(c, targetSpace: try shape.targetSpace(residual: v["residual"]! != 0, model: "ssm_cgm"), seed: seed)
        })
}
