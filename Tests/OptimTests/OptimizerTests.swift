import CGMTensor
import Layers
import Optim
import XCTest
import _TestSupport

final class OptimizerTests: XCTestCase {
    static func makeOptimizer(_ c: OptimFixtures.OptimizerConfig, _ store: ParameterStore) -> any Optimizer {
        switch c.kind {
        case "sgd":
            return SGD(store, lr: c.lr, momentum: c.momentum!, dampening: c.dampening!, weightDecay: c.weightDecay,
                       nesterov: c.nesterov!)
        case "adam":
            return Adam(store, lr: c.lr, beta1: c.beta1!, beta2: c.beta2!, eps: c.eps!, weightDecay: c.weightDecay)
        case "adamw":
            return AdamW(store, lr: c.lr, beta1: c.beta1!, beta2: c.beta2!, eps: c.eps!, weightDecay: c.weightDecay)
        default:
            fatalError("unknown optimizer kind \(c.kind)")
        }
    }

    /// Runs every fixture case of `kind` and compares each parameter after each step with PyTorch.
    func checkTrajectories(kind: String, maxULP: Int, file: StaticString = #filePath, line: UInt = #line) throws {
        let fx = try OptimFixtures.load()
        var worstULP = 0
        let cases = fx.optimizers.filter { $0.value.config.kind == kind }.sorted { $0.key < $1.key }
        XCTAssertGreaterThanOrEqual(cases.count, 2, "fixture cases for \(kind)", file: file, line: line)
        for (name, c) in cases {
            let (store, ids) = fx.makeStore()
            let opt = Self.makeOptimizer(c.config, store)
            XCTAssertEqual(c.trajectory.count, fx.steps)
            for k in 0..<fx.steps {
                fx.loadGradients(k, into: store, ids)
                let before = store.gradient(ids["w"]!).copy()
                opt.step()
                XCTAssertEqual(store.gradient(ids["w"]!), before, "\(name): step must not modify gradients",
                               file: file, line: line)
                for p in OptimFixtures.names {
                    let got = doubles(store.value(ids[p]!)), want = c.trajectory[k][p]!
                    assertMatchesReference(got, want, "\(name) step \(k + 1) parameter \(p)", file: file, line: line)
                    worstULP = max(worstULP, ulpDistance(got, want))
                }
            }
            XCTAssertEqual(opt.stepCount, fx.steps)
        }
        // The kernels follow PyTorch's float32 operation order, so trajectories agree to a few ulp.
        XCTAssertLessThanOrEqual(worstULP, maxULP, "\(kind): trajectories drift from PyTorch", file: file, line: line)
        print("\(kind): worst distance from torch over all steps = \(worstULP) ulp")
    }

    /// Largest distance in units in the last place between Float values.
    private func ulpDistance(_ a: [Double], _ b: [Double]) -> Int {
        zip(a, b).map { x, y in
            let i = Int(Int32(bitPattern: Float(x).bitPattern)), j = Int(Int32(bitPattern: Float(y).bitPattern))
            return (x < 0) == (y < 0) ? abs(i - j) : Int.max
        }.max() ?? 0
    }

    func testSGDMatchesPyTorch() throws { try checkTrajectories(kind: "sgd", maxULP: 1) }
    func testAdamMatchesPyTorch() throws { try checkTrajectories(kind: "adam", maxULP: 4) }
    func testAdamWMatchesPyTorch() throws { try checkTrajectories(kind: "adamw", maxULP: 4) }

    /// Adam and Nesterov SGD stepped under OneCycleLR: the learning rate and β₁ / momentum change
    /// before every step (Adam's bias correction then uses the current β₁, as PyTorch).
    func testOptimizersUnderOneCycleMatchPyTorch() throws {
        let fx = try OptimFixtures.load()
        XCTAssertEqual(fx.optimizersWithOnecycle.count, 2)
        for (name, c) in fx.optimizersWithOnecycle.sorted(by: { $0.key < $1.key }) {
            let (store, ids) = fx.makeStore()
            let opt = Self.makeOptimizer(c.config, store)
            let scheduler = OneCycleLR(opt, maxLR: c.config.maxLr!, totalSteps: fx.steps, pctStart: c.config.pctStart!)
            for k in 0..<fx.steps {
                fx.loadGradients(k, into: store, ids)
                opt.step()
                scheduler.step()
                for p in OptimFixtures.names {
                    assertMatchesReference(doubles(store.value(ids[p]!)), c.trajectory[k][p]!,
                                           "\(name) step \(k + 1) parameter \(p)")
                }
            }
        }
    }

