// The optimizer protocol and what all optimizers share.
//
//   values, gradients: the ParameterStore's flat buffers, (store.count,)
//   moments:           flat buffers of the same layout, (store.count,), exported by name for checkpoints
//
// Every optimizer is one loop over the flat buffers, split only into runs of consecutive entries
// that share a weight-decay flag (PyTorch expresses the same thing with a second param group whose
// weight_decay is 0).
//
// Hyperparameters are `Double`, as PyTorch's are (Python floats): bias corrections 1 − βᵗ and the
// scheduler arithmetic happen in Double, and each is rounded to Float once per step, where PyTorch
// casts its scalars for the float32 kernels.

import CGMTensor
import Layers

/// A first-order optimizer updating a `ParameterStore` in place from its gradient buffer.
public protocol Optimizer: AnyObject {
    /// The parameters (and gradients) this optimizer updates.
    var store: ParameterStore { get }
    /// The learning rate of the next `step()` (schedulers set it).
    var learningRate: Double { get set }
    /// The momentum coefficient a scheduler may cycle: Adam's β₁, SGD's `momentum`.
    /// Nil when the optimizer has none; setting it then has no effect.
    var beta1: Double? { get set }
    /// Number of completed `step()` calls (PyTorch's `state["step"]`).
    var stepCount: Int { get }
    /// Applies one update from the current gradients. Gradients are read, never modified.
    func step()
    /// Optimizer state as named flat tensors of the store's layout, plus `"step"` (shape [1]; exact
    /// up to 2²⁴ steps). The tensors are copies: later steps do not change them.
    func exportState() -> [String: Tensor]
    /// Restores state written by `exportState()` of an optimizer of the same kind on the same layout.
    func importState(_ state: [String: Tensor]) throws
}

/// Why `importState` refused a state dictionary.
public enum OptimizerStateError: Error, CustomStringConvertible, Equatable {
    case missing(String)
    case shapeMismatch(name: String, got: [Int], expected: [Int])

    /// A message naming the offending tensor.
    public var description: String {
        switch self {
        case .missing(let name): return "optimizer state has no tensor '\(name)'"
        case let .shapeMismatch(name, got, expected):
            return "optimizer state '\(name)': shape \(got), expected \(expected)"
        }
    }
}

extension Optimizer {
    /// The flat state tensors cut into per-parameter views named "<parameter>.<buffer>"
    /// (e.g. "encoder.weight.exp_avg"), for checkpoint formats keyed by parameter. `"step"` is kept as is.
    public func exportStatePerParameter() -> [String: Tensor] {
        var out: [String: Tensor] = [:]
        for (name, flat) in exportState() {
            guard flat.shape == [store.count] else { out[name] = flat; continue }
            for e in store.entries {
                out["\(e.name).\(name)"] = Tensor(storage: flat.storage, offset: flat.offset + e.offset, shape: e.shape)
            }
        }
        return out
    }
}

// MARK: - Shared helpers

/// A range of the flat buffers whose entries share one weight-decay flag.
struct DecayRun {
    let start: Int
    let count: Int
    let decays: Bool
}

extension ParameterStore {
    /// Consecutive entries merged into runs of equal weight-decay flag (entries are contiguous).
    func decayRuns() -> [DecayRun] {
        var runs: [DecayRun] = []
        for e in entries where e.count > 0 {
            if let last = runs.last, last.decays == e.weightDecay, last.start + last.count == e.offset {
                runs[runs.count - 1] = DecayRun(start: last.start, count: last.count + e.count, decays: e.weightDecay)
            } else {
                runs.append(DecayRun(start: e.offset, count: e.count, decays: e.weightDecay))
            }
        }
        return runs
    }
}

/// A zeroed flat state buffer of `count` floats, owned by one optimizer (written through
/// `sharedMutablePointer`, never shared until exported as a copy).
func makeStateBuffer(_ count: Int) -> Tensor { Tensor(zeros: [count]) }

/// Copies `state[name]` into `buffer` after checking its shape.
func importBuffer(_ state: [String: Tensor], _ name: String, into buffer: Tensor) throws {
    guard let t = state[name] else { throw OptimizerStateError.missing(name) }
    guard t.shape == buffer.shape else {
        throw OptimizerStateError.shapeMismatch(name: name, got: t.shape, expected: buffer.shape)
    }
    buffer.sharedMutablePointer.update(from: t.pointer, count: t.count)
}

/// The step counter as a one-element tensor, and back.
func stepTensor(_ n: Int) -> Tensor { Tensor(shape: [1], scalars: [Float(n)]) }

func importStep(_ state: [String: Tensor]) throws -> Int {
    guard let t = state["step"] else { throw OptimizerStateError.missing("step") }
    guard t.count == 1 else { throw OptimizerStateError.shapeMismatch(name: "step", got: t.shape, expected: [1]) }
    return Int(t.pointer[0])
}

/// c + a·b rounded once to Float, as PyTorch's CPU kernels compute `add(…, alpha:)` and `lerp`
/// (`vec::fmadd`). Evaluated in Double, where the product of two Floats is exact, so the result is
/// the fused one except on an exact Float rounding midpoint (about 2⁻²⁹ of cases); unlike
/// `addingProduct` this needs no libm call on baseline x86-64 and vectorizes.
@inline(__always)
func fusedMultiplyAdd(_ a: Float, _ b: Float, _ c: Float) -> Float {
    Float(Double(c) + Double(a) * Double(b))
}

func checkLayout(_ store: ParameterStore, _ count: Int, _ who: String) {
    precondition(store.count == count,
                 "\(who): the store has \(store.count) scalars but the optimizer was built for \(count); "
                 + "create the optimizer after registering every parameter")
}
