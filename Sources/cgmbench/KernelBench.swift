import CGMTensor
import COpenBLAS

/// The LSTM's per-step products at the models' shapes: the blocked kernel (`RecurrentGEMM`, this build's tile and
/// the other ISA's for comparison) against `cblas_sgemm` on the same operands, alternating, as GFLOP/s and as a
/// fraction of the measured peak. OpenBLAS re-packs W on every call, which at these sizes it cannot amortize.
struct KernelBench {
    var harness: Harness
    var machine: MachineInfo
    /// (what, rows, n, k): C (rows × n) = A (rows × k) · W (k × n).
    var shapes: [(String, Int, Int, Int)] = [
        ("Seq2Seq step fwd [x|h]·[W_ih|W_hh]ᵀ", 64, 256, 76), ("Seq2Seq step bwd dâ·W_hh", 64, 64, 256),
        ("TFT step fwd [x|h]·[W_ih|W_hh]ᵀ", 32, 512, 256), ("TFT step bwd dâ·W_hh", 32, 128, 512),
    ]

    func run() -> String {
        var table = Table(header: ["LSTM step product (rows, n, k)", "kernel", "GFLOP/s", "of peak", "× sgemm"])
        for (what, rows, n, k) in shapes {
            let a = randomTensor([rows, k], seed: 1), w = randomTensor([k, n], seed: 2)
            let c = Tensor(zeros: [rows, n])
            let flop = 2.0 * Double(rows * n * k)
            var rates: [String: [Double]] = [:]
            let tiles = [RecurrentGEMM.Tile.build] + RecurrentGEMM.Tile.allCases.filter { $0 != .build }
            for _ in 0..<3 {   // alternate so machine noise hits all alike
                rates["sgemm", default: []] += harness.measure {
                    cblas_sgemm(CblasRowMajor, CblasNoTrans, CblasNoTrans, Int32(rows), Int32(n), Int32(k), 1,
                                a.pointer, Int32(k), w.pointer, Int32(n), 0, c.sharedMutablePointer, Int32(n))
                }.ratesPerTrial
                for tile in tiles where n % tile.columns == 0 {
                    rates[tile.rawValue, default: []] += harness.measure {
                        RecurrentGEMM.multiply(rows: rows, n: n, k: k, a: a.pointer, lda: k, w: w.pointer,
                                               c: c.sharedMutablePointer, ldc: n, accumulate: false, tile: tile)
                    }.ratesPerTrial
                }
            }
            let blas = median(rates["sgemm"]!) * flop / 1e9
            for name in ["sgemm"] + tiles.map(\.rawValue) {
                guard let r = rates[name] else { continue }
                let g = median(r) * flop / 1e9
                let label = name == "sgemm" ? "cblas_sgemm (\(machine.openBLASCore))"
                    : "blocked \(name) tile" + (name == RecurrentGEMM.Tile.build.rawValue ? " (this build's)" : "")
                table.rows.append([name == "sgemm" ? "\(what) (\(rows), \(n), \(k))" : "", label, fmt(g, 1),
                                   machine.ofPeak(g), name == "sgemm" ? "1.00×" : fmt(g / blas, 2) + "×"])
            }
        }
        return table.render()
    }

    func randomTensor(_ shape: [Int], seed: UInt64) -> Tensor {
        var rng = PhiloxGenerator(seed: seed)
        return Tensor(shape: shape, scalars: (0..<Shape.count(shape)).map { _ in rng.nextUniform(-1, 1) })
    }
}
