/// The shapes of a ReLU hypernetwork `h(u) = g(z; f(x; w))`, `u = (x, z)`, in the paper's parametrization.
///
/// Notation of papers/wide-hypernetworks.txt §2 (eqs. 5–7): the meta-network `f` has widths
/// `n_0 → n_1 → … → n_L` and the primary network `g` widths `m_0 → m_1 → … → m_H`. `f`'s output is
/// every weight of `g`, so `n_L = Σ_{l=1}^{H} m_l m_{l−1}` is not chosen but derived. The paper's `g`
/// is scalar (`m_H = 1`); `m_H = k > 1` is allowed here (each output row of `V^H` is one more output) and
/// its kernel is `Θ_h ⊗ I_k`, as for any NTK-parametrized network.
///
/// Both networks use the paper's scaling: `y^l = W^l q^{l−1}/√n_{l−1}`, `q^l = √2 ReLU(y^l)`, `q^0 = x`,
/// and `g^l = V^l a^{l−1}/√m_{l−1}`, `a^l = √2 ReLU(g^l)`, `a^0 = z`, with `W^l_{ij} ~ N(0, 1)`.
/// The paper's `f` has no biases; `metaBiasScale` β adds `β b^l` (b ~ N(0, 1)) to every layer of `f`
/// (β = 0, the default, is the paper's network; the bias entries of `w` then have zero gradient).
public struct HypernetworkArchitecture: Codable, Equatable, Sendable, CustomStringConvertible {
    /// `[n_0, n_1, …, n_{L−1}]`: `f`'s input dimension and hidden widths (its output width `n_L` is derived).
    public let metaWidths: [Int]
    /// `[m_0, m_1, …, m_H]`: `g`'s input dimension, hidden widths and number of outputs.
    public let primaryWidths: [Int]
    /// `β` of `f`'s layers (0: the paper's bias-free meta-network).
    public let metaBiasScale: Double

    public init(metaWidths: [Int], primaryWidths: [Int], metaBiasScale: Double = 0) throws {
        guard metaWidths.count >= 1, metaWidths.allSatisfy({ $0 > 0 }) else {
            throw ModelError.invalidArchitecture("meta-network widths [n_0, …, n_{L−1}] must be positive and name at least n_0, got \(metaWidths)")
        }
        guard primaryWidths.count >= 2, primaryWidths.allSatisfy({ $0 > 0 }) else {
            throw ModelError.invalidArchitecture("primary network widths [m_0, …, m_H] must be positive with H ≥ 1, got \(primaryWidths)")
        }
        guard metaBiasScale.isFinite, metaBiasScale >= 0 else {
            throw ModelError.invalidArchitecture("meta bias scale β must be finite and ≥ 0, got \(metaBiasScale)")
        }
        self.metaWidths = metaWidths
        self.primaryWidths = primaryWidths
        self.metaBiasScale = metaBiasScale
    }

    /// Depth `L` of the meta-network `f`.
    public var metaDepth: Int { metaWidths.count }
    /// Depth `H` of the primary network `g`.
    public var primaryDepth: Int { primaryWidths.count - 1 }
    /// `n_0`: the dimension of `x`.
    public var metaInputDimension: Int { metaWidths[0] }
    /// `m_0`: the dimension of `z`.
    public var primaryInputDimension: Int { primaryWidths[0] }
    /// `k = m_H`: the number of outputs of `h`.
    public var outputCount: Int { primaryWidths[primaryDepth] }

    /// `n_L = Σ_l m_l m_{l−1}`: the number of weights of `g`, i.e. `f`'s output width.
    public var primaryWeightCount: Int { (1...primaryDepth).reduce(0) { $0 + primaryWidths[$1] * primaryWidths[$1 - 1] } }

    /// Where `vec(V^l)` (row-major `m_l × m_{l−1}`) starts in `v = f(x)`, for l = 1…H.
    public func primaryWeightOffset(layer l: Int) -> Int {
        precondition(l >= 1 && l <= primaryDepth, "primary layer \(l) outside 1…\(primaryDepth)")
        return (1..<l).reduce(0) { $0 + primaryWidths[$1] * primaryWidths[$1 - 1] }
    }

    /// `f` as an `MLPArchitecture` (widths `[n_0, …, n_{L−1}, n_L]`, ReLU, NTK parametrization, β, σ_w = √2).
    ///
    /// `MLPArchitecture` has one weight multiplier `σ_w/√n_{l−1}` for every layer, while eq. 5 puts the √2
    /// on the activations (`q^l = √2 σ(y^l)`) and none on the input (`q^0 = x`). With σ_w = √2 the two agree
    /// from layer 2 on; the first layer agrees once `f` is fed `x/√2` (see `Hypernetwork.metaNetworkInput`):
    /// `√2 W^1 (x/√2)/√n_0 = W^1 x/√n_0`. The function of `(x, w)` and the law of `w` are exactly eq. 5's.
    public var metaArchitecture: MLPArchitecture {
        // Shapes and β were validated in init, so this cannot throw.
        try! MLPArchitecture(widths: metaWidths + [primaryWeightCount], activation: .relu, parametrization: .ntk,
                             biasScale: metaBiasScale, weightScale: 2.0.squareRoot())
    }

    /// `N`: the number of trainable parameters `w` (all of them in `f`).
    public var parameterCount: Int { metaArchitecture.parameterCount }

    public var description: String {
        let f = metaWidths.map(String.init).joined(separator: "-") + "-\(primaryWeightCount)"
        let g = primaryWidths.map(String.init).joined(separator: "-")
        return "hypernetwork f \(f) → g \(g), ReLU, paper parametrization (√2 scaling), β_f=\(metaBiasScale)"
    }
}
