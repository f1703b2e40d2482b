// Shapes of the Mamba-2 selective scan, shared by the chunked (SSD) op, its sequential twin and the
// hidden-attention analysis.
//   x: (B, L, H, P)   dt: (B, L, H)   A: (H)   Bm, Cm: (B, L, G, N)   D: (H)?   h₀, h_L: (B, H, P, N)
// Head h reads B and C of group g(h) = h / (H / G) (Mamba-2's `ngroups`, heads of a group contiguous).

/// Validated sizes of one selective-scan call.
public struct SelectiveScanShape: Equatable, Sendable {
    /// Batch B.
    public let batch: Int
    /// Sequence length L.
    public let length: Int
    /// Heads H.
    public let heads: Int
    /// Channels per head P (Mamba-2 `headdim`).
    public let headdim: Int
    /// Groups G of B and C (Mamba-2 `ngroups`); divides H.
    public let groups: Int
    /// State size N (Mamba-2 `d_state`).
    public let dstate: Int

    /// H · P, the row stride of x and y.
    public var hp: Int { heads * headdim }
    /// G · N, the row stride of B and C.
    public var gn: Int { groups * dstate }
    /// Heads per group H / G.
    public var headsPerGroup: Int { heads / groups }
    /// (H / G) · P: the x columns of one group.
    public var groupWidth: Int { headsPerGroup * headdim }
    /// H · P · N: one batch element's state.
    public var stateSize: Int { heads * headdim * dstate }

    /// Shape of the state tensors h₀ and h_L.
    public var stateShape: [Int] { [batch, heads, headdim, dstate] }

    /// Checks the operand shapes against each other, trapping with a message that names them all.
    public init(x: [Int], dt: [Int], A: [Int], B: [Int], C: [Int], D: [Int]?, initialState: [Int]?,
                op: String = "selectiveScan") {
        func shapes() -> String {
            "x \(x), dt \(dt), A \(A), B \(B), C \(C)" + (D.map { ", D \($0)" } ?? "")
                + (initialState.map { ", initialState \($0)" } ?? "")
        }
        precondition(x.count == 4, "\(op): x must be (B, L, H, P); got \(shapes())")
        precondition(B.count == 4, "\(op): B must be (B, L, G, N); got \(shapes())")
        let (b, l, h, p) = (x[0], x[1], x[2], x[3])
        let (g, n) = (B[2], B[3])
        precondition(b > 0 && l > 0 && h > 0 && p > 0 && g > 0 && n > 0, "\(op): empty axis in \(shapes())")
        precondition(dt == [b, l, h], "\(op): dt must be (B, L, H) = \([b, l, h]); got \(shapes())")
        precondition(A == [h], "\(op): A must be (H) = [\(h)]; got \(shapes())")
        precondition(B[0] == b && B[1] == l, "\(op): B must be (B, L, G, N) with B, L of x; got \(shapes())")
        precondition(C == B, "\(op): C must have the shape of B; got \(shapes())")
        precondition(h % g == 0, "\(op): groups G = \(g) must divide heads H = \(h); got \(shapes())")
        if let D { precondition(D == [h], "\(op): D must be (H) = [\(h)]; got \(shapes())") }
        if let s = initialState {
            precondition(s == [b, h, p, n], "\(op): initialState must be (B, H, P, N) = \([b, h, p, n]); got \(shapes())")
        }
        (batch, length, heads, headdim, groups, dstate) = (b, l, h, p, g, n)
    }
}
