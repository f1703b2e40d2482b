import Foundation

/// A sensor fault or gap, recorded in `truth/sensor_artifacts.csv` so QC can be scored.
public struct SensorArtifact: Sendable {
    public enum Kind: String, Sendable {
        /// No readings (signal loss), 5 min to 2 h.
        case dropout
        /// No readings during the 2-hour warm-up after a sensor change.
        case warmup
        /// Pressure on the sensor during sleep: readings fall 30–70 mg/dL for 20–60 min, then recover.
        case compressionLow = "compression_low"
        /// One reading off by 45–90 mg/dL (a jump > 40 mg/dL per 5 min, Appendix C criterion 2).
        case spike
    }

    public var kind: Kind
    /// Seconds since the simulation start.
    public var start: Int64, end: Int64
    /// Size of the disturbance, mg/dL (0 for gaps).
    public var magnitude: Double
}

/// The CGM of one subject: reading times (its own interval and clock phase), per-sensor calibration
/// error, AR(1) noise, gaps and artifacts. CGM = interstitial glucose (first-order lag in the
/// physiology) · gain + offset + noise + artifact, rounded to whole mg/dL and clamped to the
/// 40–400 mg/dL reporting range.
struct CGMSensor {
    let readingTimes: [Int64]
    let artifacts: [SensorArtifact]
    /// Sensor changes (seconds) and per-session gain/offset.
    let sessionStarts: [Int64]
    let gains: [Double], offsets: [Double]
    let noiseSD: Double, noiseAR: Double
    private var noise = 0.0
    private var lastTime: Int64 = -1_000_000
    private var rng: SeededGenerator

    /// Plans the sensor of `s` over `plan` (stream `4000 + index`).
    init(_ s: SubjectProfile, _ plan: SubjectPlan, config: CohortConfig) {
        var rng = SeededGenerator(seed: config.seed, stream: 4000 + UInt64(s.index))
        let totalSeconds = Int64(plan.totalMinutes) * 60
        let d = s.devices
        var times: [Int64] = []
        var t = Int64(d.cgmPhaseSeconds)
        while t < totalSeconds {
            times.append(t)
            t += Int64(d.cgmIntervalMinutes * 60)
        }
        readingTimes = times

        var artifacts: [SensorArtifact] = []
        // Sensor sessions of 10 days; each new sensor starts with a 2-hour warm-up.
        var starts: [Int64] = [0]
        var change = Int64((10 - d.sensorAgeDays) * 86400)
        while change < totalSeconds {
            starts.append(change)
            artifacts.append(SensorArtifact(kind: .warmup, start: change, end: change + 7200, magnitude: 0))
            change += 10 * 86400
        }
        sessionStarts = starts
        gains = starts.map { _ in rng.normal(mean: 1, sd: 0.04) }
        offsets = starts.map { _ in rng.normal(mean: 0, sd: 4) }

        // Dropouts: short (5–15 min), medium (15–60 min) or long (1–2 h).
        let days = Double(plan.totalMinutes) / 1440
        for _ in 0..<rng.poisson(d.dropoutsPerDay * days) {
            let start = Int64(rng.uniform(0, Double(totalSeconds)))
            let u = rng.uniform()
            let minutes = u < 0.6 ? rng.uniform(5, 15) : (u < 0.9 ? rng.uniform(15, 60) : rng.uniform(60, 120))
            artifacts.append(SensorArtifact(kind: .dropout, start: start, end: start + Int64(minutes * 60), magnitude: 0))
        }
        // Compression lows during sleep (12 % of nights).
        for (a, b) in plan.sleeps where b - a > 120 && rng.bernoulli(0.12) {
            let start = Int64(rng.uniform(Double(a + 30), Double(b - 60))) * 60
            let minutes = rng.uniform(20, 60)
            artifacts.append(SensorArtifact(kind: .compressionLow, start: start, end: start + Int64(minutes * 60),
                                            magnitude: rng.uniform(30, 70)))
        }
        // Spikes on single readings (~1 every 3 days).
        for _ in 0..<rng.poisson(0.35 * days) where !times.isEmpty {
            let at = times[rng.int(0...(times.count - 1))]
            let size = rng.uniform(45, 90) * (rng.bernoulli(0.6) ? 1 : -1)
            artifacts.append(SensorArtifact(kind: .spike, start: at, end: at, magnitude: size))
        }
        self.artifacts = artifacts.sorted { ($0.start, $0.kind.rawValue) < ($1.start, $1.kind.rawValue) }
        noiseSD = d.noiseSD
        noiseAR = d.noiseAR
        self.rng = rng
    }

    /// Whether the reading at `t` is missing (dropout or warm-up).
    func isMissing(_ t: Int64) -> Bool {
        artifacts.contains { ($0.kind == .dropout || $0.kind == .warmup) && t >= $0.start && t < $0.end }
    }

    /// The reading at time `t` (seconds) for interstitial glucose `ig` (mg/dL), or nil when missing.
    /// Readings must be requested in time order (the AR(1) noise advances with the elapsed time).
    mutating func reading(at t: Int64, interstitialMgDl ig: Double) -> Int? {
        // AR(1) with lag-5-min autocorrelation noiseAR, rescaled to the elapsed time.
        let dt = Double(t - lastTime) / 300
        let phi = Foundation.pow(noiseAR, max(dt, 0))
        noise = phi * noise + noiseSD * (1 - phi * phi).squareRoot() * rng.normal()
        lastTime = t
        if isMissing(t) { return nil }
        let session = sessionStarts.lastIndex { $0 <= t } ?? 0
        var value = gains[session] * ig + offsets[session] + noise
        for a in artifacts where a.kind == .compressionLow || a.kind == .spike {
            if a.kind == .spike && a.start == t { value += a.magnitude }
            if a.kind == .compressionLow && t >= a.start && t < a.end {
                // 8-minute onset, hold, 10-minute recovery.
                let into = Double(t - a.start) / 60, left = Double(a.end - t) / 60
                value -= a.magnitude * min(1, into / 8, left / 10)
            }
        }
        return Int(min(400, max(40, value.rounded())))
    }
}
