/// Gauss–Hermite quadrature for expectations over a standard normal variable:
/// `E[g(z)] ≈ Σ_p w_p g(z_p)`, `z ~ N(0, 1)` (probabilists' weight `e^{−z²/2}/√(2π)`).
///
/// Nodes and weights by Golub–Welsch: the eigenvalues of the symmetric tridiagonal Jacobi matrix with
/// off-diagonal `√j` are the nodes, the squared first components of its eigenvectors the weights.
public struct GaussHermite: Sendable {
    /// Quadrature nodes.
    public let nodes: [Double]
    /// Weights, summing to 1.
    public let weights: [Double]

    /// A rule with `degree` points, exact for polynomials of degree up to `2·degree − 1`.
    public init(degree: Int) {
        precondition(degree >= 1)
        var jacobi = Matrix<Double>(rows: degree, columns: degree)
        for j in 1..<degree {
            let off = Double(j).squareRoot()
            jacobi[j - 1, j] = off
            jacobi[j, j - 1] = off
        }
        // A symmetric, finite matrix: the decomposition cannot fail.
        let eigen = try! SymmetricEigen(jacobi, name: "Jacobi matrix")
        nodes = eigen.values
        let raw = (0..<degree).map { eigen.vectorRows[$0, 0] * eigen.vectorRows[$0, 0] }
        let total = raw.reduce(0, +)
        weights = raw.map { $0 / total }
    }

    /// `E[g(a) h(b)]` for a centred Gaussian pair with covariance `[[k11, k12], [k12, k22]]`,
    /// by a tensor-product rule on `a = √k11 z₁`, `b = ρ√k22 z₁ + √(1−ρ²)√k22 z₂`.
    public func expectation(k11: Double, k12: Double, k22: Double,
                            _ g: (Double) -> Double, _ h: (Double) -> Double) -> Double {
        let s1 = k11.squareRoot(), s2 = k22.squareRoot()
        let rho = (s1 > 0 && s2 > 0) ? max(-1, min(1, k12 / (s1 * s2))) : 0
        let c = (1 - rho * rho).squareRoot()
        var total = 0.0
        for (z1, w1) in zip(nodes, weights) {
            let ga = g(s1 * z1)
            if ga == 0 { continue }
            var inner = 0.0
            for (z2, w2) in zip(nodes, weights) { inner += w2 * h(s2 * (rho * z1 + c * z2)) }
            total += w1 * ga * inner
        }
        return total
    }
}
