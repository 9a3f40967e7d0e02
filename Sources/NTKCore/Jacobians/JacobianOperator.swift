/// A Jacobian block `Z` (`P × mk`) of a network on m samples, used only through products with it.
///
/// The closed-form dynamics need `Z v` (weight update), `Zᵀ w` (linearized outputs) and, on the dense
/// path, the Gram `ZᵀZ`; they never need `Z`'s storage. Factored blocks (`FactoredJacobian`), dense
/// blocks (`JacobianBlock`) and unions of workers' blocks (`JacobianUnion`) all provide these.
public protocol JacobianOperator<Scalar>: Sendable {
    associatedtype Scalar: BLASScalar
    /// P: the length of θ (rows of `Z`).
    var parameterCount: Int { get }
    /// Multiply–adds per exact Gram entry when the Gram is formed from this representation (Σ_ℓ n_ℓ for
    /// factored MLP blocks, P for dense ones): the solver plan's cost model.
    var gramDepth: Int { get }
    /// `u = f(X; θ)` at the linearization point, m × k.
    var outputs: Matrix<Scalar> { get }
    /// `Z v` for `v ∈ R^{mk}` (sample-major): a flat weight-space vector of P entries.
    func contract(_ v: [Scalar]) -> [Scalar]
    /// `Zᵀ w` for a flat weight-space vector (P entries): the linearized change of every output.
    func jvp(_ w: [Scalar]) -> [Scalar]
    /// The empirical NTK Gram of these samples.
    func gram(_ kind: KernelKind) -> Matrix<Scalar>
    /// The cross kernel with another block of the same network (rows: these samples).
    func crossGram(with other: any JacobianOperator<Scalar>, _ kind: KernelKind) -> Matrix<Scalar>
    /// The dense columns (for cross kernels between different representations, and for checks).
    func denseBlock() -> JacobianBlock<Scalar>
}

extension JacobianOperator {
    /// Number of samples m.
    public var sampleCount: Int { outputs.rows }
    /// Number of outputs k.
    public var outputCount: Int { outputs.columns }
    /// `mk`: the number of columns of `Z`.
    public var columnCount: Int { outputs.count }
}

extension FactoredJacobian: JacobianOperator {
    public var parameterCount: Int { architecture.parameterCount }
    public var gramDepth: Int { architecture.widths.dropFirst().reduce(0, +) }

    public func contract(_ v: [Scalar]) -> [Scalar] { contractByLayer(v).flattened }

    public func jvp(_ w: [Scalar]) -> [Scalar] { jvp(layers: MLPParameters(zerosFor: architecture).reshaping(w)) }

    public func crossGram(with other: any JacobianOperator<Scalar>, _ kind: KernelKind) -> Matrix<Scalar> {
        if let factored = other as? FactoredJacobian<Scalar> { return crossGram(with: factored, kind) }
        return denseBlock().crossGram(with: other, kind)
    }

    public func denseBlock() -> JacobianBlock<Scalar> { JacobianBlock(self) }
}

extension JacobianBlock: JacobianOperator {
    public var gramDepth: Int { parameterCount }

    public func contract(_ v: [Scalar]) -> [Scalar] { columnsAsRows.times(v, transposed: true) }

    public func jvp(_ w: [Scalar]) -> [Scalar] { columnsAsRows.times(w) }

    /// Exact: one SYRK over all P parameters. Averaged: `Zᵀ` viewed as m × (k·P), one SYRK, divided by k.
    public func gram(_ kind: KernelKind = .exact) -> Matrix<Scalar> {
        switch kind {
        case .exact: return columnsAsRows.rowGram()
        case .outputAveraged:
            let k = outputCount
            return Matrix(rows: sampleCount, columns: k * parameterCount, elements: columnsAsRows.elements)
                .rowGram(alpha: 1 / Scalar(k))
        }
    }

    public func crossGram(with other: any JacobianOperator<Scalar>, _ kind: KernelKind = .exact) -> Matrix<Scalar> {
        let theirs = (other as? JacobianBlock<Scalar>) ?? other.denseBlock()
        switch kind {
        case .exact: return Matrix.product(columnsAsRows, theirs.columnsAsRows, transposeB: true)
        case .outputAveraged:
            let k = outputCount, p = parameterCount
            let mine = Matrix(rows: sampleCount, columns: k * p, elements: columnsAsRows.elements)
            let other = Matrix(rows: theirs.sampleCount, columns: k * p, elements: theirs.columnsAsRows.elements)
            return Matrix.product(mine, other, transposeB: true, alpha: 1 / Scalar(k))
        }
    }

    public func denseBlock() -> JacobianBlock<Scalar> { self }
}
