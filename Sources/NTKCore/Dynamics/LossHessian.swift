import Foundation

/// The Hessian of the mean square loss split as `∇²L = I + S` (Jacot, Gabriel & Hongler 2019, §3;
/// `papers/hessian-spectrum-via-ntk.txt`), formed explicitly for networks small enough for a `P × P` matrix.
///
/// Loss: `L(θ) = C(Y(θ)) = (1/2N) Σ_i ‖f(x_i; θ) − y_i‖²`, N samples (the paper's MSE, and the server's loss
/// with m = N). Its derivatives: `∇C = r/N` with `r = f − y` (all N·k outputs), `∇²C = Id/N`, so
///   `∇L = Z r / N`, `I = Z Zᵀ / N` (Gauss–Newton), `S = Σ_{i,a} r_{ia} ∇²_θ f_a(x_i) / N`,
/// with `Z` the `P × Nk` Jacobian (DESIGN.md §1). `I`'s non-zero eigenvalues are those of the Gram `H = ZᵀZ`
/// divided by N. `S` is not formed from second derivatives of `f`: the whole Hessian is taken by central
/// differences of the exact gradient, and `S = ∇²L − I`, so `S` carries everything the Gauss–Newton
/// approximation leaves out.
public struct LossHessian: Sendable {
    /// N: samples the loss averages over.
    public let sampleCount: Int
    /// `∇L` at θ (P entries, `MLPParameters.flattened` order).
    public let gradient: [Double]
    /// `∇²L` by central differences of `∇L`, symmetrized (P × P).
    public let hessian: Matrix<Double>
    /// `‖A − Aᵀ‖_F / ‖A‖_F` of the difference quotient before symmetrizing: its consistency check.
    public let asymmetry: Double
    /// `I = Z Zᵀ / N` (P × P).
    public let gaussNewton: Matrix<Double>
    /// The Gram `H = ZᵀZ` (Nk × Nk, sample-major), whose eigenvalues over N are `I`'s non-zero ones.
    public let gram: Matrix<Double>

    /// `S = ∇²L − I`: the part that vanishes with the residual (and, in operator norm, with width).
    public var residualPart: Matrix<Double> {
        var s = hessian
        s.add(gaussNewton, scaledBy: -1)
        return s
    }

    /// Forms everything at `network`'s parameters; `step` is the central difference's `h` per coordinate.
    ///
    /// Cost: `2P` exact gradients (one batched backward pass each) and `P²` doubles; meant for `P` in the
    /// low thousands. The error of the differences is `O(h²)` truncation plus `O(ε/h)` rounding; `1e-5` balances them
    /// for Float64 networks whose Hessian entries are of order one.
    public init(network: MLP<Double>, inputs: Matrix<Double>, targets: Matrix<Double>, step: Double = 1e-5) throws {
        let arch = network.architecture
        guard targets.rows == inputs.rows, targets.columns == arch.outputCount else {
            throw ModelError.shapeMismatch("targets are \(targets.rows)×\(targets.columns), expected \(inputs.rows)×\(arch.outputCount)")
        }
        let n = inputs.rows
        let z = try FactoredJacobian(network: network, inputs: inputs)
        let block = JacobianBlock(z)
        sampleCount = n
        gradient = try Self.gradient(network: network, inputs: inputs, targets: targets)
        gram = block.gram(.exact)
        // Zᵀ is stored as rows, so Z Zᵀ is the Gram of Zᵀ's columns: one GEMM with the first operand transposed.
        gaussNewton = Matrix.product(block.columnsAsRows, block.columnsAsRows, transposeA: true, alpha: 1 / Double(n))

        let theta = network.parameters.flattened
        let p = theta.count
        var quotient = Matrix<Double>(rows: p, columns: p)
        for q in 0..<p {
            var plus = theta, minus = theta
            plus[q] += step
            minus[q] -= step
            let gp = try Self.gradient(network: MLP(architecture: arch, parameters: network.parameters.reshaping(plus)), inputs: inputs, targets: targets)
            let gm = try Self.gradient(network: MLP(architecture: arch, parameters: network.parameters.reshaping(minus)), inputs: inputs, targets: targets)
            // Column q is ∂_q ∇L.
            for r in 0..<p { quotient[r, q] = (gp[r] - gm[r]) / (2 * step) }
        }
        let transposed = quotient.transposed
        asymmetry = quotient.relativeDistance(to: transposed)
        var symmetric = quotient
        symmetric.add(transposed)
        for i in symmetric.elements.indices { symmetric.elements[i] *= 0.5 }
        hessian = symmetric
    }

    /// `∇L = Z (f − y) / N`, through the exact Jacobian's dense columns (P × Nk is small wherever this type is).
    public static func gradient(network: MLP<Double>, inputs: Matrix<Double>, targets: Matrix<Double>) throws -> [Double] {
        let z = JacobianBlock(try FactoredJacobian(network: network, inputs: inputs))
        let residual = zip(z.outputs.elements, targets.elements).map { ($0 - $1) / Double(inputs.rows) }
        return z.columnsAsRows.times(residual, transposed: true)
    }
}
