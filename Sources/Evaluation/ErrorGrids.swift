// Clinical error grids: where a forecast (y axis) falls against the reference glucose (x axis), mg/dL.
//
// Clarke error grid (Clarke, Cox, Gonder-Frederick, Carter & Pohl 1987, Diabetes Care 10:622–628), with reference
// r and prediction p; the rules are tested in this order and the first that holds gives the zone:
//   A  |p − r| ≤ 0.2·r, or r < 70 and p < 70                    (clinically accurate)
//   E  r ≤ 70 and p ≥ 180, or r ≥ 180 and p ≤ 70                 (erroneous treatment: hypo read as hyper, or back)
//   C  70 ≤ r ≤ 290 and p ≥ r + 110, or 130 ≤ r ≤ 180 and p ≤ (7/5)·r − 182   (overcorrection)
//   D  r ≥ 240 and 70 ≤ p ≤ 180, or r ≤ 175/3 and 70 ≤ p ≤ 180, or 175/3 ≤ r ≤ 70 and p ≥ (6/5)·r
//                                                              (failure to detect a hypo or hyperglycaemia)
//   B  everything else                                          (benign errors)
// (175/3 = 70/1.2 is where the A boundary p = 1.2·r meets p = 70.)
//
// Parkes (consensus) error grid for type 1 diabetes (Parkes, Slatin, Pardo & Ginsberg 2000, Diabetes Care
// 23:1143–1148), with the boundary vertices published by Pfützner, Klonoff, Pardo & Parkes 2013 (J Diabetes Sci
// Technol 7:1275–1281, Table 1). Each boundary is a chain of segments, extended past its last vertex along its last
// segment. Upper boundaries (forecast too high) are functions p = U(r); lower ones (too low) start with a vertical
// segment, so they are functions r = L(p). A point's zone is the furthest boundary it lies strictly beyond:
//   upper  A|B (0,50) (30,50) (140,170) (280,380) (430,550)      lower  A|B (50,0) (50,30) (170,145) (385,300) (550,450)
//          B|C (0,60) (30,60) (50,80) (70,110) (260,550)                B|C (120,0) (120,30) (260,130) (550,250)
//          C|D (0,100) (25,100) (50,125) (80,215) (125,550)             C|D (250,0) (250,40) (550,150)
//          D|E (0,150) (35,155) (50,550)
// Points on a boundary take the better zone.

/// A zone of an error grid, A (accurate) … E (dangerous).
public enum ErrorGridZone: Int, CaseIterable, Codable, Sendable, Comparable {
    case a, b, c, d, e

    /// "A" … "E".
    public var label: String { ["A", "B", "C", "D", "E"][rawValue] }

    public static func < (x: ErrorGridZone, y: ErrorGridZone) -> Bool { x.rawValue < y.rawValue }
}

/// The Clarke error grid (see the file header).
public enum ClarkeErrorGrid {
    /// The zone of prediction `p` against reference `r` (mg/dL).
    public static func zone(reference r: Double, prediction p: Double) -> ErrorGridZone {
        if abs(p - r) <= 0.2 * r || (r < 70 && p < 70) { return .a }
        if (r <= 70 && p >= 180) || (r >= 180 && p <= 70) { return .e }
        if (70 ... 290).contains(r) && p >= r + 110 { return .c }
        if (130 ... 180).contains(r) && p <= 7.0 / 5.0 * r - 182 { return .c }
        if r >= 240 && (70 ... 180).contains(p) { return .d }
        if r <= 175.0 / 3.0 && (70 ... 180).contains(p) { return .d }
        if (175.0 / 3.0 ... 70).contains(r) && p >= 6.0 / 5.0 * r { return .d }
        return .b
    }
}

/// The Parkes (consensus) error grid for type 1 diabetes (see the file header).
public enum ParkesErrorGrid {
    /// A boundary: vertices in order of increasing x (upper) or y (lower).
    typealias Chain = [(x: Double, y: Double)]

    /// Upper boundaries A|B, B|C, C|D, D|E: p = U(r).
    static let upper: [Chain] = [
        [(0, 50), (30, 50), (140, 170), (280, 380), (430, 550)],
        [(0, 60), (30, 60), (50, 80), (70, 110), (260, 550)],
        [(0, 100), (25, 100), (50, 125), (80, 215), (125, 550)],
        [(0, 150), (35, 155), (50, 550)],
    ]
    /// Lower boundaries A|B, B|C, C|D: r = L(p).
    static let lower: [Chain] = [
        [(50, 0), (50, 30), (170, 145), (385, 300), (550, 450)],
        [(120, 0), (120, 30), (260, 130), (550, 250)],
        [(250, 0), (250, 40), (550, 150)],
    ]

    /// The piecewise-linear function through `points` (increasing in `key`) at `t`, extended past the ends along the
    /// first and last segments.
    static func interpolate(_ points: [(key: Double, value: Double)], at t: Double) -> Double {
        var i = 1
        while i < points.count - 1 && t > points[i].key { i += 1 }
        let (a, b) = (points[i - 1], points[i])
        return a.value + (b.value - a.value) * (t - a.key) / (b.key - a.key)
    }

    /// U(r) of upper boundary `k`.
    static func upperBoundary(_ k: Int, at r: Double) -> Double {
        interpolate(upper[k].map { (key: $0.x, value: $0.y) }, at: r)
    }

    /// L(p) of lower boundary `k` (its first, vertical segment covers p ≤ its second vertex's y).
    static func lowerBoundary(_ k: Int, at p: Double) -> Double {
        let chain = lower[k]
        if p <= chain[1].y { return chain[0].x }
        return interpolate(chain.dropFirst().map { (key: $0.y, value: $0.x) }, at: p)
    }

    /// The zone of prediction `p` against reference `r` (mg/dL, both ≥ 0).
    public static func zone(reference r: Double, prediction p: Double) -> ErrorGridZone {
        var zone = ErrorGridZone.a
        for k in upper.indices where p > upperBoundary(k, at: r) { zone = max(zone, ErrorGridZone(rawValue: k + 1)!) }
        for k in lower.indices where r > lowerBoundary(k, at: p) { zone = max(zone, ErrorGridZone(rawValue: k + 1)!) }
        return zone
    }
}
