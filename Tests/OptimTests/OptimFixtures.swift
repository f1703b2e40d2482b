import CGMTensor
import Foundation
import Layers
import XCTest

/// The PyTorch reference of Fixtures/optim_fixtures.json (made by Fixtures/make_optim_fixtures.py).
struct OptimFixtures: Decodable {
    struct OptimizerConfig: Decodable {
        let kind: String
        let lr: Double
        let momentum: Double?, dampening: Double?, nesterov: Bool?
        let beta1: Double?, beta2: Double?, eps: Double?
        let weightDecay: Double
        /// OneCycleLR settings of `optimizersWithOnecycle` cases.
        let maxLr: Double?, pctStart: Double?
    }

    struct OptimizerCase: Decodable {
        let config: OptimizerConfig
        let trajectory: [[String: [Double]]]
    }

    struct ClipCase: Decodable {
        let maxNorm: Double
        let step: Int
        let norm: Double
        let clipped: [String: [Double]]
    }

    struct SchedulerConfig: Decodable {
        // OneCycleLR
        let optimizer: String?
        let maxLr: Double?, totalSteps: Int?, pctStart: Double?, anneal: String?
        let divFactor: Double?, finalDivFactor: Double?, threePhase: Bool?
        let cycleMomentum: Bool?, baseMomentum: Double?, maxMomentum: Double?
        // StepLR, cosine, plateau
        let baseLr: Double?, stepSize: Int?, gamma: Double?
        let warmupSteps: Int?, minLrRatio: Double?
        let mode: String?, factor: Double?, patience: Int?, threshold: Double?, thresholdMode: String?
        let cooldown: Int?, minLr: Double?, eps: Double?
    }

    struct SchedulerCase: Decodable {
        let config: SchedulerConfig
        let lr: [Double]
        let momentum: [Double]?
        let metrics: [Double]?
        let best: [Double]?
        let numBadEpochs: [Int]?
        let cooldownCounter: [Int]?
    }

    let generatedBy: String
    let steps: Int
    let shapes: [String: [Int]]
    let weightDecay: [String: Bool]
    let initial: [String: [Double]]
    let gradients: [[String: [Double]]]
    let optimizers: [String: OptimizerCase]
    let optimizersWithOnecycle: [String: OptimizerCase]
    let clipping: [ClipCase]
    let schedulers: [String: SchedulerCase]

    /// Parameter names in registration order ("w" decays, "b" does not).
    static let names = ["w", "b"]

    static func load() throws -> OptimFixtures {
        let url = try XCTUnwrap(Bundle.module.url(forResource: "optim_fixtures", withExtension: "json",
                                                  subdirectory: "Fixtures"), "optim_fixtures.json missing from the test bundle")
        let decoder = JSONDecoder()
        decoder.keyDecodingStrategy = .convertFromSnakeCase
        return try decoder.decode(OptimFixtures.self, from: Data(contentsOf: url))
    }

    /// A fresh store holding the initial parameters, with the fixture's weight-decay flags.
    func makeStore() -> (ParameterStore, [String: ParameterID]) {
        let store = ParameterStore()
        var ids: [String: ParameterID] = [:]
        for name in Self.names {
            ids[name] = store.add(name, Tensor(shape: shapes[name]!, scalars: initial[name]!.map { Float($0) }),
                                  weightDecay: weightDecay[name]!)
        }
        return (store, ids)
    }

    /// Writes gradient step `k` into the store's gradient buffer.
    func loadGradients(_ k: Int, into store: ParameterStore, _ ids: [String: ParameterID]) {
        for name in Self.names {
            let g = store.gradient(ids[name]!)
            let values = gradients[k][name]!
            for i in 0..<values.count { g.sharedMutablePointer[i] = Float(values[i]) }
        }
    }
}

/// Relative tolerance of every comparison with the PyTorch reference.
let fixtureRelativeTolerance = 1e-6

/// Asserts |actual − expected| ≤ 1e-6 · max(|actual|, |expected|) (+1e-12 for exact zeros), element-wise.
func assertMatchesReference(_ actual: [Double], _ expected: [Double], _ what: @autoclosure () -> String,
                            file: StaticString = #filePath, line: UInt = #line) {
    guard actual.count == expected.count else {
        XCTFail("\(what()): \(actual.count) values, expected \(expected.count)", file: file, line: line)
        return
    }
    for (i, (a, e)) in zip(actual, expected).enumerated() {
        let tolerance = fixtureRelativeTolerance * max(abs(a), abs(e)) + 1e-12
        if !(abs(a - e) <= tolerance) {
            XCTFail("\(what()) element \(i): \(a) vs PyTorch \(e) (relative error \(abs(a - e) / max(abs(e), 1e-30)))",
                    file: file, line: line)
            return
        }
    }
}

func doubles(_ t: Tensor) -> [Double] { t.scalars.map(Double.init) }
