/// The exact discrete-time form of the linear time-invariant part of the twin: the insulin chain
/// `(S1, S2, I, X1, X2, X3)` and the gut `(M1, M2)` — rows 3–10 of `A_p` in Appendix B eq. 16,
/// which do not depend on the state.
///
/// `z = [S1, S2, I, X1, X2, X3, M1, M2]` evolves as `dz/dt = A_z z + b_I u_I + b_G u_G`, so with
/// inputs held over the step, `z_{k+1} = Φ z_k + Γ_I u_I + Γ_G u_G` where
/// `[Φ Γ_I Γ_G] = exp([A_z b_I b_G; 0] T_s)[0:8, :]` (the lower block of eq. 17). It is computed once
/// per twin with `MatrixExponential.expm`.
public struct LinearSubsystem: Sendable {
    /// Number of linear states.
    public static let count = 8
    /// `Φ = exp(A_z T_s)`, 8×8 row-major.
    public let phi: [Double]
    /// Response to a unit insulin input held over the step (`B_d` restricted to `z`).
    public let gammaInsulin: [Double]
    /// Response to a unit carbohydrate input held over the step (`G_d` restricted to `z`).
    public let gammaMeal: [Double]

    /// The continuous `A_z` of the linear block (rows/columns 2…9 of eq. 16).
    public static func continuousMatrix(_ p: HovorkaParameters) -> DenseMatrix {
        let a = AugmentedSystem.systemMatrix(HovorkaState(), p)
        var z = DenseMatrix(zeros: count)
        for i in 0..<count {
            for j in 0..<count { z[i, j] = a[i + 2, j + 2] }
        }
        return z
    }

    /// Discretizes the linear block of twin `p` over `minutes` (default `T_s` = 5 min).
    public init(_ p: HovorkaParameters, minutes: Double = HovorkaParameters.sampleMinutes) {
        let az = LinearSubsystem.continuousMatrix(p)
        let n = LinearSubsystem.count
        var m = DenseMatrix(zeros: n + 2)
        for i in 0..<n {
            for j in 0..<n { m[i, j] = az[i, j] }
        }
        m[0, n] = 1 // u_I enters S1
        m[6, n + 1] = 1 // u_G enters M1
        let e = MatrixExponential.expm(minutes * m)
        var phi = [Double](repeating: 0, count: n * n)
        var gi = [Double](repeating: 0, count: n)
        var gg = [Double](repeating: 0, count: n)
        for i in 0..<n {
            for j in 0..<n { phi[i * n + j] = e[i, j] }
            gi[i] = e[i, n]
            gg[i] = e[i, n + 1]
        }
        self.phi = phi
        gammaInsulin = gi
        gammaMeal = gg
    }

    /// `Φ[i, j]`.
    public func phi(_ i: Int, _ j: Int) -> Double { phi[i * LinearSubsystem.count + j] }

    /// Applies the exact discrete update to `z` (8 values).
    public func apply(_ z: [Double], insulin uI: Double, carbs uG: Double) -> [Double] {
        let n = LinearSubsystem.count
        var out = [Double](repeating: 0, count: n)
        for i in 0..<n {
            var s = gammaInsulin[i] * uI + gammaMeal[i] * uG
            for j in 0..<n { s += phi[i * n + j] * z[j] }
            out[i] = s
        }
        return out
    }
}
