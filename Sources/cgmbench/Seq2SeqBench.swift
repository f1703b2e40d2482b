import CGMTensor
import Layers
import Models
import Optim

/// Training throughput of the PhysioSeq2Seq LSTM exactly as `bench-reference/pytorch_models.py`
/// measures it: encoder 12→64 over L=37, decoder 11→64 over H=48 from the encoder's (h, c), dropout 0.2,
/// shared Linear 64→1, Huber, Adam 1e-3, batch 64, forward + backward + step, the same batch reused.
struct Seq2SeqBench {
    static let batch = 64, history = 37, horizon = 48
    /// Analytic GEMM FLOPs of one training step (3× forward), as the reference script counts them.
    static let gflopPerStep: Double = {
        let (b, l, h, hid, ein, din) = (64.0, 37.0, 48.0, 64.0, 12.0, 11.0)
        let fwd = 2 * b * 4 * hid * (ein + hid) * l + 2 * b * 4 * hid * (din + hid) * h + 2 * b * h * hid
        return 3 * fwd / 1e9
    }()

    let model = Seq2SeqLSTM(.physio, seed: 0)
    let adam: Adam
    let encoderInput = Seq2SeqBench.normal([batch, history, 12], seed: 1)
    let decoderInput = Seq2SeqBench.normal([batch, horizon, 11], seed: 2)
    let target = Seq2SeqBench.normal([batch, horizon], seed: 3)
    private(set) var steps: UInt64 = 0

    init() { adam = Adam(model.store, lr: 1e-3) }

    /// One forward + backward + Adam step; returns the loss.
    @discardableResult
    mutating func step() -> Float {
        steps += 1
        let g = Graph(training: true, random: RandomContext(seed: 0, step: steps))
        let p = model.store.bind(g)
        let pred = model(encoderInput: g.constant(encoderInput), decoderInput: g.constant(decoderInput), p)
        let loss = g.huberLoss(pred, g.constant(target), delta: 1)
        model.store.zeroGradients()
        g.backward(loss)
        adam.step()
        return loss.value.scalar
    }

    static func normal(_ shape: [Int], seed: UInt64) -> Tensor {
        var rng = PhiloxGenerator(seed: seed)
        return Tensor(shape: shape, scalars: (0..<Shape.count(shape)).map { _ in rng.nextNormal() })
    }
}

extension Seq2SeqBench {
    /// The engine and `bench-reference/pytorch_models.py --model seq2seq` side by side.
    static func run(harness: Harness, rounds: Int, threads: Int, machine: MachineInfo, torch: TorchReference?,
                    script: String) -> String {
        var bench = Seq2SeqBench()
        let m = SideBySide.measure(rounds: rounds, harness: harness, samplesPerStep: Double(batch),
                                   reference: torch.map { t in { t.run(script: script, ["--model", "seq2seq"]) } }) {
            bench.step()
        }
        var table = Table(header: ["PhysioSeq2Seq training (B=64)", "samples/s", "GFLOP/s", "of peak", "× PyTorch"])
        func row(_ label: String, _ rates: [Double], _ ratio: String) {
            let g = median(rates) / Double(batch) * gflopPerStep
            table.rows.append([label, SideBySide.cell(rates, 0), fmt(g, 1), machine.ofPeak(g), ratio])
        }
        row("CGMTrain engine, \(threads) thread(s)", m.engine, m.ratio.map { fmt($0, 2) + "×" } ?? "–")
        if m.torch.isEmpty {
            table.rows.append(["PyTorch: pass --torch-python", "–", "–", "–", "–"])
        } else {
            row("PyTorch, same run (\(rounds) rounds, alternating)", m.torch, "1.00×")
        }
        return table.render() + "\n(GFLOP/s: \(fmt(gflopPerStep, 3)) analytic GEMM GFLOP per step, as the reference counts them)"
    }
}
