// Fused losses with hand-written backward. Each returns a scalar Var (shape []) with PyTorch's default
// mean reduction; sums are accumulated in Double. Targets are Vars (usually constants; gradients into
// them are still produced when they require one), except crossEntropy's integer class indices.
//
//   mseLoss(p, t):        L = 1/N Σ (p − t)²                                    p, t: (...) same shape
//   huberLoss(p, t, δ):   L = 1/N Σ { ½r² if |r| < δ; δ(|r| − ½δ) otherwise },  r = p − t   (nn.HuberLoss)
//   quantileLoss(p, t, q): pinball ρ_q(e) = max(q·e, (q − 1)·e), e = t − p_q;   p: (..., Q), t: (...)
//   crossEntropy(x, y):   L = 1/|V| Σ_{n ∈ V} (log Σ_c exp x_nc − x_{n,y_n}),   x: (N, C), V = non-ignored rows
//   bceWithLogits(x, y):  L = 1/N Σ w·[(1 − y)·x + (1 + (p_w − 1)·y)·softplus(−x)]   (nn.BCEWithLogitsLoss)
//                         with softplus(−x) = log1p(exp(−|x|)) + max(−x, 0), stable for any x.

import Foundation

/// How `quantileLoss` reduces the (elements × quantiles) pinball losses to one number.
public enum QuantileLossReduction: Sendable {
    /// Σ ρ / (N·Q): the mean over all elements and quantiles (default).
    case meanOverAll
    /// Σ ρ / N: sum over the quantiles, then the mean over the N target elements. This is the
    /// `torch.mean(torch.sum(losses, dim=1))` form of the original TFT-in-PyTorch code and of several
    /// PyTorch ports; it equals Q × `.meanOverAll`.
    case sumOverQuantilesMeanOverElements
    /// 2 · Σ ρ / (N·Q): what current pytorch-forecasting `QuantileLoss` returns with `reduction="mean"`
    /// and no padding mask. Its `loss()` is 2·ρ per quantile (so q = 0.5 gives the MAE), and
    /// `MultiHorizonMetric.mask_losses` divides by the number of quantiles before `sum / lengths.sum()`,
    /// so this equals 2 × `.meanOverAll`; releases before the factor 2 was introduced equal `.meanOverAll`.
    case pytorchForecasting
}

extension Graph {
    /// Mean squared error 1/N Σ (pred − target)² (PyTorch `nn.MSELoss`, mean). Shapes must be equal.
    public func mseLoss(_ pred: Var, _ target: Var) -> Var {
        precondition(pred.shape == target.shape, "mseLoss: pred \(pred.shape) and target \(target.shape) differ")
        let n = pred.value.count
        precondition(n > 0, "mseLoss: empty input \(pred.shape)")
        let p = pred.value.pointer, t = target.value.pointer
        var s = 0.0
        for k in 0..<n {
            let r = Double(p[k] - t[k])
            s += r * r
        }
        return record(Tensor(scalar: Float(s / Double(n))), inputs: [pred, target],
                      rule: PointwiseLossBackward(kind: .mse, pred: pred, target: target))
    }

    /// Huber loss (PyTorch `nn.HuberLoss`, mean): ½r² where |r| < delta, delta·(|r| − ½delta) elsewhere,
    /// r = pred − target. Shapes must be equal; delta > 0.
    public func huberLoss(_ pred: Var, _ target: Var, delta: Float = 1) -> Var {
        precondition(pred.shape == target.shape, "huberLoss: pred \(pred.shape) and target \(target.shape) differ")
        precondition(delta > 0, "huberLoss: delta must be positive, got \(delta)")
        let n = pred.value.count
        precondition(n > 0, "huberLoss: empty input \(pred.shape)")
        let p = pred.value.pointer, t = target.value.pointer
        let d = Double(delta)
        var s = 0.0
        for k in 0..<n {
            let a = abs(Double(p[k] - t[k]))
            s += a < d ? 0.5 * a * a : d * (a - 0.5 * d)
        }
        return record(Tensor(scalar: Float(s / Double(n))), inputs: [pred, target],
                      rule: PointwiseLossBackward(kind: .huber(delta), pred: pred, target: target))
    }

