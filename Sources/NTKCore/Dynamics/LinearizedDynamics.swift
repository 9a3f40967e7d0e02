import Foundation

/// Closed-form training of the linearized network on the square loss, from one eigendecomposition.
///
/// Loss convention (documented in the README): `L(θ) = (1/2m) Σ_i ‖y_i − f(x_i; θ)‖² + (ρ/2)‖θ − θ_0‖²`,
/// m = all samples, trained by gradient flow `θ̇ = −η∇L` or gradient descent `θ_{s+1} = θ_s − η∇L`.
/// On the linearized model the update stays in the span of `Z`: `θ_t = θ_0 + Z β_t`, with
///   `A = H/m + ρI`, `β_t = φ_t(A) (y − u_0)/m`,
///   `u_t = u_0 + H β_t`, `f_t(x) = f_0(x) + Θ̂(x, X) β_t`,
/// where `φ_t(μ) = (1 − e^{−ηtμ})/μ` (flow) or `(1 − (1 − ημ)^t)/μ` (descent); see `SpectralFilter`.
/// This is DESIGN.md §1 with `ηt → ηt/m` and `H → H + mρI`. One decomposition serves every `t`.
public struct LinearizedDynamics: Sendable {
    /// The Gram `H` (mk × mk, exact kernel, or m × m averaged).
    public let gram: Matrix<Double>
    /// Its eigendecomposition.
    public let eigen: SymmetricEigen<Double>
    /// m: the loss is a mean over this many samples.
    public let sampleCount: Int
    /// η.
    public let learningRate: Double
    /// ρ.
    public let ridge: Double

    /// Relative size below which an eigenvalue of `H` is rounding noise (see `init`).
    public let noiseFloor: Double

    /// Decomposes `H` once.
    ///
    /// Eigenvalues `λ ≤ noiseFloor · λ_max` (including the negative ones a PSD Gram shows from rounding)
    /// are treated as the null space of `Z` and their directions dropped from `β`: exactly, `Z v = 0` there,
    /// so `θ_t`, `u_t` and `f_t` do not depend on those components (`β` is returned as the minimum-norm
    /// representative); numerically, keeping them would multiply rounding noise by up to `ηt/m`
    /// (measured: a Float32 Gram with `mk > P` at `t = 10⁹` raised the training loss from 0.18 to 10.9).
    /// The default floor suits a Gram accumulated in Float64; pass `≈ 1e-6` for a Float32 one.
    public init(gram: Matrix<Double>, sampleCount: Int, learningRate: Double, ridge: Double = 0,
                noiseFloor: Double? = nil) throws {
        guard gram.isFinite else { throw DynamicsError.nonFiniteKernel }
        guard sampleCount > 0 else { throw DynamicsError.invalidArgument("sample count must be positive") }
        guard learningRate > 0, learningRate.isFinite else {
            throw DynamicsError.invalidArgument("learning rate must be positive and finite, got \(learningRate)")
        }
        guard ridge >= 0, ridge.isFinite else { throw DynamicsError.invalidArgument("ridge must be ≥ 0, got \(ridge)") }
        self.gram = gram
        self.eigen = try SymmetricEigen(gram, name: "NTK Gram")
        self.noiseFloor = noiseFloor ?? Double(gram.rows) * Double.ulpOfOne
        self.sampleCount = sampleCount
        self.learningRate = learningRate
        self.ridge = ridge
    }

    /// `μ_j = max(λ_j, 0)/m + ρ`: the eigenvalues of `A`.
    public var operatorEigenvalues: [Double] { eigen.values.map { max($0, 0) / Double(sampleCount) + ridge } }

    /// Whether direction `j` carries signal (its eigenvalue is above the noise floor).
    private var signalMask: [Bool] {
        let top = max(eigen.values.last ?? 0, 0)
        return eigen.values.map { $0 > noiseFloor * top }
    }

    /// The largest stable step for gradient descent, `2/μ_max`.
    public var stableLearningRateBound: Double { 2 / (operatorEigenvalues.last ?? 0) }

    /// `β_t` for each time (flow: continuous `t ≥ 0`; descent: integer step counts).
    ///
    /// `residual = y − u_0`, flattened sample-major. With the exact kernel it has one entry per Gram row;
    /// with the output-averaged kernel (m × m) it has k entries per row, and each output is integrated
    /// with the shared kernel (the approximation that kernel makes).
    public func coefficients(residual: [Double], times: [Double], flow: Flow = .gradientFlow) throws -> [[Double]] {
        let n = gram.rows
        guard n > 0, residual.count % n == 0 else {
            throw DynamicsError.invalidArgument("residual has \(residual.count) entries, not a multiple of the Gram's \(n) rows")
        }
        for t in times {
            guard t >= 0, t.isFinite else { throw DynamicsError.invalidArgument("time must be finite and ≥ 0, got \(t)") }
            if flow == .gradientDescent, t != t.rounded() {
                throw DynamicsError.invalidArgument("gradient descent counts steps: \(t) is not an integer")
            }
        }
        let mus = operatorEigenvalues
        if flow == .gradientDescent, let top = mus.last, learningRate * top >= 2 {
            throw DynamicsError.unstableLearningRate(eta: learningRate, bound: 2 / top)
        }
        let c = residual.count / n
        let r = Matrix(rows: n, columns: c, elements: residual)
        // Vᵀ R / m, shared by every t.
        let projected = Matrix.product(eigen.vectorRows, r, alpha: 1 / Double(sampleCount))
        let signal = signalMask
        return times.map { t in
            var scaled = projected
            for j in 0..<n {
                let phi = !signal[j] ? 0 : flow == .gradientFlow
                    ? SpectralFilter.flow(mus[j], etaT: learningRate * t)
                    : SpectralFilter.descent(mus[j], eta: learningRate, steps: t)
                for col in 0..<c { scaled.elements[j * c + col] *= phi }
            }
            return Matrix.product(eigen.vectorRows, scaled, transposeA: true).elements
        }
    }

    /// `u_t = u_0 + H β_t` (flattened sample-major, like `coefficients`).
    public func trainOutputs(initial u0: [Double], coefficients beta: [Double]) -> [Double] {
        linearizedPrediction(initial: u0, crossKernel: gram, coefficients: beta)
    }
}

/// `f_t(x) = f_0(x) + Θ̂(x, X) β_t` for any inputs, from the cross kernel (rows: test points).
/// With the averaged kernel, `beta` has k entries per kernel column and each output uses the same kernel.
public func linearizedPrediction(initial f0: [Double], crossKernel: Matrix<Double>, coefficients beta: [Double]) -> [Double] {
    let c = beta.count / crossKernel.columns
    var f = Matrix.product(crossKernel, Matrix(rows: crossKernel.columns, columns: c, elements: beta)).elements
    for j in f.indices { f[j] += f0[j] }
    return f
}
