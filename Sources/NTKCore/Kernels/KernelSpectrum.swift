import Foundation

/// A summary of a Gram's eigenvalues, small enough for one line of `rounds.jsonl`: the values at up to
/// `maximumPoints` ranks (log-spaced, always the largest and the smallest kept), with the condition number
/// and the effective rank; at a refresh of the square loss also the stable learning rate and how much of the
/// residual lies in slow directions (`addDiagnostics`).
///
/// Eigenvalues are of `H` itself (not `H/m`), sorted descending. Values at or below the solver's noise floor
/// (rounding noise of `Z`'s null space) are counted in `discarded` and left out of the condition number.
/// The diagnostic fields are optional so that records written before them still decode.
public struct KernelSpectrum: Codable, Sendable, Equatable {
    /// `(rank, λ)`: rank 1 is the largest eigenvalue.
    public var ranks: [Int]
    public var values: [Double]
    /// How many eigenvalues the full spectrum had above the noise floor.
    public var count: Int
    /// How many were at or below it.
    public var discarded: Int
    /// `λ_max / λ_min` over the kept eigenvalues.
    public var conditionNumber: Double
    /// `(Σλ)² / Σλ²`: the number of directions that carry the kernel's mass.
    public var effectiveRank: Double
    /// `dense` (every eigenvalue) or `ritz` (Lanczos' Ritz values: the extremes are accurate, the interior sparse).
    public var method: String

    /// The largest learning rate for which discrete gradient descent on the server's loss
    /// `L(θ) = (1/2m) Σ_i ‖y_i − f(x_i; θ)‖² + (ρ/2)‖θ − θ_0‖²` (m = all samples) is stable on the linearized
    /// model: `2 / (λ_max/m + ρ)`. That loss's Hessian is `ZZᵀ/m + ρ` (the Gauss–Newton part `I` of the
    /// nonlinear loss's Hessian, plus the ridge), whose largest eigenvalue is `λ_max/m + ρ`; `η` at or above this
    /// diverges. It is the bound `ntk linearize --gd` enforces, in the units of `--learning-rate` / `learning_rate`.
    public var stableStep: Double?
    /// Fraction of `‖r‖²` (`r = f(θ) − y` at the refresh, all outputs of all samples) in slow directions:
    /// eigen-directions of `H` with `λ ≤ slowThreshold`, null space included. See `slowThreshold`.
    public var slowResidualFraction: Double?
    /// `λ_slow = m/(η τ)` with `τ = slowTime`: below it, gradient flow over `τ` removes less than `1 − 1/e` (63%)
    /// of a direction's residual (`e^{−ητλ/m} > 1/e`); the ridge is left out because it does not fit the data.
    public var slowThreshold: Double?
    /// `τ`: the longest time the round's integration may choose (its largest candidate time; steps for descent,
    /// where `(1 − ηλ/m)^τ ≈ e^{−ητλ/m}` for the slow directions). The chosen time is at most this, so at least
    /// `slowResidualFraction` of the residual is learned slowly in the round.
    public var slowTime: Double?

    /// Summarizes `eigenvalues` (any order), dropping those `≤ relativeFloor · λ_max`.
    public init(eigenvalues: [Double], relativeFloor: Double, method: String, maximumPoints: Int = 128) {
        let sorted = eigenvalues.filter(\.isFinite).sorted(by: >)
        let top = sorted.first ?? 0
        let kept = sorted.filter { $0 > relativeFloor * top && $0 > 0 }
        count = kept.count
        discarded = sorted.count - kept.count
        self.method = method
        conditionNumber = kept.isEmpty ? .infinity : kept[0] / kept[kept.count - 1]
        let sum = kept.reduce(0, +), squares = kept.reduce(0) { $0 + $1 * $1 }
        effectiveRank = squares > 0 ? sum * sum / squares : 0
        ranks = Self.logSpacedRanks(count: kept.count, points: maximumPoints)
        values = ranks.map { kept[$0 - 1] }
    }

    /// `λ_max`: the largest kept eigenvalue (0 when none is).
    public var largest: Double { values.first ?? 0 }
    /// `λ_min`: the smallest kept eigenvalue (0 when none is).
    public var smallest: Double { values.last ?? 0 }

    /// Adds the training diagnostics for the square loss: `stableStep` from `λ_max`, and the slow part of the
    /// residual from its spectral measure.
    ///
    /// - Parameters:
    ///   - measure: `(λ, w)` pairs: eigenvalues of `H` and the part of `‖r‖²` along each (dense: squared
    ///     projections onto the eigenvectors, summed over output columns; Lanczos started from `r`: Gauss
    ///     quadrature weights, the squared first components of the Ritz vectors times `‖r‖²`).
    ///   - residualNorm2: `‖r‖²`; mass it has beyond `measure` (none, for both of the above) counts as slow.
    ///   - time: `τ`, the longest integration time of the round.
    public mutating func addDiagnostics(measure: [(lambda: Double, weight: Double)], residualNorm2: Double,
                                        sampleCount m: Int, learningRate eta: Double, ridge rho: Double, time tau: Double) {
        let top = largest / Double(m) + rho
        stableStep = top > 0 ? 2 / top : .infinity
        guard tau > 0, eta > 0 else { return }
        let threshold = Double(m) / (eta * tau)
        slowThreshold = threshold
        slowTime = tau
        guard residualNorm2 > 0 else { slowResidualFraction = 0; return }
        // Fast mass only from kept eigenvalues (≥ λ_min); everything else, the null space and the noise-floor
        // directions the integrator drops, is never learned and so counts as slow.
        let floor = smallest
        let fast = measure.reduce(0.0) { $1.lambda > threshold && $1.lambda >= floor && floor > 0 ? $0 + $1.weight : $0 }
        slowResidualFraction = min(1, max(0, 1 - fast / residualNorm2))
    }

    /// `r`'s spectral measure on a dense eigendecomposition: `(λ_j, Σ_c (v_jᵀ r_c)²)`, where the residual
    /// has one or more columns `r_c` per Gram row (the output-averaged kernel serves every output).
    public static func measure(of residual: [Double], on eigen: SymmetricEigen<Double>) -> [(lambda: Double, weight: Double)] {
        let n = eigen.values.count
        guard n > 0, residual.count % n == 0 else { return [] }
        let c = residual.count / n
        let projected = Matrix.product(eigen.vectorRows, Matrix(rows: n, columns: c, elements: residual))
        return (0..<n).map { j in
            var w = 0.0
            for col in 0..<c { w += projected[j, col] * projected[j, col] }
            return (eigen.values[j], w)
        }
    }

    /// Up to `points` distinct ranks in 1…count, log-spaced so that the head of the spectrum is dense.
    static func logSpacedRanks(count: Int, points: Int) -> [Int] {
        guard count > 0 else { return [] }
        if count <= points { return Array(1...count) }
        var ranks = Set<Int>()
        let logMax = log(Double(count))
        for i in 0..<points {
            ranks.insert(min(count, max(1, Int((exp(logMax * Double(i) / Double(points - 1))).rounded()))))
        }
        ranks.insert(1)
        ranks.insert(count)
        return ranks.sorted()
    }
}