    /// Quantile (pinball) loss of `pred` (..., Q) for the quantiles `quantiles` (Q values in [0, 1])
    /// against `target` (...): ρ_q(e) = max(q·e, (q − 1)·e) with e = target − pred[..., q], reduced as
    /// `reduction` says (default: mean over all elements and quantiles; see `QuantileLossReduction`
    /// for pytorch-forecasting parity). At e = 0 the gradient is the average of both sides, ½ − q, as
    /// PyTorch's `torch.max(a, b)` gives at ties.
    public func quantileLoss(
        _ pred: Var, _ target: Var, quantiles: [Float], reduction: QuantileLossReduction = .meanOverAll
    ) -> Var {
        let q = quantiles.count
        precondition(q > 0 && pred.shape == target.shape + [q],
                     "quantileLoss: pred \(pred.shape) must be target \(target.shape) + [\(q)] for \(q) quantiles")
        precondition(quantiles.allSatisfy { $0 >= 0 && $0 <= 1 }, "quantileLoss: quantiles \(quantiles) outside [0, 1]")
        let n = target.value.count
        precondition(n > 0, "quantileLoss: empty target \(target.shape)")
        let p = pred.value.pointer, t = target.value.pointer
        var s = 0.0
        for k in 0..<n {
            for (j, qj) in quantiles.enumerated() {
                let e = Double(t[k] - p[k * q + j]), qd = Double(qj)
                s += max(qd * e, (qd - 1) * e)
            }
        }
        let scale = LossMath.quantileScale(reduction, elements: n, quantiles: q)
        return record(Tensor(scalar: Float(s * scale)), inputs: [pred, target],
                      rule: QuantileLossBackward(pred: pred, target: target, quantiles: quantiles, scale: scale))
    }

    /// Softmax cross-entropy (PyTorch `nn.CrossEntropyLoss`, mean) of `logits` (N, C) — or (..., C),
    /// treated as rows of C classes — against class indices `targets` (one per row). Rows whose target
    /// is `ignoreIndex` are skipped and the mean is over the remaining rows. Uses a max-shifted
    /// log-sum-exp. Deviation from PyTorch: when every row is ignored the loss is 0 with zero gradient
    /// (PyTorch returns NaN from 0/0), so a fully padded batch cannot poison training.
    public func crossEntropy(_ logits: Var, targets: [Int], ignoreIndex: Int = -100) -> Var {
        let s = logits.shape
        precondition(s.count >= 1 && s.last! > 0, "crossEntropy: logits \(s) need a non-empty class axis")
        let c = s.last!, rows = logits.value.count / c
        precondition(targets.count == rows,
                     "crossEntropy: \(targets.count) targets for logits \(s) (\(rows) rows of \(c) classes)")
        let x = logits.value.pointer
        let lse = Tensor(uninitialized: [rows])   // log Σ exp of each row (NaN-free cache for backward)
        let lp = lse.sharedMutablePointer
        var total = 0.0, valid = 0
        for r in 0..<rows {
            let y = targets[r]
            if y == ignoreIndex { lp[r] = 0; continue }
            precondition(y >= 0 && y < c, "crossEntropy: target \(y) of row \(r) outside 0..<\(c) (ignoreIndex \(ignoreIndex))")
            let row = x + r * c
            var m = row[0]
            for j in 1..<c { m = max(m, row[j]) }
            var sum = 0.0
            for j in 0..<c { sum += Foundation.exp(Double(row[j] - m)) }
            let l = Double(m) + Foundation.log(sum)
            lp[r] = Float(l)
            total += l - Double(row[y])
            valid += 1
        }
        let loss = valid == 0 ? 0 : total / Double(valid)
        return record(Tensor(scalar: Float(loss)), inputs: [logits], rule: CrossEntropyBackward(
            logits: logits, targets: targets, ignoreIndex: ignoreIndex, logSumExp: lse, valid: valid))
    }

