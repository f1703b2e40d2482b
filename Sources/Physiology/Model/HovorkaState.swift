/// The 10-state vector of the digital twin (PhysioSeq2Seq eq. 1):
/// `x = [Q1, Q2, S1, S2, I, X1, X2, X3, M1, M2]`.
///
/// Units: `Q1, Q2` mmol/kg; `S1, S2` mU/kg; `I` mU/L; `X1, X2` 1/min; `X3` dimensionless;
/// `M1, M2` grams of carbohydrate in the two gut compartments (the meal input `u_G` is in g/min,
/// eq. 2, and `K` converts to mmol/kg/min).
public struct HovorkaState: Equatable, Sendable {
    public var q1: Double, q2: Double
    public var s1: Double, s2: Double, i: Double
    public var x1: Double, x2: Double, x3: Double
    public var m1: Double, m2: Double

    /// Number of states (eq. 1).
    public static let count = 10
    /// State names in eq. 1 order (column headers for X_hist / X_fut).
    public static let names = ["Q1", "Q2", "S1", "S2", "I", "X1", "X2", "X3", "M1", "M2"]

    public init(q1: Double = 0, q2: Double = 0, s1: Double = 0, s2: Double = 0, i: Double = 0,
                x1: Double = 0, x2: Double = 0, x3: Double = 0, m1: Double = 0, m2: Double = 0) {
        self.q1 = q1
        self.q2 = q2
        self.s1 = s1
        self.s2 = s2
        self.i = i
        self.x1 = x1
        self.x2 = x2
        self.x3 = x3
        self.m1 = m1
        self.m2 = m2
    }

    /// A state from 10 values in eq. 1 order.
    public init(_ v: [Double]) {
        precondition(v.count == HovorkaState.count, "HovorkaState needs 10 values, got \(v.count)")
        self.init(q1: v[0], q2: v[1], s1: v[2], s2: v[3], i: v[4], x1: v[5], x2: v[6], x3: v[7], m1: v[8], m2: v[9])
    }

    /// The 10 values in eq. 1 order.
    public var array: [Double] { [q1, q2, s1, s2, i, x1, x2, x3, m1, m2] }

    /// True when every state is finite.
    public var isFinite: Bool { array.allSatisfy { $0.isFinite } }
}

/// A state trajectory stored row-major as `Float`: `steps × 10` (X_hist is `L × 10`, X_fut `H × 10`).
public struct StateTrajectory: Equatable, Sendable {
    /// Number of time steps (rows).
    public let steps: Int
    /// Row-major values, `steps * 10`, columns in eq. 1 order.
    public var values: [Float]

    public init(steps: Int, values: [Float]) {
        precondition(values.count == steps * HovorkaState.count,
                     "StateTrajectory: \(values.count) values for \(steps) steps × 10 states")
        self.steps = steps
        self.values = values
    }

    /// The trajectory of a list of states.
    public init(_ states: [HovorkaState]) {
        steps = states.count
        values = states.flatMap { $0.array.map(Float.init) }
    }

    /// Value of state `state` (0..<10, eq. 1 order) at step `step`.
    public subscript(step: Int, state: Int) -> Float { values[step * HovorkaState.count + state] }

    /// Shape `(steps, 10)`.
    public var shape: (Int, Int) { (steps, HovorkaState.count) }
}
