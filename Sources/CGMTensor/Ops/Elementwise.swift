// Element-wise binary ops with NumPy broadcasting, scalar affine maps, and the `Var` operators.
//
//   a (…A) ∘ b (…B) → y (broadcast(A, B)),  e.g. x (N, C) + bias (C) → (N, C)
//
// Backward sums the gradient over the axes along which each operand was broadcast:
//   add: da = Σ dy          db = Σ dy
//   sub: da = Σ dy          db = −Σ dy
//   mul: da = Σ dy · b      db = Σ dy · a
//   div: da = Σ dy / b      db = −Σ dy · a / b²
//
//   affine: y = s · x + c (scale, addScalar, negation),  dx = s · dy

/// The four broadcasting arithmetic ops.
enum BinaryOpKind: String { case add, sub, mul, div }

extension Graph {
    /// `a + b` with NumPy broadcasting.
    public func add(_ a: Var, _ b: Var) -> Var { binary(a, b, .add) }

    /// `a - b` with NumPy broadcasting.
    public func sub(_ a: Var, _ b: Var) -> Var { binary(a, b, .sub) }

    /// `a * b` (element-wise) with NumPy broadcasting.
    public func mul(_ a: Var, _ b: Var) -> Var { binary(a, b, .mul) }

    /// `a / b` (element-wise) with NumPy broadcasting.
    public func div(_ a: Var, _ b: Var) -> Var { binary(a, b, .div) }

    /// `s · x`.
    public func scale(_ x: Var, by s: Float) -> Var { affine(x, scale: s, shift: 0) }

    /// `x + c`.
    public func addScalar(_ x: Var, _ c: Float) -> Var { affine(x, scale: 1, shift: c) }

    /// `−x`.
    public func neg(_ x: Var) -> Var { affine(x, scale: -1, shift: 0) }

    /// `s · x + c` in one pass.
    public func affine(_ x: Var, scale s: Float, shift c: Float) -> Var {
        precondition(x.graph === self, "affine: operand comes from another Graph")
        let xv = x.value
        let out = Tensor(uninitialized: xv.shape)
        let px = xv.pointer, y = out.sharedMutablePointer
        for i in 0..<xv.count { y[i] = s * px[i] + c }
        return record(out, inputs: [x], rule: AffineBackward(x: x, scale: s))
    }

    func binary(_ a: Var, _ b: Var, _ op: BinaryOpKind) -> Var {
        precondition(a.graph === self && b.graph === self,
                     "\(op.rawValue): operands \(a.shape) and \(b.shape) come from different Graphs")
        guard let outShape = Shape.broadcast(a.shape, b.shape) else {
            preconditionFailure("\(op.rawValue): shapes \(a.shape) and \(b.shape) do not broadcast")
        }
        let plan = StridedPlan(broadcasting: a.shape, b.shape, to: outShape)
        let out = Tensor(uninitialized: outShape)
        let y = out.sharedMutablePointer, pa = a.value.pointer, pb = b.value.pointer
        switch op {
        case .add: plan.forEach { i, ia, ib in y[i] = pa[ia] + pb[ib] }
        case .sub: plan.forEach { i, ia, ib in y[i] = pa[ia] - pb[ib] }
        case .mul: plan.forEach { i, ia, ib in y[i] = pa[ia] * pb[ib] }
        case .div: plan.forEach { i, ia, ib in y[i] = pa[ia] / pb[ib] }
        }
        return record(out, inputs: [a, b], rule: BinaryBackward(a: a, b: b, op: op, plan: plan))
    }
}

struct BinaryBackward: BackwardRule {
    let a: Var, b: Var
    let op: BinaryOpKind
    let plan: StridedPlan

