import Foundation

/// How weights enter a layer: the neural-tangent parametrization or the standard one.
public enum Parametrization: String, CaseIterable, Codable, Sendable {
    /// `h = σ_w W x/√n_in + β b`, every parameter drawn from N(0, 1) (Jacot et al.; neural-tangents' `'ntk'`).
    case ntk
    /// `h = W x + b`, `W ~ N(0, σ_w²/n_in)` (He for relu, LeCun otherwise), `b ~ N(0, β²)` (neural-tangents' `'standard'`).
    case standard
}

/// The shape of a fully connected network `n_0 → n_1 → … → n_L` and how it is parametrized.
///
/// Layers are numbered ℓ = 1…L as in DESIGN.md §1; `widths[ℓ]` is `n_ℓ`, `widths[0]` the input
/// dimension and `widths[L]` the number of outputs `k`. The activation follows every layer but the last.
public struct MLPArchitecture: Codable, Equatable, Sendable, CustomStringConvertible {
    /// `[n_0, n_1, …, n_L]`.
    public let widths: [Int]
    /// `σ` after each hidden layer.
    public let activation: Activation
    /// NTK or standard parametrization.
    public let parametrization: Parametrization
    /// `β`: the bias multiplier (NTK) or the bias initialization standard deviation (standard).
    public let biasScale: Double
    /// `σ_w`: the weight multiplier (NTK, default 1) or the weight gain (standard, default √2 for relu, 1 otherwise).
    public let weightScale: Double

    public init(widths: [Int], activation: Activation = .relu, parametrization: Parametrization = .ntk,
                biasScale: Double = 0.1, weightScale: Double? = nil) throws {
        guard widths.count >= 2 else {
            throw ModelError.invalidArchitecture("an MLP needs at least an input and an output width, got \(widths)")
        }
        guard widths.allSatisfy({ $0 > 0 }) else {
            throw ModelError.invalidArchitecture("widths must be positive, got \(widths)")
        }
        guard biasScale.isFinite, biasScale >= 0 else {
            throw ModelError.invalidArchitecture("bias scale β must be finite and ≥ 0, got \(biasScale)")
        }
        self.widths = widths
        self.activation = activation
        self.parametrization = parametrization
        self.biasScale = biasScale
        let defaultScale = parametrization == .ntk ? 1 : activation.standardInitGainSquared.squareRoot()
        self.weightScale = weightScale ?? defaultScale
        guard self.weightScale.isFinite, self.weightScale > 0 else {
            throw ModelError.invalidArchitecture("weight scale σ_w must be finite and > 0, got \(self.weightScale)")
        }
    }

    /// Parses widths written as `64-512-512-10` (also accepts commas or `x`).
    public static func parseWidths(_ spec: String) throws -> [Int] {
        let parts = spec.split(whereSeparator: { $0 == "-" || $0 == "," || $0 == "x" })
        let widths = parts.compactMap { Int($0.trimmingCharacters(in: .whitespaces)) }
        guard widths.count == parts.count, widths.count >= 2 else {
            throw ModelError.invalidArchitecture("cannot read widths from \"\(spec)\": expected e.g. 64-512-512-10")
        }
        return widths
    }

    /// Number of layers `L`.
    public var layerCount: Int { widths.count - 1 }
    /// Input dimension `n_0`.
    public var inputDimension: Int { widths[0] }
    /// Number of outputs `k`.
    public var outputCount: Int { widths[layerCount] }
    /// Number of parameters `P = Σ_ℓ n_ℓ (n_{ℓ−1} + 1)`.
    public var parameterCount: Int { (1...layerCount).reduce(0) { $0 + widths[$1] * (widths[$1 - 1] + 1) } }

    /// The factor in front of `W^ℓ x` for layer ℓ ∈ 1…L.
    public func weightMultiplier(layer: Int) -> Double {
        parametrization == .ntk ? weightScale / Double(widths[layer - 1]).squareRoot() : 1
    }
    /// The factor in front of `b^ℓ`.
    public func biasMultiplier(layer: Int) -> Double { parametrization == .ntk ? biasScale : 1 }
    /// Standard deviation of the initial `W^ℓ` entries.
    public func weightInitStd(layer: Int) -> Double {
        parametrization == .ntk ? 1 : weightScale / Double(widths[layer - 1]).squareRoot()
    }
    /// Standard deviation of the initial `b^ℓ` entries.
    public func biasInitStd(layer: Int) -> Double { parametrization == .ntk ? 1 : biasScale }

    public var description: String {
        "MLP \(widths.map(String.init).joined(separator: "-")) \(activation.rawValue), \(parametrization.rawValue) parametrization, β=\(biasScale), σ_w=\(weightScale)"
    }
}

/// Errors in describing or loading a model.
public enum ModelError: Error, CustomStringConvertible, Equatable {
    case invalidArchitecture(String)
    case shapeMismatch(String)
    case nonFiniteParameters(String)

    public var description: String {
        switch self {
        case .invalidArchitecture(let s): return "invalid architecture: \(s)"
        case .shapeMismatch(let s): return "shape mismatch: \(s)"
        case .nonFiniteParameters(let s): return "non-finite parameters: \(s)"
        }
    }
}
