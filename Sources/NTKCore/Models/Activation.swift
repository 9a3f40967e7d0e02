import Foundation

/// The element-wise nonlinearity `σ` between dense layers.
public enum Activation: String, CaseIterable, Codable, Sendable {
    case relu, erf, tanh, gelu, identity

    /// `σ(x)`.
    @inlinable public func value(_ x: Double) -> Double {
        switch self {
        case .relu: return x > 0 ? x : 0
        case .erf: return Foundation.erf(x)
        case .tanh: return Foundation.tanh(x)
        case .gelu: return 0.5 * x * Foundation.erfc(-x / 2.0.squareRoot())
        case .identity: return x
        }
    }

    /// `σ′(x)` (relu: the step, with σ′(0) = 0).
    @inlinable public func derivative(_ x: Double) -> Double {
        switch self {
        case .relu: return x > 0 ? 1 : 0
        case .erf: return 2 / Double.pi.squareRoot() * Foundation.exp(-x * x)
        case .tanh: let t = Foundation.tanh(x); return 1 - t * t
        case .gelu:
            return 0.5 * Foundation.erfc(-x / 2.0.squareRoot()) + x * Foundation.exp(-0.5 * x * x) / (2 * Double.pi).squareRoot()
        case .identity: return 1
        }
    }

    /// In place over a buffer of pre-activations: writes `σ(h)` to `values` and `σ′(h)` to `derivatives`.
    /// Tight loops over contiguous memory; relu and identity stay in the buffer's precision.
    public func apply<S: BLASScalar>(_ h: UnsafeBufferPointer<S>, values: UnsafeMutableBufferPointer<S>,
                                     derivatives: UnsafeMutableBufferPointer<S>?) {
        switch self {
        case .relu:
            for i in h.indices {
                let x = h[i]
                values[i] = x > 0 ? x : 0
                derivatives?[i] = x > 0 ? 1 : 0
            }
        case .identity:
            for i in h.indices {
                values[i] = h[i]
                derivatives?[i] = 1
            }
        default:
            for i in h.indices {
                let x = Double(h[i])
                values[i] = S(value(x))
                derivatives?[i] = S(derivative(x))
            }
        }
    }

    /// The recommended gain² for standard-parametrization initialization: He (2) for relu,
    /// LeCun (1) for the others.
    public var standardInitGainSquared: Double { self == .relu ? 2 : 1 }
}