    /// Binary cross-entropy on logits (PyTorch `nn.BCEWithLogitsLoss`, mean):
    /// ℓ = w·[(1 − y)·x + (1 + (posWeight − 1)·y)·softplus(−x)], softplus(−x) = log1p(e^−|x|) + max(−x, 0),
    /// which equals −w·[posWeight·y·log σ(x) + (1 − y)·log(1 − σ(x))] without overflow for any x.
    /// `targets` has the shape of `logits` (values in [0, 1], soft labels allowed); `weights`, if given,
    /// has the shape of `logits` or of a trailing part of it (e.g. per class), broadcast over the rest.
    public func bceWithLogits(_ logits: Var, _ targets: Var, posWeight: Float = 1, weights: Var? = nil) -> Var {
        precondition(logits.shape == targets.shape,
                     "bceWithLogits: logits \(logits.shape) and targets \(targets.shape) differ")
        let n = logits.value.count
        precondition(n > 0, "bceWithLogits: empty input \(logits.shape)")
        if let weights {
            let ws = weights.shape, ls = logits.shape
            precondition(ws.count <= ls.count && Array(ls.suffix(ws.count)) == ws,
                         "bceWithLogits: weights \(ws) do not broadcast to logits \(ls) (must match its trailing axes)")
        }
        let x = logits.value.pointer, y = targets.value.pointer
        let w = weights?.value.pointer, wn = weights?.value.count ?? 1
        let pw = Double(posWeight)
        var s = 0.0
        for k in 0..<n {
            let l = LossMath.bceTerm(x: Double(x[k]), y: Double(y[k]), posWeight: pw)
            s += w.map { Double($0[k % wn]) * l } ?? l
        }
        let inputs = [logits, targets] + (weights.map { [$0] } ?? [])
        return record(Tensor(scalar: Float(s / Double(n))), inputs: inputs, rule: BCEWithLogitsBackward(
            logits: logits, targets: targets, weights: weights, posWeight: posWeight))
    }
}

/// Scalar helpers shared by the loss forwards and backwards.
enum LossMath {
    /// softplus(−x) = log(1 + e^−x), stable for any x.
    @inline(__always) static func softplusNeg(_ x: Double) -> Double {
        Foundation.log1p(Foundation.exp(-abs(x))) + max(-x, 0)
    }

    /// The unweighted BCE-with-logits term (1 − y)·x + (1 + (p − 1)·y)·softplus(−x).
    @inline(__always) static func bceTerm(x: Double, y: Double, posWeight p: Double) -> Double {
        (1 - y) * x + (1 + (p - 1) * y) * softplusNeg(x)
    }

    /// The factor applied to Σ ρ for each quantile-loss reduction.
    static func quantileScale(_ r: QuantileLossReduction, elements n: Int, quantiles q: Int) -> Double {
        switch r {
        case .meanOverAll: return 1 / Double(n * q)
        case .sumOverQuantilesMeanOverElements: return 1 / Double(n)
        case .pytorchForecasting: return 2 / Double(n * q)
        }
    }
}

/// Backward of the elementwise mean losses (MSE, Huber): dL/dpred = φ′(pred − target) / N.
struct PointwiseLossBackward: BackwardRule {
    enum Kind { case mse, huber(Float) }
    let kind: Kind
    let pred: Var, target: Var

    func backward(_ dOutputs: [Tensor?], _ g: Graph) {
        guard let dL = dOutputs[0]?.scalar else { return }
        let n = pred.value.count
        let scale = dL / Float(n)
        let p = pred.value.pointer, t = target.value.pointer
        let dp = g.needsGrad(pred) ? g.gradBuffer(pred) : nil
        let dt = g.needsGrad(target) ? g.gradBuffer(target) : nil
        for k in 0..<n {
            let r = p[k] - t[k]
            let d: Float
            switch kind {
            case .mse: d = 2 * r * scale
            case .huber(let delta): d = min(max(r, -delta), delta) * scale
            }
            dp?[k] += d
            dt?[k] -= d
        }
    }
}

