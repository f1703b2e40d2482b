import CGMTensor
import Layers
import Optim
import XCTest

final class SchedulerTests: XCTestCase {
    private func tinyStore() -> ParameterStore {
        let store = ParameterStore()
        store.add("x", Tensor(zeros: [1]))
        return store
    }

    /// The fixture's dummy optimizers: Adam(lr) or SGD(lr, momentum 0.9).
    private func makeOptimizer(_ kind: String, lr: Double) -> any Optimizer {
        kind == "adam" ? Adam(tinyStore(), lr: lr) : SGD(tinyStore(), lr: lr, momentum: 0.9)
    }

    private func cases(_ fx: OptimFixtures, prefix: String) -> [(String, OptimFixtures.SchedulerCase)] {
        fx.schedulers.filter { $0.key.hasPrefix(prefix) }.sorted { $0.key < $1.key }
    }

    /// lr (and momentum) after construction and after each step, against PyTorch.
    private func checkStepped(_ name: String, _ c: OptimFixtures.SchedulerCase, _ opt: any Optimizer,
                              _ scheduler: any LRScheduler, momentum: Bool,
                              file: StaticString = #filePath, line: UInt = #line) {
        var lrs = [opt.learningRate], moms = [opt.beta1!]
        XCTAssertEqual(scheduler.lastLearningRate, opt.learningRate, file: file, line: line)
        for _ in 1..<c.lr.count {
            scheduler.step()
            lrs.append(opt.learningRate)
            moms.append(opt.beta1!)
            XCTAssertEqual(scheduler.lastLearningRate, opt.learningRate, file: file, line: line)
        }
        assertMatchesReference(lrs, c.lr, "\(name) lr", file: file, line: line)
        if momentum {
            assertMatchesReference(moms, c.momentum!, "\(name) momentum", file: file, line: line)
        }
    }

    func testOneCycleMatchesPyTorch() throws {
        let fx = try OptimFixtures.load()
        let all = cases(fx, prefix: "onecycle")
        XCTAssertEqual(all.count, 3)
        for (name, c) in all {
            let k = c.config
            let opt = makeOptimizer(k.optimizer!, lr: 1)
            let scheduler = OneCycleLR(
                opt, maxLR: k.maxLr!, totalSteps: k.totalSteps!, pctStart: k.pctStart!,
                anneal: OneCycleLR.Anneal(rawValue: k.anneal!)!, divFactor: k.divFactor!,
                finalDivFactor: k.finalDivFactor!, threePhase: k.threePhase!, cycleMomentum: k.cycleMomentum!,
                baseMomentum: k.baseMomentum!, maxMomentum: k.maxMomentum!)
            checkStepped(name, c, opt, scheduler, momentum: true)
        }
    }

    func testStepLRMatchesPyTorch() throws {
        let fx = try OptimFixtures.load()
        let c = try XCTUnwrap(fx.schedulers["steplr"])
        let opt = makeOptimizer("sgd", lr: c.config.baseLr!)
        checkStepped("steplr", c, opt, StepLR(opt, stepSize: c.config.stepSize!, gamma: c.config.gamma!),
                     momentum: false)
    }

    func testCosineWithWarmupMatchesHuggingFaceLambda() throws {
        let fx = try OptimFixtures.load()
        let all = cases(fx, prefix: "cosine_warmup")
        XCTAssertEqual(all.count, 2)
        for (name, c) in all {
            let opt = makeOptimizer("adam", lr: c.config.baseLr!)
            let scheduler = CosineWithWarmup(opt, warmupSteps: c.config.warmupSteps!, totalSteps: c.config.totalSteps!,
                                             minLRRatio: c.config.minLrRatio!)
            checkStepped(name, c, opt, scheduler, momentum: false)
            scheduler.step()   // past totalSteps the minimum holds
            XCTAssertEqual(opt.learningRate, c.config.baseLr! * c.config.minLrRatio!, accuracy: 1e-15)
        }
    }

    func testReduceLROnPlateauMatchesPyTorch() throws {
        let fx = try OptimFixtures.load()
        let all = cases(fx, prefix: "plateau")
        XCTAssertEqual(all.count, 4)
        for (name, c) in all {
            let k = c.config
            let opt = makeOptimizer("sgd", lr: k.baseLr!)
            let scheduler = ReduceLROnPlateau(
                opt, mode: ReduceLROnPlateau.Mode(rawValue: k.mode!)!, factor: k.factor!, patience: k.patience!,
                threshold: k.threshold!, thresholdMode: ReduceLROnPlateau.ThresholdMode(rawValue: k.thresholdMode!)!,
                cooldown: k.cooldown!, minLR: k.minLr!, eps: k.eps!)
            var lrs: [Double] = [], bests: [Double] = [], bad: [Int] = [], cool: [Int] = []
            for m in c.metrics! {
                scheduler.step(metric: m)
                lrs.append(opt.learningRate)
                bests.append(scheduler.best)
                bad.append(scheduler.numBadEpochs)
                cool.append(scheduler.cooldownCounter)
            }
            assertMatchesReference(lrs, c.lr, "\(name) lr")
            assertMatchesReference(bests, c.best!, "\(name) best")
            XCTAssertEqual(bad, c.numBadEpochs!, "\(name) num_bad_epochs")
            XCTAssertEqual(cool, c.cooldownCounter!, "\(name) cooldown_counter")
            XCTAssertEqual(scheduler.lastLearningRate, opt.learningRate)
        }
    }

    /// Export mid-schedule, import into a fresh optimizer + scheduler: the rest of the sequence is identical.
    func testSchedulerStateRoundTrip() throws {
        typealias Make = (any Optimizer) -> any LRScheduler
        let makers: [(String, Make)] = [
            ("onecycle", { OneCycleLR($0, maxLR: 0.01, totalSteps: 20) }),
            ("steplr", { StepLR($0, stepSize: 3, gamma: 0.5) }),
            ("cosine", { CosineWithWarmup($0, warmupSteps: 4, totalSteps: 20, minLRRatio: 0.05) }),
            ("plateau", { ReduceLROnPlateau($0, factor: 0.5, patience: 1, cooldown: 1) }),
        ]
        let metrics: [Double] = [5, 4, 4.5, 4.6, 3, 3.2, 3.3, 3.4, 3.5, 2, 2.1, 2.2, 2.3, 2.4, 2.5, 2.6]
        for (name, make) in makers {
            let straightOpt = makeOptimizer("adam", lr: 0.01)
            let straight = make(straightOpt)
            var expected: [Double] = []
            for m in metrics { straight.step(metric: m); expected.append(straightOpt.learningRate) }

            let firstOpt = makeOptimizer("adam", lr: 0.01)
            let first = make(firstOpt)
            for m in metrics.prefix(7) { first.step(metric: m) }
            let saved = first.exportState()
            let resumedOpt = makeOptimizer("adam", lr: 0.01)
            let resumed = make(resumedOpt)
            try resumed.importState(saved)
            var got = Array(expected.prefix(7))
            for m in metrics.dropFirst(7) { resumed.step(metric: m); got.append(resumedOpt.learningRate) }
            XCTAssertEqual(got, expected, "\(name): resumed schedule differs")
            XCTAssertEqual(resumedOpt.beta1, straightOpt.beta1, "\(name): resumed momentum differs")
            XCTAssertThrowsError(try resumed.importState([:]), "\(name): empty state must be refused")
        }
    }
}