    /// The fixtures exempt "b" from weight decay; decaying it as well must visibly leave the reference.
    func testReferenceDetectsIgnoredWeightDecayFlag() throws {
        let fx = try OptimFixtures.load()
        for name in ["adam_wd", "adamw", "sgd_momentum_dampening_wd"] {
            let c = try XCTUnwrap(fx.optimizers[name])
            let store = ParameterStore()
            var ids: [String: ParameterID] = [:]
            for p in OptimFixtures.names {   // every entry decays
                ids[p] = store.add(p, Tensor(shape: fx.shapes[p]!, scalars: fx.initial[p]!.map { Float($0) }))
            }
            let opt = Self.makeOptimizer(c.config, store)
            for k in 0..<fx.steps {
                fx.loadGradients(k, into: store, ids)
                opt.step()
            }
            let got = doubles(store.value(ids["b"]!)), want = c.trajectory[fx.steps - 1]["b"]!
            let worst = zip(got, want).map { abs($0 - $1) / abs($1) }.max()!
            XCTAssertGreaterThan(worst, 1e-4, "\(name): decaying 'b' should change its trajectory")
        }
    }

    func testClipGradientNormMatchesPyTorch() throws {
        let fx = try OptimFixtures.load()
        XCTAssertEqual(fx.clipping.count, 2 * fx.steps)
        var clippedAny = false, untouchedAny = false
        for c in fx.clipping {
            let (store, ids) = fx.makeStore()
            fx.loadGradients(c.step, into: store, ids)
            let norm = clipGradientNorm(store, maxNorm: c.maxNorm)
            assertMatchesReference([Double(norm)], [c.norm], "norm max \(c.maxNorm) step \(c.step)")
            for p in OptimFixtures.names {
                assertMatchesReference(doubles(store.gradient(ids[p]!)), c.clipped[p]!,
                                       "clipped gradient \(p) max \(c.maxNorm) step \(c.step)")
            }
            if c.norm > c.maxNorm { clippedAny = true } else { untouchedAny = true }
        }
        XCTAssertTrue(clippedAny && untouchedAny, "fixtures should cover both clipping and no clipping")
    }

    func testClipLeavesNonFiniteGradientsAlone() {
        let store = ParameterStore()
        let id = store.add("x", Tensor(zeros: [3]))
        store.gradient(id).sharedMutablePointer.update(from: [1, .infinity, 2], count: 3)
        XCTAssertEqual(clipGradientNorm(store, maxNorm: 1), .infinity)
        XCTAssertEqual(store.gradient(id).scalars, [1, .infinity, 2])
        store.gradient(id).sharedMutablePointer.update(from: [3, 4, 0], count: 3)
        XCTAssertEqual(clipGradientNorm(store, maxNorm: 100), 5)
        XCTAssertEqual(store.gradient(id).scalars, [3, 4, 0], "no clipping below maxNorm")
    }

    /// Three steps, export, a fresh store and optimizer importing the state, three more steps:
    /// bit-identical to six uninterrupted steps.
    func testStateRoundTripResumesBitIdentically() throws {
        let fx = try OptimFixtures.load()
        for name in ["sgd_momentum_nesterov_wd", "adam_wd", "adamw"] {
            let config = try XCTUnwrap(fx.optimizers[name]).config
            let (straightStore, straightIDs) = fx.makeStore()
            let straight = Self.makeOptimizer(config, straightStore)
            for k in 0..<fx.steps {
                fx.loadGradients(k, into: straightStore, straightIDs)
                straight.step()
            }

            let (firstStore, firstIDs) = fx.makeStore()
            let first = Self.makeOptimizer(config, firstStore)
            for k in 0..<3 {
                fx.loadGradients(k, into: firstStore, firstIDs)
                first.step()
            }
            let saved = first.exportState()
            first.step()   // must not alter the exported copy
            let (resumedStore, resumedIDs) = fx.makeStore()
            for p in OptimFixtures.names {
                resumedStore.setValue(resumedIDs[p]!, straightStoreValueAfter3(fx, config, p))
            }
            let resumed = Self.makeOptimizer(config, resumedStore)
            try resumed.importState(saved)
            XCTAssertEqual(resumed.stepCount, 3)
            for k in 3..<fx.steps {
                fx.loadGradients(k, into: resumedStore, resumedIDs)
                resumed.step()
            }
            for p in OptimFixtures.names {
                XCTAssertEqual(resumedStore.value(resumedIDs[p]!), straightStore.value(straightIDs[p]!),
                               "\(name): resumed parameter \(p) differs")
            }
            let a = resumed.exportState(), b = straight.exportState()
            XCTAssertEqual(Set(a.keys), Set(b.keys))
            for key in a.keys { XCTAssertEqual(a[key], b[key], "\(name): state \(key) differs") }
        }
    }

