/// One digital twin: its parameters and its discrete-time model at `T_s` = 5 min
/// (PhysioSeq2Seq eq. 2–4). The state-independent work (the exact discrete insulin and gut blocks)
/// is done once in `init`; `step` costs a short series on the two glucose states (`DiscreteStep`).
public struct HovorkaModel: Sendable {
    /// The twin's parameters (Appendix B Table 3).
    public let parameters: HovorkaParameters
    /// Exact discrete insulin/gut block.
    public let linear: LinearSubsystem
    let lanes: TwinLaneConstants

    public init(_ parameters: HovorkaParameters) {
        self.parameters = parameters
        linear = LinearSubsystem(parameters)
        lanes = TwinLaneConstants([(parameters, linear)])
    }

    /// `x_{k+1}` from `x_k` with insulin input `uI` (mU/kg/min) and carbohydrate input `uG` (g/min)
    /// held over the 5-minute step (eq. 2 with the matrices of eq. 17).
    public func step(_ x: HovorkaState, insulin uI: Double, carbs uG: Double) -> HovorkaState {
        var s = LaneState(broadcast: x)
        DiscreteStep.advance(&s, lanes, insulin: Lanes(repeating: uI), carbs: Lanes(repeating: uG))
        return s.state(0)
    }

    /// The trajectory `[x_0, x_1, …, x_n]` under `n` inputs (`insulin[k]`, `carbs[k]` act over step k).
    public func simulate(from x0: HovorkaState, insulin: [Double], carbs: [Double]? = nil) -> [HovorkaState] {
        precondition(carbs == nil || carbs!.count == insulin.count, "HovorkaModel.simulate: input lengths differ")
        var out = [x0]
        out.reserveCapacity(insulin.count + 1)
        var x = x0
        for k in insulin.indices {
            x = step(x, insulin: insulin[k], carbs: carbs?[k] ?? 0)
            out.append(x)
        }
        return out
    }

    /// Plasma glucose of `x` in mg/dL (eq. 4).
    public func glucoseMgDl(_ x: HovorkaState) -> Double { parameters.glucoseMgDl(q1: x.q1) }

    /// `u_I` (mU/kg/min) for a basal rate (U/h) plus a bolus (U) delivered within the step.
    public func insulinInput(basalUPerH: Double, bolusU: Double = 0) -> Double {
        parameters.insulinInput(basalUPerH: basalUPerH) + parameters.insulinInput(bolusU: bolusU)
    }
}
