/// Least-squares glucose slope over a stretch of the 5-minute grid (Algorithm 1, lines 3 and 16).
public enum GlucoseSlope {
    /// Slope (mg/dL/min) of the ordinary least-squares line through the finite values of
    /// `cgm[range]`, sampled every `minutes`; 0 when fewer than two values are finite.
    public static func regression(_ cgm: [Float], over range: Range<Int>,
                                  minutes: Double = HovorkaParameters.sampleMinutes) -> Double {
        var n = 0.0, st = 0.0, sg = 0.0, stt = 0.0, stg = 0.0
        for k in range.clamped(to: cgm.indices) where cgm[k].isFinite {
            let t = Double(k) * minutes, g = Double(cgm[k])
            n += 1; st += t; sg += g; stt += t * t; stg += t * g
        }
        guard n >= 2 else { return 0 }
        let den = n * stt - st * st
        return den > 0 ? (n * stg - st * sg) / den : 0
    }

    /// Number of 5-minute samples in one hour plus the endpoint: the regression window `[t0, t0 + 1 h]`.
    public static let hourSamples = 13
}