    /// Parameter values after three steps of an uninterrupted run (the checkpointed weights).
    private func straightStoreValueAfter3(_ fx: OptimFixtures, _ config: OptimFixtures.OptimizerConfig,
                                         _ p: String) -> Tensor {
        let (store, ids) = fx.makeStore()
        let opt = Self.makeOptimizer(config, store)
        for k in 0..<3 {
            fx.loadGradients(k, into: store, ids)
            opt.step()
        }
        return store.value(ids[p]!).copy()
    }

    func testImportStateRejectsMissingAndMisshapenTensors() {
        let store = ParameterStore()
        store.add("x", Tensor(zeros: [4]))
        let adam = Adam(store, lr: 0.1)
        var state = adam.exportState()
        XCTAssertEqual(Set(state.keys), ["exp_avg", "exp_avg_sq", "step"])
        state["exp_avg"] = Tensor(zeros: [3])
        XCTAssertThrowsError(try adam.importState(state)) { error in
            XCTAssertEqual(error as? OptimizerStateError, .shapeMismatch(name: "exp_avg", got: [3], expected: [4]))
        }
        state["exp_avg"] = nil
        XCTAssertThrowsError(try adam.importState(state)) { error in
            XCTAssertEqual(error as? OptimizerStateError, .missing("exp_avg"))
        }
    }

    func testPerParameterStateViews() {
        let store = ParameterStore()
        store.add("enc.weight", Tensor(shape: [2, 2], scalars: [1, 2, 3, 4]))
        store.add("enc.bias", Tensor(shape: [3], scalars: [5, 6, 7]))
        store.gradients.pointer.update(from: [1, 1, 1, 1, 2, 2, 2], count: 7)
        let adam = Adam(store, lr: 0.1)
        adam.step()
        let state = adam.exportStatePerParameter()
        XCTAssertEqual(Set(state.keys), ["enc.weight.exp_avg", "enc.weight.exp_avg_sq",
                                         "enc.bias.exp_avg", "enc.bias.exp_avg_sq", "step"])
        XCTAssertEqual(state["enc.weight.exp_avg"]!.shape, [2, 2])
        assertClose(state["enc.bias.exp_avg"]!, Tensor(repeating: 0.2, shape: [3]), atol: 1e-7, rtol: 1e-6)
        assertClose(state["enc.weight.exp_avg_sq"]!, Tensor(repeating: 0.001, shape: [2, 2]), atol: 1e-9, rtol: 1e-5)
        XCTAssertEqual(state["step"]!.scalars, [1])
    }

    /// As in PyTorch, the momentum buffer is created (as a copy of the gradient) on the first step
    /// with momentum ≠ 0, even when momentum was 0 before (OneCycleLR may switch it on).
    func testSGDMomentumBufferIsCreatedLazily() {
        let store = ParameterStore()
        let id = store.add("x", Tensor(shape: [2], scalars: [1, -1]))
        let sgd = SGD(store, lr: 0.5)
        store.gradient(id).sharedMutablePointer.update(from: [0.5, 0.25], count: 2)
        sgd.step()
        XCTAssertFalse(sgd.hasMomentumBuffer)
        XCTAssertEqual(sgd.exportState().keys.sorted(), ["step"])
        XCTAssertEqual(store.value(id).scalars, [0.75, -1.125])
        sgd.beta1 = 0.9
        store.gradient(id).sharedMutablePointer.update(from: [1, 2], count: 2)
        sgd.step()
        XCTAssertTrue(sgd.hasMomentumBuffer)
        XCTAssertEqual(sgd.momentumBuffer.scalars, [1, 2])
        XCTAssertEqual(store.value(id).scalars, [0.25, -2.125])
        sgd.step()   // b = 0.9·b + g = (1.9, 3.8)
        XCTAssertEqual(sgd.momentumBuffer.scalars, [1.9, 3.8])
    }
}
