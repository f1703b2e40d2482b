import CGMSchema

// GluFormer token windows (data.preset: gluformer). Each subject's resampled glucose grid is cut at the gaps
// the resampler left (longer than data.max_interpolation_gap_minutes) into gap-free segments
// (`GlucoseTokenizer.segments`); every segment [a, b) of at least H + `minimumTokenContext` steps gives
//   • full windows with decision t = a + L − 1, a + L − 1 + stride, …  while t + H < b, and
//   • one window ending exactly at the segment end (t = b − 1 − H) when the last full one stops short of it,
//     so the tail of every segment is covered. When the segment is shorter than L + H, this window reaches
//     back past the segment start: those leading positions are padding (token 461, past features 0).
// A window's tokens (extras["tokens"], [L + H]) are the glucose tokens of t − L + 1 … t + H with padding
// before the segment start; the horizon t + 1 … t + H is always real glucose, so `target` is complete and
// the window can be evaluated as a forecast. No window spans a long gap (a gap splits the sequence).
// QC rules 1–3, 5 and 6 do not apply to token windows (the gap rule replaces them): the preset turns them off
// and `DataConfig` refuses them; the QC report counts every token window as scanned and accepted.

extension WindowExtractor {
    /// Context steps a segment needs before its first horizon for a token window (1 hour, or L if shorter).
    public var minimumTokenContext: Int { min(12, history) }

    /// The token windows of every subject (see the file header), in subject order then time order, with a
    /// QC report in which every window is scanned and accepted.
    public func tokenCandidates(_ features: [SubjectFeatures]) -> (windows: [WindowRef], report: QCReport) {
        var report = QCReport(enabled: [.residualNaN])
        var refs: [WindowRef] = []
        for (s, f) in features.enumerated() {
            for segment in GlucoseTokenizer.segments(f.cgm) where segment.count >= horizon + minimumTokenContext {
                var last = -1
                var t = segment.lowerBound + history - 1
                while t + horizon < segment.upperBound {
                    refs.append(WindowRef(subject: s, decision: t))
                    last = t
                    t += stride
                }
                let end = segment.upperBound - 1 - horizon
                if last < end { refs.append(WindowRef(subject: s, decision: end)) }
            }
        }
        report.scanned = refs.count
        report.accepted = refs.count
        return (refs, report)
    }

    /// The first real (unpadded) grid index of the token window ending its history at `t`: the start of the
    /// gap-free run containing t, or t − L + 1 if that is later (also where a zero-padded history begins).
    func firstTokenIndex(_ cgm: UnsafeBufferPointer<Float>, decision t: Int) -> Int {
        let lo = t - history + 1
        var i = t
        while i - 1 >= max(lo, 0) && !cgm[i - 1].isNaN { i -= 1 }
        return i
    }
}

extension WindowExtractor {
    /// The `diet` extra of token windows (N, L + H, slots), diet tokens of t − L + 1 … t + H (−1 = empty, and on
    /// the padding before a window's gap-free run); see DietTokenizer.swift.
    func dietExtra(_ refs: [WindowRef], features: [SubjectFeatures], bins: DietBins) -> (shape: [Int], values: [Float]) {
        let w = history + horizon, n = bins.nutrients.count
        var out = [Float](repeating: -1, count: refs.count * w * n)
        var current = -1
        var diet: [Int] = []
        for (k, ref) in refs.enumerated() {
            if ref.subject != current {
                current = ref.subject
                diet = bins.tokens(features[current])
            }
            let lo = ref.decision - history + 1
            let first = features[current].cgm.withUnsafeBufferPointer { firstTokenIndex($0, decision: ref.decision) }
            for i in max(lo, first) ... ref.decision + horizon {
                for s in 0 ..< n { out[(k * w + i - lo) * n + s] = Float(diet[i * n + s]) }
            }
        }
        return ([w, n], out)
    }
}