    func backward(_ dOutputs: [Tensor?], _ g: Graph) {
        guard let dY = dOutputs[0] else { return }
        let d = dY.pointer, pa = a.value.pointer, pb = b.value.pointer
        if g.needsGrad(a) {
            let ga = g.gradBuffer(a), n = a.value.count
            switch op {
            case .add, .sub:
                accumulateBroadcast(into: ga, operandCount: n, isA: true, plan: plan) { i, _, _ in d[i] }
            case .mul:
                accumulateBroadcast(into: ga, operandCount: n, isA: true, plan: plan) { i, _, ib in d[i] * pb[ib] }
            case .div:
                accumulateBroadcast(into: ga, operandCount: n, isA: true, plan: plan) { i, _, ib in d[i] / pb[ib] }
            }
        }
        if g.needsGrad(b) {
            let gb = g.gradBuffer(b), n = b.value.count
            switch op {
            case .add:
                accumulateBroadcast(into: gb, operandCount: n, isA: false, plan: plan) { i, _, _ in d[i] }
            case .sub:
                accumulateBroadcast(into: gb, operandCount: n, isA: false, plan: plan) { i, _, _ in -d[i] }
            case .mul:
                accumulateBroadcast(into: gb, operandCount: n, isA: false, plan: plan) { i, ia, _ in d[i] * pa[ia] }
            case .div:
                accumulateBroadcast(into: gb, operandCount: n, isA: false, plan: plan) { i, ia, ib in
                    let q = pa[ia] / pb[ib]
                    return -d[i] * q / pb[ib]
                }
            }
        }
    }
}

struct AffineBackward: BackwardRule {
    let x: Var
    let scale: Float

    func backward(_ dOutputs: [Tensor?], _ g: Graph) {
        guard let dY = dOutputs[0], g.needsGrad(x) else { return }
        let gx = g.gradBuffer(x), d = dY.pointer, s = scale
        for i in 0..<dY.count { gx[i] += s * d[i] }
    }
}

// MARK: - Operators

extension Var {
    /// Broadcasting sum; both operands must come from the same `Graph`.
    public static func + (lhs: Var, rhs: Var) -> Var { checkSameGraph(lhs, rhs, "+"); return lhs.graph.add(lhs, rhs) }
    /// Broadcasting difference; both operands must come from the same `Graph`.
    public static func - (lhs: Var, rhs: Var) -> Var { checkSameGraph(lhs, rhs, "-"); return lhs.graph.sub(lhs, rhs) }
    /// Broadcasting element-wise product; both operands must come from the same `Graph`.
    public static func * (lhs: Var, rhs: Var) -> Var { checkSameGraph(lhs, rhs, "*"); return lhs.graph.mul(lhs, rhs) }
    /// Broadcasting element-wise quotient; both operands must come from the same `Graph`.
    public static func / (lhs: Var, rhs: Var) -> Var { checkSameGraph(lhs, rhs, "/"); return lhs.graph.div(lhs, rhs) }

    /// `x + c`.
    public static func + (lhs: Var, rhs: Float) -> Var { lhs.graph.addScalar(lhs, rhs) }
    /// `c + x`.
    public static func + (lhs: Float, rhs: Var) -> Var { rhs.graph.addScalar(rhs, lhs) }
    /// `x − c`.
    public static func - (lhs: Var, rhs: Float) -> Var { lhs.graph.addScalar(lhs, -rhs) }
    /// `c − x`.
    public static func - (lhs: Float, rhs: Var) -> Var { rhs.graph.affine(rhs, scale: -1, shift: lhs) }
    /// `x · c`.
    public static func * (lhs: Var, rhs: Float) -> Var { lhs.graph.scale(lhs, by: rhs) }
    /// `c · x`.
    public static func * (lhs: Float, rhs: Var) -> Var { rhs.graph.scale(rhs, by: lhs) }
    /// `x / c` (a true division, not a multiplication by 1/c).
    public static func / (lhs: Var, rhs: Float) -> Var {
        lhs.graph.div(lhs, lhs.graph.constant(Tensor(scalar: rhs)))
    }
    /// `c / x`, element-wise.
    public static func / (lhs: Float, rhs: Var) -> Var {
        rhs.graph.div(rhs.graph.constant(Tensor(scalar: lhs)), rhs)
    }
    /// `−x`.
    public static prefix func - (x: Var) -> Var { x.graph.neg(x) }

    private static func checkSameGraph(_ lhs: Var, _ rhs: Var, _ op: String) {
        precondition(lhs.graph === rhs.graph,
                     "operator \(op): operands \(lhs.shape) and \(rhs.shape) come from different Graphs")
    }
}
