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
        columnsAsRows = Self.expand(architecture: factored.architecture, layerInputs: factored.layerInputs, deltas: factored.deltas,
                                    samples: factored.sampleCount, outputs: factored.outputCount)
        outputs = factored.outputs
    }

    /// `Zᵀ` (mk × P) of an MLP from its factors: row `i·k + a`'s slice for layer ℓ is `s_w δ^ℓ_{i,a} ⊗ x^{ℓ−1}_{r(i)}`
    /// (a rank-1 GEMM) then `s_b δ^ℓ_{i,a}`, where `r(i)` is the row of `X^{ℓ−1}` sample i uses (`inputRow`, default i:
    /// a hypernetwork's samples share the meta-network's input rows). Memory-bound: it writes P numbers per row.
    static func expand(architecture arch: MLPArchitecture, layerInputs: [Matrix<Scalar>], deltas: [Matrix<Scalar>],
                       samples m: Int, outputs k: Int, inputRow: [Int]? = nil) -> Matrix<Scalar> {
        let P = arch.parameterCount
        var z = Matrix<Scalar>(rows: m * k, columns: P)
        var offset = 0
        z.withUnsafeMutableBufferPointer { pz in
            for l in 1...arch.layerCount {
                let nIn = arch.widths[l - 1], nOut = arch.widths[l]
                let sw = Scalar(arch.weightMultiplier(layer: l)), sb = Scalar(arch.biasMultiplier(layer: l))
                deltas[l - 1].withUnsafeBufferPointer { pd in
                    layerInputs[l - 1].withUnsafeBufferPointer { px in
                        for i in 0..<m {
                            let x = px.baseAddress! + (inputRow?[i] ?? i) * nIn
                            for a in 0..<k {
                                let row = pz.baseAddress! + (i * k + a) * P + offset
                                let d = pd.baseAddress! + (i * k + a) * nOut
                                Scalar.gemm(transA: false, transB: false, m: nOut, n: nIn, k: 1, alpha: sw, a: d, lda: 1,
                                            b: x, ldb: nIn, beta: 0, c: row, ldc: nIn)
                                if sb != 0 { Scalar.axpy(n: nOut, alpha: sb, x: d, y: row + nOut * nIn) }
                            }
                        }
                    }
                }
                offset += nOut * (nIn + 1)
            }
        }
        return z
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
