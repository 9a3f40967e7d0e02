/// The dense Jacobian block `Z ∈ R^{P × mk}` of m samples, stored column by column.
///
/// Column `(i, a)` (`∂_θ f_a(x_i)`, P entries in the network's flat parameter order, for an MLP that of
/// `MLPParameters.flattened`) is row
/// `i·k + a` of `columnsAsRows` (so the storage is `Zᵀ` row-major, i.e. `Z` column-major). This is the
/// reference the factored path is tested against and the form for layers without Kronecker structure.
public struct JacobianBlock<Scalar: BLASScalar>: Sendable {
    /// `Zᵀ`: mk rows of P entries.
    public let columnsAsRows: Matrix<Scalar>
    /// `u = f(X; θ)`, m × k.
    public let outputs: Matrix<Scalar>

    /// Number of parameters P.
    public var parameterCount: Int { columnsAsRows.columns }

    /// Expands the factors into dense columns: `s_w δ^ℓ_{i,a} ⊗ x^{ℓ−1}_i` and `s_b δ^ℓ_{i,a}` per layer.
    public init(_ factored: FactoredJacobian<Scalar>) {
        let arch = factored.architecture
        let m = factored.sampleCount, k = factored.outputCount
        let P = arch.parameterCount
        var z = Matrix<Scalar>(rows: m * k, columns: P)
        var offset = 0
        z.withUnsafeMutableBufferPointer { pz in
            for l in 1...arch.layerCount {
                let nIn = arch.widths[l - 1], nOut = arch.widths[l]
                let sw = Scalar(arch.weightMultiplier(layer: l)), sb = Scalar(arch.biasMultiplier(layer: l))
                factored.deltas[l - 1].withUnsafeBufferPointer { pd in
                    factored.layerInputs[l - 1].withUnsafeBufferPointer { px in
                        for i in 0..<m {
                            let x = px.baseAddress! + i * nIn
                            for a in 0..<k {
                                let row = pz.baseAddress! + (i * k + a) * P + offset
                                let d = pd.baseAddress! + (i * k + a) * nOut
                                for r in 0..<nOut {
                                    let c = sw * d[r]
                                    for s in 0..<nIn { row[r * nIn + s] = c * x[s] }
                                }
                                for r in 0..<nOut { row[nOut * nIn + r] = sb * d[r] }
                            }
                        }
                    }
                }
                offset += nOut * (nIn + 1)
            }
        }
        columnsAsRows = z
        outputs = factored.outputs
    }

    /// A dense block received as is (`Zᵀ`, mk × P) of a network with `parameterCount` parameters and
    /// `outputCount` outputs; shapes are checked.
    public init(parameterCount: Int, outputCount: Int, columnsAsRows: Matrix<Scalar>, outputs: Matrix<Scalar>) throws {
        guard columnsAsRows.rows == outputs.count, columnsAsRows.columns == parameterCount, outputs.columns == outputCount else {
            throw ModelError.shapeMismatch("dense block is \(columnsAsRows.rows)×\(columnsAsRows.columns) with outputs \(outputs.rows)×\(outputs.columns); expected (m·\(outputCount))×\(parameterCount)")
        }
        self.columnsAsRows = columnsAsRows
        self.outputs = outputs
    }
}
