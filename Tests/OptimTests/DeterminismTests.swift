import CGMTensor
import Layers
import Optim
import XCTest

final class DeterminismTests: XCTestCase {
    /// One seeded training run: Linear init, forward on random input, MSE (loss and dL/dy by pointer
    /// loops), backward, clipping and three Adam steps. Returns the final parameters, Adam state and losses.
    private func run(seed: UInt64) -> (values: [Float], state: [String: Tensor], losses: [Float]) {
        var rng = PhiloxGenerator(seed: seed)
        let store = ParameterStore()
        let layer = Linear(store, "head", inFeatures: 7, outFeatures: 3, rng: &rng)
        let x = Initializers.normal([5, 7], rng: &rng)
        let target = Initializers.normal([5, 3], rng: &rng)
        let adam = Adam(store, lr: 0.01, weightDecay: 0.01)
        var losses: [Float] = []
        for _ in 0..<3 {
            store.zeroGradients()
            let graph = Graph()
            let y = layer(graph.constant(x), store.bind(graph))
            let n = y.value.count
            let dy = Tensor(uninitialized: y.shape)
            var loss: Float = 0
            for i in 0..<n {
                let d = y.value.pointer[i] - target.pointer[i]
                loss += d * d
                dy.sharedMutablePointer[i] = 2 * d / Float(n)
            }
            losses.append(loss / Float(n))
            graph.backward(y, seed: dy)
            clipGradientNorm(store, maxNorm: 0.5)
            adam.step()
        }
        return (Array(UnsafeBufferPointer(start: store.values.pointer, count: store.count)), adam.exportState(), losses)
    }

    func testSameSeedGivesIdenticalBits() {
        let a = run(seed: 42), b = run(seed: 42)
        XCTAssertEqual(a.values.map(\.bitPattern), b.values.map(\.bitPattern))
        XCTAssertEqual(a.losses.map(\.bitPattern), b.losses.map(\.bitPattern))
        XCTAssertEqual(Set(a.state.keys), Set(b.state.keys))
        for key in a.state.keys { XCTAssertEqual(a.state[key], b.state[key], "state \(key)") }
        XCTAssertLessThan(a.losses[2], a.losses[0], "three Adam steps should lower the loss")
        let c = run(seed: 43)
        XCTAssertNotEqual(a.values, c.values, "another seed must give other parameters")
    }
}
