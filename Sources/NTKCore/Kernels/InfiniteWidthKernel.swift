import Foundation

/// The infinite-width NNGP and NTK of an MLP in NTK parametrization with bias scale β.
///
/// Recursion of Jacot et al. (papers/hessian-spectrum-via-ntk.txt §2; DESIGN.md §1), for weight
/// multiplier σ_w:
///   `Σ^{(1)}(x, x′) = σ_w² xᵀx′/n_0 + β²`,
///   `Σ^{(ℓ+1)} = σ_w² E[σ(a)σ(a′)] + β²`, `Σ̇^{(ℓ+1)} = σ_w² E[σ′(a)σ′(a′)]`, `(a, a′) ~ N(0, Σ^{(ℓ)})`,
///   `Θ^{(1)} = Σ^{(1)}`, `Θ^{(ℓ+1)} = Θ^{(ℓ)} Σ̇^{(ℓ+1)} + Σ^{(ℓ+1)}`.
/// For relu (arc-cosine kernel) and erf (arcsine kernel) the expectations are closed forms; identity is
/// exact; tanh, gelu and any other activation use 2-D Gauss–Hermite quadrature.
/// Every output has the same kernel: the full limit is `Θ ⊗ I_k`.
public struct InfiniteWidthKernel: Sendable {
    /// Number of hidden layers `L − 1`.
    public let hiddenLayers: Int
    /// `σ`.
    public let activation: Activation
    /// `β`.
    public let biasScale: Double
    /// `σ_w`.
    public let weightScale: Double
    /// Points per dimension of the quadrature rule (activations without a closed form).
    public let quadratureDegree: Int
    private let rule: GaussHermite?

    public init(hiddenLayers: Int, activation: Activation, biasScale: Double, weightScale: Double = 1,
                quadratureDegree: Int = 96) {
        self.hiddenLayers = hiddenLayers
        self.activation = activation
        self.biasScale = biasScale
        self.weightScale = weightScale
        self.quadratureDegree = quadratureDegree
        switch activation {
        case .relu, .erf, .identity: rule = nil
        default: rule = GaussHermite(degree: quadratureDegree)
        }
    }

    /// The limit of an architecture (which must be in NTK parametrization: the standard one has no finite limit).
    public init(_ architecture: MLPArchitecture, quadratureDegree: Int = 96) throws {
        guard architecture.parametrization == .ntk else {
            throw ModelError.invalidArchitecture("the infinite-width NTK exists for the NTK parametrization only")
        }
        self.init(hiddenLayers: architecture.layerCount - 1, activation: architecture.activation,
                  biasScale: architecture.biasScale, weightScale: architecture.weightScale,
                  quadratureDegree: quadratureDegree)
    }

    /// NNGP `Σ^{(L)}` and NTK `Θ^{(L)}` between the rows of `x1` (m1 × d) and `x2` (m2 × d; `nil`: `x1` itself).
    public func kernels(_ x1: Matrix<Double>, _ x2: Matrix<Double>? = nil) -> (nngp: Matrix<Double>, ntk: Matrix<Double>) {
        let other = x2 ?? x1
        precondition(x1.columns == other.columns, "inputs must have the same dimension")
        let d = Double(x1.columns)
        let sw2 = weightScale * weightScale, b2 = biasScale * biasScale
        let cross = Matrix.product(x1, other, transposeB: true)
        let norms1 = (0..<x1.rows).map { dot(x1.row($0), x1.row($0)) }
        let norms2 = x2 == nil ? norms1 : (0..<other.rows).map { dot(other.row($0), other.row($0)) }
        // Diagonal variances Σ^{(ℓ)}(x, x) per input, computed once per input rather than once per pair.
        let chain1 = norms1.map { varianceChain(sw2 * $0 / d + b2) }
        let chain2 = x2 == nil ? chain1 : norms2.map { varianceChain(sw2 * $0 / d + b2) }
        var nngp = Matrix<Double>(rows: x1.rows, columns: other.rows)
        var ntk = nngp
        for i in 0..<x1.rows {
            for j in 0..<other.rows {
                var k12 = sw2 * cross[i, j] / d + b2
                var theta = k12
                for l in 0..<hiddenLayers {
                    let (e12, eDot12) = expectations(chain1[i][l], k12, chain2[j][l])
                    k12 = sw2 * e12 + b2
                    theta = theta * sw2 * eDot12 + k12
                }
                nngp[i, j] = k12
                ntk[i, j] = theta
            }
        }
        return (nngp, ntk)
    }

    /// `[Σ^{(1)}(x,x), …, Σ^{(L)}(x,x)]` from the first-layer variance.
    private func varianceChain(_ first: Double) -> [Double] {
        var chain = [first]
        for _ in 0..<hiddenLayers {
            let v = chain.last!
            chain.append(weightScale * weightScale * expectations(v, v, v).value + biasScale * biasScale)
        }
        return chain
    }

    /// `(E[σ(a)σ(b)], E[σ′(a)σ′(b)])` for `(a, b) ~ N(0, [[k11, k12], [k12, k22]])`.
    func expectations(_ k11: Double, _ k12: Double, _ k22: Double) -> (value: Double, derivative: Double) {
        switch activation {
        case .identity:
            return (k12, 1)
        case .relu:
            let s = (k11 * k22).squareRoot()
            guard s > 0 else { return (0, 0.25) }
            let c = max(-1, min(1, k12 / s))
            let angle = Foundation.acos(c)
            let value = s / (2 * .pi) * (Foundation.sin(angle) + (.pi - angle) * c)
            return (value, (.pi - angle) / (2 * .pi))
        case .erf:
            let p = (1 + 2 * k11) * (1 + 2 * k22)
            let value = 2 / Double.pi * Foundation.asin(max(-1, min(1, 2 * k12 / p.squareRoot())))
            let derivative = 4 / Double.pi / (p - 4 * k12 * k12).squareRoot()
            return (value, derivative)
        default:
            let rule = self.rule!
            let act = activation
            return (rule.expectation(k11: k11, k12: k12, k22: k22, act.value, act.value),
                    rule.expectation(k11: k11, k12: k12, k22: k22, act.derivative, act.derivative))
        }
    }
}
