import Foundation

/// Timing harness mirroring `../shared/bench-reference/pytorch_models.py`: warm up for at least two
/// calls and 1.5 s, then `trials` timed runs of k calls each (k chosen so a trial lasts ~`trialSeconds`).
struct Harness {
    var trials = 5
    var trialSeconds = 3.0

    struct Measurement {
        /// Calls per second, one per trial.
        var ratesPerTrial: [Double]
        var median: Double { ratesPerTrial.sorted()[ratesPerTrial.count / 2] }
        var low: Double { ratesPerTrial.min() ?? 0 }
        var high: Double { ratesPerTrial.max() ?? 0 }
    }

    func measure(_ body: () -> Void) -> Measurement {
        let t0 = now()
        var n = 0
        while n < 2 || now() - t0 < 1.5 { body(); n += 1 }
        let perCall = (now() - t0) / Double(n)
        let k = max(1, Int((trialSeconds / perCall).rounded()))
        var rates: [Double] = []
        for _ in 0..<trials {
            let s = now()
            for _ in 0..<k { body() }
            rates.append(Double(k) / (now() - s))
        }
        return Measurement(ratesPerTrial: rates)
    }
}

func now() -> Double {
    var ts = timespec()
    clock_gettime(CLOCK_MONOTONIC, &ts)
    return Double(ts.tv_sec) + Double(ts.tv_nsec) * 1e-9
}

/// Peak resident set size of this process so far, in MiB (getrusage ru_maxrss is in KiB on Linux).
func peakRSSMiB() -> Double {
    var usage = rusage()
    getrusage(RUSAGE_SELF.rawValue, &usage)
    return Double(usage.ru_maxrss) / 1024
}

/// Current resident set size in MiB (from /proc/self/statm), to see growth after the peak.
func currentRSSMiB() -> Double {
    guard let text = try? String(contentsOfFile: "/proc/self/statm", encoding: .utf8),
          let pages = text.split(separator: " ").dropFirst().first.flatMap({ Double($0) }) else { return 0 }
    return pages * Double(sysconf(Int32(_SC_PAGESIZE))) / 1_048_576
}

/// A plain-text table with right-aligned numeric columns.
struct Table {
    var header: [String]
    var rows: [[String]] = []

    func render() -> String {
        var widths = header.map(\.count)
        for r in rows { for (i, c) in r.enumerated() { widths[i] = max(widths[i], c.count) } }
        func line(_ cells: [String]) -> String {
            cells.enumerated().map { i, c in
                i == 0 ? c.padding(toLength: widths[i], withPad: " ", startingAt: 0)
                       : String(repeating: " ", count: widths[i] - c.count) + c
            }.joined(separator: "  ")
        }
        let rule = widths.map { String(repeating: "-", count: $0) }.joined(separator: "  ")
        return ([line(header), rule] + rows.map(line)).joined(separator: "\n")
    }
}

/// One model measured side by side with its PyTorch twin: `rounds` rounds of the engine's trials then one
/// reference process, alternating, so machine noise hits both alike. Rates are per trial, in samples/s.
struct SideBySide {
    var engine: [Double] = []
    var torch: [Double] = []
    /// Peak RSS of the reference processes (MiB).
    var torchRSS = 0.0

    /// `body` is one training step of `samplesPerStep` samples; `reference` runs the twin once (nil: no twin).
    static func measure(rounds: Int, harness: Harness, samplesPerStep: Double,
                        reference: (() -> TorchReference.Run?)?, _ body: () -> Void) -> SideBySide {
        var result = SideBySide()
        for _ in 0..<max(rounds, 1) {
            result.engine += harness.measure(body).ratesPerTrial.map { $0 * samplesPerStep }
            if let run = reference?() {
                result.torch += run.trials
                result.torchRSS = max(result.torchRSS, run.rss)
            }
        }
        return result
    }

    var engineMedian: Double { median(engine) }
    var torchMedian: Double? { torch.isEmpty ? nil : median(torch) }
    /// Engine ÷ PyTorch, medians of the same run.
    var ratio: Double? { torchMedian.map { engineMedian / $0 } }

    /// "median [min–max]" of the engine's or the reference's trials.
    static func cell(_ xs: [Double], _ digits: Int) -> String {
        xs.isEmpty ? "–" : "\(fmt(median(xs), digits)) [\(fmt(xs.min()!, digits))–\(fmt(xs.max()!, digits))]"
    }
}
