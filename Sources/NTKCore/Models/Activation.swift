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

    /// Over a buffer of pre-activations: writes `σ(h)` to `values` and `σ′(h)` to `derivatives`.
    /// Separate straight loops per case (no optional or switch inside), so relu and identity vectorize and
    /// stay in the buffer's precision; the others evaluate in `Double`.
    @inline(__always)
    public func apply<S: BinaryFloatingPoint>(_ h: UnsafeBufferPointer<S>, values: UnsafeMutableBufferPointer<S>,
                                              derivatives: UnsafeMutableBufferPointer<S>?) {
        let n = h.count
        guard n > 0 else { return }
        let x = h.baseAddress!, v = values.baseAddress!
        switch self {
        case .relu:
            for i in 0..<n { v[i] = max(x[i], 0) }
            if let d = derivatives?.baseAddress { for i in 0..<n { d[i] = x[i] > 0 ? 1 : 0 } }
        case .identity:
            v.update(from: x, count: n)
            if let d = derivatives?.baseAddress { d.update(repeating: 1, count: n) }
        default:
            for i in 0..<n { v[i] = S(value(Double(x[i]))) }
            if let d = derivatives?.baseAddress { for i in 0..<n { d[i] = S(derivative(Double(x[i]))) } }
        }
    }

    /// The recommended gain² for standard-parametrization initialization: He (2) for relu,
    /// LeCun (1) for the others.
    public var standardInitGainSquared: Double { self == .relu ? 2 : 1 }
}
