// Gradient-ready notifications during backward, for overlapping communication with computation
// (PyTorch DDP's autograd hooks; Li et al. 2020, "PyTorch Distributed", section 3.2.3).
//
// A leaf's gradient is final once no unprocessed tape node can still add to it. Tape nodes do not list
// their inputs, but ids are allocated in execution order, so every node that consumes leaf `p` has
// output ids above `p`. Backward walks the tape from the end; after node i has run, the nodes left are
// 0..<i, whose outputs all lie below nodes[i-1].outputs.upperBound — so every leaf with an id at or
// above that bound is final. This is conservative (a leaf bound early but used late is reported late,
// never early) and needs no change to the tape: the nodes where some leaf becomes final get their rule
// wrapped in one that runs the original rule and then reports those leaves. Nodes that backward skips
// (no gradient reached their outputs) report nothing; their leaves are reported by the next node that
// runs, or when backward returns.

extension Graph {
    /// The leaves that receive a gradient in `backward` (parameters and variables), in creation order.
    public var gradientLeaves: [Var] {
        (0..<values.count).filter { isLeaf[$0] && requiresGrad[$0] }.map { Var(id: $0, graph: self) }
    }

    /// Back-propagates exactly like `backward(_:seed:)`, and calls `onFinal` with the leaves (variables
    /// and parameters that need a gradient) whose gradients no remaining tape node can change, as soon as
    /// that is known: leaves created after the last recorded node before the walk starts, the others
    /// in batches as the walk passes them (highest ids first), any rest when the walk ends. Every such
    /// leaf is reported exactly once. `onFinal` runs on the calling thread, between backward rules.
    public func backward(_ loss: Var, seed: Tensor? = nil, onFinal: @escaping ([Var]) -> Void) {
        let leafVars = gradientLeaves, leaves = leafVars.map(\.id)
        let tracker = FinalLeafTracker(leaves: leafVars, report: onFinal)
        tracker.release(atOrAbove: nodes.last?.outputs.upperBound ?? 0)
        // Node i makes final the leaves in [bound(i-1), nodes[i].outputs.upperBound).
        var cursor = tracker.unreported   // leaves[0..<cursor] not yet assigned to a node
        for i in stride(from: nodes.count - 1, through: 0, by: -1) where cursor > 0 {
            let bound = i > 0 ? nodes[i - 1].outputs.upperBound : 0
            var start = cursor
            while start > 0 && leaves[start - 1] >= bound { start -= 1 }
            guard start < cursor else { continue }
            cursor = start
            let node = nodes[i]
            nodes[i] = TapeNode(outputs: node.outputs,
                                rule: ReportingRule(inner: node.rule, tracker: tracker, bound: bound))
        }
        backward(loss, seed: seed)
        tracker.release(atOrAbove: 0)
    }
}

/// The leaves not yet reported, sorted by id; `release` reports those at or above a bound.
private final class FinalLeafTracker {
    let leaves: [Var]
    let report: ([Var]) -> Void
    /// leaves[unreported...] have been reported.
    private(set) var unreported: Int

    init(leaves: [Var], report: @escaping ([Var]) -> Void) {
        self.leaves = leaves
        self.report = report
        unreported = leaves.count
    }

    func release(atOrAbove bound: Int) {
        var start = unreported
        while start > 0 && leaves[start - 1].id >= bound { start -= 1 }
        guard start < unreported else { return }
        let batch = Array(leaves[start..<unreported])
        unreported = start
        report(batch)
    }
}

/// Runs a node's own rule, then reports the leaves that became final.
private struct ReportingRule: BackwardRule {
    let inner: any BackwardRule
    let tracker: FinalLeafTracker
    let bound: Int

    func backward(_ dOutputs: [Tensor?], _ graph: Graph) {
        inner.backward(dOutputs, graph)
        tracker.release(atOrAbove: bound)
    }
}
