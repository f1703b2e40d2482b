// Streaming inference of a `MambaStack`: one `Mamba2StreamState` per layer (conv window + SSM state),
// the residual pre-norm structure applied position by position:
//   h ← h + Mixer_i(Norm_i(h))   for i = 0 … depth−1,   then Norm_f(h) when the stack has one
// Norms and the residual are position-wise, so they need no state; dropout is off (inference).
// `step` costs O(depth) block steps per new position, independent of the context length; `prefill`
// runs each layer's chunked forward over a whole context and returns the state stepping would reach.

import CGMTensor
import Layers

/// The recurrent state of every layer of a `MambaStack` (a value: copy it to snapshot the stream).
public struct MambaStackStreamState: Equatable, Sendable {
    /// Per layer, first to last.
    public var layers: [Mamba2StreamState]
    /// Positions consumed so far.
    public var position: Int { layers.first?.position ?? 0 }

    /// A state from its layers' states.
    public init(layers: [Mamba2StreamState]) { self.layers = layers }
}

/// A `MambaStack` bound to its store for streaming inference.
public struct MambaStackStream {
    /// The stack streamed.
    public let stack: MambaStack
    /// The store holding its parameters.
    public let store: ParameterStore
    /// One bound mixer per layer.
    public let mixers: [Mamba2Stream]

    /// Binds `stack` to the parameter values in `store`.
    public init(_ stack: MambaStack, _ store: ParameterStore) {
        self.stack = stack
        self.store = store
        mixers = stack.mixers.map { Mamba2Stream($0, store) }
    }

    /// The state before the first position (see `Mamba2Stream.initialState`).
    public func initialState(batch: Int) -> MambaStackStreamState {
        MambaStackStreamState(layers: mixers.map { $0.initialState(batch: batch) })
    }

    /// One position: x (B, d_model) → the stack's output there (B, d_model); advances `state`.
    public func step(_ x: Tensor, _ state: inout MambaStackStreamState) -> Tensor {
        precondition(state.layers.count == mixers.count, "MambaStackStream.step: state has \(state.layers.count) layers, the stack \(mixers.count)")
        var h = x
        for i in mixers.indices {
            let m = mixers[i].step(normed(stack.norms[i], h), &state.layers[i])
            h = added(h, m)
        }
        return stack.finalNorm.map { normed($0, h) } ?? h
    }

    /// A whole context x (B, L, d_model) from `state` (default: the initial state): the outputs (B, L, d_model),
    /// equal to the stack's forward (from the initial state) or to L `step`s, and the state after the context.
    public func prefill(_ x: Tensor, from state: MambaStackStreamState? = nil) -> (output: Tensor, state: MambaStackStreamState) {
        precondition(x.shape.count == 3, "MambaStackStream.prefill: input \(x.shape) must be (B, L, d_model)")
        var st = state ?? initialState(batch: x.shape[0])
        precondition(st.layers.count == mixers.count, "MambaStackStream.prefill: state has \(st.layers.count) layers, the stack \(mixers.count)")
        var h = x
        for i in mixers.indices {
            let r = mixers[i].prefill(normed(stack.norms[i], h), from: st.layers[i])
            st.layers[i] = r.state
            h = added(h, r.output)
        }
        return (stack.finalNorm.map { normed($0, h) } ?? h, st)
    }

    /// A position-wise norm of x (any shape ending in d_model), through the graph op on an inference graph.
    private func normed(_ norm: MambaStack.Norm, _ x: Tensor) -> Tensor {
        let g = Graph(training: false, recording: false)
        return norm(g.constant(x), store.bind(g)).value
    }

    private func added(_ a: Tensor, _ b: Tensor) -> Tensor {
        let out = Tensor(uninitialized: a.shape), op = out.sharedMutablePointer, ap = a.pointer, bp = b.pointer
        for i in 0..<a.count { op[i] = ap[i] + bp[i] }
        return out
    }
}

extension MambaStack {
    /// This stack bound to `store` for streaming inference (`MambaStackStream`).
    public func stream(_ store: ParameterStore) -> MambaStackStream { MambaStackStream(self, store) }
}
