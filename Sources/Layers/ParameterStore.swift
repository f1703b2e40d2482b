import CGMTensor

/// Index of a parameter in a `ParameterStore`.
public struct ParameterID: Hashable, Comparable {
    public let index: Int
    public static func < (a: ParameterID, b: ParameterID) -> Bool { a.index < b.index }
}

/// All parameters of a model on one flat buffer, their gradients on a second flat buffer with the
/// same layout, each under a unique dotted name ("encoder.weight_ih").
///
/// One layout serves everything: the optimizer is one loop over the flat buffers, checkpoint I/O is
/// a walk over names, and the gradient all-reduce sends a few large contiguous buckets.
public final class ParameterStore {
    public struct Entry {
        public let name: String
        public let shape: [Int]
        public let offset: Int
        public var count: Int { Shape.count(shape) }
        /// Whether weight decay applies (false for Mamba's A_log, D, dt_bias, and norms if chosen).
        public let weightDecay: Bool
    }

    public private(set) var entries: [Entry] = []
    private var byName: [String: Int] = [:]
    public private(set) var values = TensorStorage(zeroedCount: 0)
    public private(set) var gradients = TensorStorage(zeroedCount: 0)
    /// Total number of scalars.
    public private(set) var count = 0

    public init() {}

    /// Registers a parameter with its initial value. Names must be unique.
    @discardableResult
    public func add(_ name: String, _ initial: Tensor, weightDecay: Bool = true) -> ParameterID {
        precondition(byName[name] == nil, "parameter '\(name)' registered twice")
        let offset = count
        reserve(count + initial.count)
        (values.pointer + offset).update(from: initial.pointer, count: initial.count)
        entries.append(Entry(name: name, shape: initial.shape, offset: offset, weightDecay: weightDecay))
        byName[name] = entries.count - 1
        count += initial.count
        return ParameterID(index: entries.count - 1)
    }

    public func id(named name: String) -> ParameterID? { byName[name].map { ParameterID(index: $0) } }
    public func entry(_ p: ParameterID) -> Entry { entries[p.index] }

    /// The current value of a parameter (a view: it sees later optimizer updates).
    public func value(_ p: ParameterID) -> Tensor {
        let e = entries[p.index]
        return Tensor(storage: values, offset: e.offset, shape: e.shape)
    }

    /// The gradient of a parameter (a view into the flat gradient buffer).
    public func gradient(_ p: ParameterID) -> Tensor {
        let e = entries[p.index]
        return Tensor(storage: gradients, offset: e.offset, shape: e.shape)
    }

    /// Overwrites a parameter's value (checkpoint loading, tests).
    public func setValue(_ p: ParameterID, _ t: Tensor) {
        let e = entries[p.index]
        precondition(t.shape == e.shape, "parameter '\(e.name)': shape \(t.shape), expected \(e.shape)")
        (values.pointer + e.offset).update(from: t.pointer, count: e.count)
    }

    /// Sets every gradient to zero (the trainer does this once per optimizer step).
    public func zeroGradients() { gradients.pointer.update(repeating: 0, count: count) }

    /// Binds the parameters to a graph for one forward pass.
    public func bind(_ graph: Graph) -> BoundParameters { BoundParameters(store: self, graph: graph) }

    private func reserve(_ n: Int) {
        guard n > values.count else { return }
        let capacity = max(n, values.count * 2, 1024)
        let v = TensorStorage(zeroedCount: capacity), g = TensorStorage(zeroedCount: capacity)
        v.pointer.update(from: values.pointer, count: count)
        g.pointer.update(from: gradients.pointer, count: count)
        values = v
        gradients = g
    }
}

/// Parameters of a store bound to one graph: each parameter becomes one leaf `Var` whose gradient
/// accumulates straight into the store's flat gradient buffer.
public final class BoundParameters {
    public let store: ParameterStore
    public let graph: Graph
    private var vars: [Var?]

    init(store: ParameterStore, graph: Graph) {
        self.store = store
        self.graph = graph
        self.vars = Array(repeating: nil, count: store.entries.count)
    }

    public subscript(_ p: ParameterID) -> Var {
        if let v = vars[p.index] { return v }
        let v = graph.parameter(store.value(p), gradient: store.gradient(p))
        vars[p.index] = v
        return v
    }
}
