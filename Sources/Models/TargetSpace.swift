// What a forecaster's head predicts (issue 14), shared by every learned forecaster:
//
//   absolute   s(g_{t+h}): eq. 11-scaled glucose, the papers' parameterization (PhysioSeq2Seq eq. 15, SSM-CGM
//              A.9), kept so the papers' tables can be reproduced as published.
//   residual   z_h = (s(g_{t+h}) − s(g_t)) / σ_h: the change from the last observed glucose g_t (the `cgm_scaled`
//              past feature at the decision step), standardized per horizon step by the training data's RMS
//              change σ_h (`GlucoseChangeScale`). z = 0 is persistence, so a zero-initialized head starts there
//              and training learns corrections to it; every step's targets have unit RMS, so short horizons
//              weigh in the loss as much as long ones.
//
// The map is affine per (window, step) with a positive slope σ_h, so quantiles of z are quantiles of s and
// (eq. 14 being monotone) of mg/dL: quantile heads predict quantiles of the change.
//
//   targets(batch) (B, H)         head-space targets for the loss
//   scaled(head, batch)           head output (B, H) or (B, H, Q) → eq. 11 space (then eq. 14 to mg/dL)

import CGMSchema
import CGMTensor

/// The space a forecaster's head predicts in (see the file header).
public enum TargetSpace: Equatable, Sendable {
    /// Eq. 11-scaled glucose.
    case absolute
    /// The change from the last observed scaled glucose (past feature `anchorIndex` at the decision step),
    /// divided by `scale[h]` per horizon step.
    case residual(anchorIndex: Int, scale: [Float])

    /// Whether the head predicts changes.
    public var isResidual: Bool { if case .residual = self { return true } else { return false } }

    /// s(g_t) of every window: the anchor feature at the last history step (B).
    public static func lastScaled(_ batch: Batch, anchorIndex c: Int) -> [Float] {
        precondition(c >= 0 && c < batch.pastFeatureCount,
                     "TargetSpace: anchor index \(c) outside the batch's \(batch.pastFeatureCount) past features")
        let p = batch.pastFeatureCount, l = batch.history
        return (0 ..< batch.count).map { batch.past[($0 * l + l - 1) * p + c] }
    }

    /// The encoder input of a residual model: the past features (B, L, P) with one more column, the history relative to
    /// the last observed glucose in units of the 5-minute change, (s(g_k) − s(g_t)) / σ₁ — the inputs' counterpart of
    /// the residual head (last-value normalization, as NLinear/RevIN), an O(1) signal where eq. 11's absolute values
    /// move by ~0.01 per step. Absolute space: the past features unchanged.
    public func encoderInput(_ batch: Batch) -> Tensor {
        guard case let .residual(c, scale) = self else { return batch.pastTensor }
        let b = batch.count, l = batch.history, p = batch.pastFeatureCount
        let anchor = Self.lastScaled(batch, anchorIndex: c)
        var x = [Float](repeating: 0, count: b * l * (p + 1))
        for w in 0 ..< b {
            for k in 0 ..< l {
                let src = (w * l + k) * p, dst = (w * l + k) * (p + 1)
                for j in 0 ..< p { x[dst + j] = batch.past[src + j] }
                x[dst + p] = (batch.past[src + c] - anchor[w]) / scale[0]
            }
        }
        return Tensor(shape: [b, l, p + 1], scalars: x)
    }

    /// Past features a model reads per step: P, plus the relative-history column in residual space.
    public func encoderWidth(pastFeatures p: Int) -> Int { isResidual ? p + 1 : p }

    /// Head-space targets (B, H).
    public func targets(_ batch: Batch) -> Tensor {
        switch self {
        case .absolute:
            return batch.scaledTarget
        case let .residual(c, scale):
            precondition(scale.count == batch.horizon,
                         "TargetSpace: \(scale.count) change scales for a horizon of \(batch.horizon)")
            let anchor = Self.lastScaled(batch, anchorIndex: c), h = batch.horizon
            var z = [Float](repeating: 0, count: batch.count * h)
            for b in 0 ..< batch.count {
                for j in 0 ..< h { z[b * h + j] = (FeatureCatalog.scaleCGM(batch.target[b * h + j]) - anchor[b]) / scale[j] }
            }
            return Tensor(shape: batch.targetShape, scalars: z)
        }
    }

    /// Eq. 11-scaled glucose from a head output of shape (B, H) or (B, H, Q).
    public func scaled(_ head: Tensor, _ batch: Batch) -> Tensor {
        guard case let .residual(c, scale) = self else { return head }
        let b = batch.count, h = batch.horizon
        precondition(head.shape.count >= 2 && head.shape[0] == b && head.shape[1] == h && scale.count == h,
                     "TargetSpace: head output \(head.shape) does not match the batch (\(b), \(h)) and \(scale.count) scales")
        let q = head.count / (b * h)
        let anchor = Self.lastScaled(batch, anchorIndex: c)
        var out = [Float](repeating: 0, count: head.count)
        for w in 0 ..< b {
            for j in 0 ..< h {
                for k in 0 ..< q {
                    let i = (w * h + j) * q + k
                    out[i] = anchor[w] + scale[j] * head.pointer[i]
                }
            }
        }
        return Tensor(shape: head.shape, scalars: out)
    }

    /// Glucose in mg/dL (eq. 14) from a head output of shape (B, H) or (B, H, Q).
    public func milligrams(_ head: Tensor, _ batch: Batch) -> Tensor {
        let s = scaled(head, batch)
        return Tensor(shape: s.shape, scalars: s.scalars.map(FeatureCatalog.unscaleCGM))
    }
}

extension DatasetShape {
    /// The head's target space for `model.residual` (`TargetSpace`): residual targets need the last observed glucose
    /// (`cgm_scaled` among the past features) and the dataset's fitted change scale.
    /// - Throws: `ModelBuildError` naming what the dataset lacks.
    public func targetSpace(residual: Bool, model: String) throws -> TargetSpace {
        guard residual else { return .absolute }
        guard let anchor = pastFeatures.firstIndex(of: FeatureCatalog.cgmScaled) else {
            throw ModelBuildError("model \(model) with residual: true forecasts the change from the last observed glucose, "
                                  + "which it reads from the past feature '\(FeatureCatalog.cgmScaled)'; the dataset's past "
                                  + "features are \(pastFeatures) (add cgm_scaled, or set model.residual: false)")
        }
        guard let scale = glucoseChangeScale, scale.count == horizon else {
            throw ModelBuildError("model \(model) with residual: true needs the dataset's glucose change scale "
                                  + "(feature_spec glucoseChangeScale), which datasets prepared before it existed lack: run "
                                  + "prepare again, or set model.residual: false")
        }
        return .residual(anchorIndex: anchor, scale: scale)
    }
}
