/// Reverse-mode automatic differentiation on a tape (a Wengert list).
///
/// Every op appends one `TapeNode` holding its output ids and a `BackwardRule` with the cache the
/// backward pass needs. The tape is in execution order, so walking it backwards is already a
/// topological order: no recursive sort, which matters for LSTMs unrolled over hundreds of steps.
/// Backward rules *add* into input gradients; only the trainer zeroes parameter gradients, once a step.
public final class Graph {
    /// Dropout and other train-only behaviour is active when true.
    public var isTraining: Bool
    /// When false no tape is recorded (inference): ops only compute values.
    public let isRecording: Bool
    /// Keys for random ops (dropout) so masks depend on (seed, step, global sample index), not on rank.
    public var random: RandomContext

    @usableFromInline var values: [Tensor] = []
    @usableFromInline var requiresGrad: [Bool] = []
    @usableFromInline var grads: [Tensor?] = []
    @usableFromInline var isLeaf: [Bool] = []
    @usableFromInline var nodes: [TapeNode] = []
    private var tapeConsumed = false

    public init(training: Bool = true, recording: Bool = true, random: RandomContext = RandomContext(seed: 0)) {
        self.isTraining = training
        self.isRecording = recording
        self.random = random
    }

    // MARK: Leaves

    /// A value that needs no gradient (data, targets, masks).
    public func constant(_ value: Tensor) -> Var { append(value, requiresGrad: false, leaf: true) }

    /// A leaf whose gradient is collected and can be read after `backward` (tests, inputs).
    public func variable(_ value: Tensor) -> Var { append(value, requiresGrad: isRecording, leaf: true) }

    /// A leaf whose gradient accumulates into `gradient`, a view into a flat gradient buffer.
    public func parameter(_ value: Tensor, gradient: Tensor) -> Var {
        precondition(value.shape == gradient.shape, "parameter \(value.shape) vs gradient \(gradient.shape)")
        let v = append(value, requiresGrad: isRecording, leaf: true)
        if isRecording { grads[v.id] = gradient }
        return v
    }

    /// The gradient of a leaf after `backward` (nil if nothing flowed into it).
    public func gradient(of v: Var) -> Tensor? { grads[v.id] }

    public var tapeLength: Int { nodes.count }

    // MARK: Recording (for op implementations)

    /// Whether gradient must flow into `v`.
    @inlinable public func needsGrad(_ v: Var) -> Bool { requiresGrad[v.id] }

    /// Records one output produced from `inputs`. The rule is built only if some input needs a gradient.
    public func record(_ output: Tensor, inputs: [Var], rule: @autoclosure () -> any BackwardRule) -> Var {
        record([output], inputs: inputs, rule: rule())[0]
    }

    /// Records several outputs of one fused op (e.g. an LSTM's sequence, final h and final c).
    public func record(_ outputs: [Tensor], inputs: [Var], rule: @autoclosure () -> any BackwardRule) -> [Var] {
        for input in inputs { precondition(input.graph === self, "a Var from another Graph was used") }
        let track = isRecording && inputs.contains { requiresGrad[$0.id] }
        let first = values.count
        let vars = outputs.map { append($0, requiresGrad: track, leaf: false) }
        if track { nodes.append(TapeNode(outputs: first..<(first + outputs.count), rule: rule())) }
        return vars
    }

    /// Gradient buffer of `v`, allocated zeroed on first use; backward rules accumulate (`+=`) into it.
    public func gradBuffer(_ v: Var) -> UnsafeMutablePointer<Float> {
        if grads[v.id] == nil { grads[v.id] = Tensor(zeros: values[v.id].shape) }
        return grads[v.id]!.sharedMutablePointer
    }

    /// Adds `delta` (same shape as `v`) into `v`'s gradient.
    public func accumulateGrad(_ v: Var, _ delta: Tensor) {
        precondition(delta.count == values[v.id].count,
                     "gradient of shape \(delta.shape) for value of shape \(values[v.id].shape)")
        if grads[v.id] == nil && !isLeaf[v.id] {
            // First contribution: copied, never adopted, so no two gradients can share a buffer.
            grads[v.id] = delta.copy().reshaped(values[v.id].shape)
            return
        }
        let g = gradBuffer(v), d = delta.pointer
        for i in 0..<delta.count { g[i] += d[i] }
    }

    // MARK: Backward

    /// Back-propagates from `loss` (a one-element tensor, seeded with 1, unless `seed` is given).
    ///
    /// The tape is consumed, as PyTorch does without `retain_graph`: backward rules hold `Var`s, which
    /// hold the graph, so releasing the rules here is what lets a step's graph and activations be freed.
    public func backward(_ loss: Var, seed: Tensor? = nil) {
        precondition(isRecording, "backward on a graph that does not record")
        precondition(!tapeConsumed, "backward called twice on one graph (the tape is consumed by the first)")
        defer { nodes.removeAll(); tapeConsumed = true }
        let start = seed ?? Tensor(repeating: 1, shape: values[loss.id].shape)
        precondition(seed != nil || values[loss.id].count == 1,
                     "backward from a non-scalar of shape \(values[loss.id].shape) needs a seed")
        guard requiresGrad[loss.id] else { return }
        accumulateGrad(loss, start)
        var dOuts: [Tensor?] = []
        for node in nodes.reversed() {
            dOuts.removeAll(keepingCapacity: true)
            var any = false
            for id in node.outputs {
                dOuts.append(grads[id])
                if grads[id] != nil { any = true }
            }
            guard any else { continue }
            node.rule.backward(dOuts, self)
            // Intermediate gradients are no longer needed once consumed: keeps memory bounded.
            for id in node.outputs { grads[id] = nil }
        }
    }

    // MARK: Private

    private func append(_ value: Tensor, requiresGrad: Bool, leaf: Bool) -> Var {
        let id = values.count
        values.append(value)
        self.requiresGrad.append(requiresGrad)
        grads.append(nil)
        isLeaf.append(leaf)
        return Var(id: id, graph: self)
    }
}

/// A value recorded on a `Graph`. Cheap to copy; keeps its graph alive.
public struct Var {
    public let id: Int
    public let graph: Graph
    @inlinable public var value: Tensor { graph.values[id] }
    @inlinable public var shape: [Int] { graph.values[id].shape }
}

/// The backward half of an op: reads `dOutputs` (nil where no gradient reached an output) and its
/// own cached forward values, and accumulates into its inputs' gradients via `graph.gradBuffer`.
public protocol BackwardRule {
    func backward(_ dOutputs: [Tensor?], _ graph: Graph)
}

@usableFromInline struct TapeNode {
    let outputs: Range<Int>
    let rule: any BackwardRule
}
