/// The eigendecomposition `A = V diag(λ) Vᵀ` of a symmetric matrix, by LAPACK's divide and conquer (`?syevd`).
public struct SymmetricEigen<Scalar: BLASScalar>: Sendable {
    /// Eigenvalues in ascending order.
    public let values: [Scalar]
    /// The eigenvectors as rows: row `j` is the unit eigenvector of `values[j]` (this is `Vᵀ`).
    public let vectorRows: Matrix<Scalar>

    /// Decomposes a symmetric matrix; only its lower triangle (in column-major terms) is read.
    /// - Throws: `LinearAlgebraError.nonFinite` for NaN/∞ input (LAPACK would loop or return garbage).
    public init(_ matrix: Matrix<Scalar>, name: String = "matrix") throws {
        precondition(matrix.rows == matrix.columns, "SymmetricEigen needs a square matrix")
        guard matrix.isFinite else { throw LinearAlgebraError.nonFinite(what: name) }
        let n = matrix.rows
        var a = matrix
        var w = [Scalar](repeating: 0, count: n)
        if n > 0 {
            let info = a.withUnsafeMutableBufferPointer { pa in
                w.withUnsafeMutableBufferPointer { pw in Scalar.syevd(n: n, a: pa.baseAddress!, w: pw.baseAddress!) }
            }
            guard info == 0 else { throw LinearAlgebraError.lapackFailure(routine: "\(Scalar.dtypeName == "float32" ? "s" : "d")syevd", info: info) }
        }
        values = w
        vectorRows = a  // column-major eigenvectors read row-major
    }

    /// `V diag(g(λ)) Vᵀ x`: a spectral function applied to a vector, two GEMVs.
    public func apply(_ g: (Scalar) -> Scalar, to x: [Scalar]) -> [Scalar] {
        var c = vectorRows.times(x)              // Vᵀ x
        for j in c.indices { c[j] *= g(values[j]) }
        return vectorRows.times(c, transposed: true)  // V c
    }

    /// Reassembles `V diag(g(λ)) Vᵀ` as a matrix (tests and small problems).
    public func matrix(applying g: (Scalar) -> Scalar = { $0 }) -> Matrix<Scalar> {
        let n = values.count
        var scaled = vectorRows
        for j in 0..<n {
            let s = g(values[j])
            for i in 0..<n { scaled.elements[j * n + i] *= s }
        }
        return Matrix.product(vectorRows, scaled, transposeA: true)
    }
}
