import CGMTensor
import COpenBLAS

/// The engine's matmul path (`Graph.matmul`, inference graph: allocation + GEMM + tape bookkeeping)
/// against raw `cblas_sgemm` on the same operands, measured alternately in one run.
struct GEMMBench {
    var harness: Harness
    var machine: MachineInfo
    var shapes: [(m: Int, n: Int, k: Int)] = [(64, 64, 64), (128, 128, 128), (256, 256, 256), (512, 512, 512),
                                              (64, 256, 76), (2368, 256, 12)]

    func run() -> Table {
        var table = Table(header: ["GEMM (M,N,K)", "raw sgemm GFLOP/s", "of peak", "engine matmul GFLOP/s", "engine/raw"])
        for s in shapes {
            let a = Tensor(repeating: 0.5, shape: [s.m, s.k]), b = Tensor(repeating: 0.25, shape: [s.k, s.n])
            let c = Tensor(zeros: [s.m, s.n])
            let flop = 2.0 * Double(s.m * s.n * s.k)
            var raw: [Double] = [], engine: [Double] = []
            for _ in 0..<3 {   // alternate so machine noise hits both alike
                raw += harness.measure {
                    cblas_sgemm(CblasRowMajor, CblasNoTrans, CblasNoTrans, Int32(s.m), Int32(s.n), Int32(s.k), 1,
                                a.pointer, Int32(s.k), b.pointer, Int32(s.n), 0, c.sharedMutablePointer, Int32(s.n))
                }.ratesPerTrial
                engine += harness.measure {
                    let g = Graph(training: false, recording: false)
                    _ = g.matmul(g.constant(a), g.constant(b))
                }.ratesPerTrial
            }
            let r = median(raw) * flop / 1e9, e = median(engine) * flop / 1e9
            table.rows.append(["\(s.m),\(s.n),\(s.k)", fmt(r, 1), machine.ofPeak(r), fmt(e, 1), fmt(e / r, 3)])
        }
        return table
    }
}

func median(_ xs: [Double]) -> Double { xs.sorted()[xs.count / 2] }
func fmt(_ x: Double, _ digits: Int) -> String { String(format: "%.\(digits)f", x) }