/// dρ/dpred = −q where e > 0, 1 − q where e < 0, ½ − q at e = 0; dρ/dtarget is its negation summed over q.
struct QuantileLossBackward: BackwardRule {
    let pred: Var, target: Var
    let quantiles: [Float]
    let scale: Double

    func backward(_ dOutputs: [Tensor?], _ g: Graph) {
        guard let dL = dOutputs[0]?.scalar else { return }
        let q = quantiles.count, n = target.value.count
        let s = Float(Double(dL) * scale)
        let p = pred.value.pointer, t = target.value.pointer
        let dp = g.needsGrad(pred) ? g.gradBuffer(pred) : nil
        let dt = g.needsGrad(target) ? g.gradBuffer(target) : nil
        for k in 0..<n {
            var sumT: Float = 0
            for (j, qj) in quantiles.enumerated() {
                let e = t[k] - p[k * q + j]
                let d = (e > 0 ? -qj : e < 0 ? 1 - qj : 0.5 - qj) * s
                dp?[k * q + j] += d
                sumT -= d
            }
            dt?[k] += sumT
        }
    }
}

/// dL/dx_nj = (softmax_nj − [j = y_n]) / |V| for non-ignored rows, 0 for ignored rows.
struct CrossEntropyBackward: BackwardRule {
    let logits: Var
    let targets: [Int]
    let ignoreIndex: Int
    let logSumExp: Tensor
    let valid: Int

    func backward(_ dOutputs: [Tensor?], _ g: Graph) {
        guard let dL = dOutputs[0]?.scalar, valid > 0, g.needsGrad(logits) else { return }
        let c = logits.shape.last!, rows = targets.count
        let scale = dL / Float(valid)
        let x = logits.value.pointer, lp = logSumExp.pointer, dx = g.gradBuffer(logits)
        for r in 0..<rows where targets[r] != ignoreIndex {
            let row = x + r * c, drow = dx + r * c, l = lp[r]
            for j in 0..<c { drow[j] += Foundation.exp(row[j] - l) * scale }
            drow[targets[r]] -= scale
        }
    }
}

/// dℓ/dx = w·[(1 − y) − lw·σ(−x)],  dℓ/dy = w·[−x + (p_w − 1)·softplus(−x)],  dℓ/dw = ℓ/w; all / N.
struct BCEWithLogitsBackward: BackwardRule {
    let logits: Var, targets: Var, weights: Var?
    let posWeight: Float

    func backward(_ dOutputs: [Tensor?], _ g: Graph) {
        guard let dL = dOutputs[0]?.scalar else { return }
        let n = logits.value.count
        let scale = Double(dL) / Double(n)
        let x = logits.value.pointer, y = targets.value.pointer
        let w = weights?.value.pointer, wn = weights?.value.count ?? 1
        let dx = g.needsGrad(logits) ? g.gradBuffer(logits) : nil
        let dy = g.needsGrad(targets) ? g.gradBuffer(targets) : nil
        let dw = weights.flatMap { g.needsGrad($0) ? g.gradBuffer($0) : nil }
        let pw = Double(posWeight)
        for k in 0..<n {
            let xk = Double(x[k]), yk = Double(y[k])
            let wk = w.map { Double($0[k % wn]) } ?? 1
            let e = Foundation.exp(-abs(xk))
            let sigNeg = xk >= 0 ? e / (1 + e) : 1 / (1 + e)      // σ(−x) without overflow
            let lw = 1 + (pw - 1) * yk
            dx?[k] += Float(wk * ((1 - yk) - lw * sigNeg) * scale)
            dy?[k] += Float(wk * (-xk + (pw - 1) * LossMath.softplusNeg(xk)) * scale)
            dw?[k % wn] += Float(LossMath.bceTerm(x: xk, y: yk, posWeight: pw) * scale)
        }
    }
}
