/// Why an integration of the linearized dynamics was refused.
public enum DynamicsError: Error, CustomStringConvertible, Equatable {
    /// The kernel holds NaN or ±∞ (a broken block, an overflowing network).
    case nonFiniteKernel
    /// Discrete gradient descent with `η μ_max ≥ 2` diverges.
    case unstableLearningRate(eta: Double, bound: Double)
    /// A parameter out of its domain (negative time, non-integer step count, …).
    case invalidArgument(String)
    /// An iterative method did not reach its tolerance.
    case notConverged(String)

    public var description: String {
        switch self {
        case .nonFiniteKernel: return "the NTK Gram contains NaN or infinite values"
        case .unstableLearningRate(let eta, let bound):
            return "discrete gradient descent diverges: learning rate \(eta) ≥ 2/μ_max = \(bound) (μ = λ(H)/m + ρ); use a smaller η or gradient flow"
        case .invalidArgument(let s): return "invalid argument: \(s)"
        case .notConverged(let s): return "did not converge: \(s)"
        }
    }
}

/// Gradient flow (continuous time `t`) or gradient descent (`t` counts steps of size η).
public enum Flow: String, Codable, Sendable {
    case gradientFlow = "flow"
    case gradientDescent = "gd"
}

/// The spectral filters of the closed form: `β_t = φ(A) r/m` with `A = H/m + ρI`.
public enum SpectralFilter {
    /// Gradient flow: `φ(μ) = (1 − e^{−ηtμ})/μ = −expm1(−ηtμ)/μ`, with the limit `φ(0) = ηt`.
    @inlinable public static func flow(_ mu: Double, etaT: Double) -> Double {
        if mu == 0 { return etaT }
        let x = etaT * mu
        if Swift.abs(x) < 1e-300 { return etaT }
        return -expm1(-x) / mu
    }

    /// Gradient descent, `s` steps: `φ(μ) = (1 − (1 − ημ)^s)/μ`, with `φ(0) = ηs`.
    @inlinable public static func descent(_ mu: Double, eta: Double, steps: Double) -> Double {
        if mu == 0 { return eta * steps }
        let x = eta * mu
        if Swift.abs(x) < 0.5 { return -expm1(steps * log1p(-x)) / mu }
        return (1 - pow(1 - x, steps)) / mu
    }
}

import Foundation
