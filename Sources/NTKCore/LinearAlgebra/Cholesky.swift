/// A Cholesky factorization `A = L Lᵀ` of a symmetric positive definite matrix, for repeated solves.
public struct Cholesky<Scalar: BLASScalar>: Sendable {
    /// The factor in LAPACK's column-major lower storage.
    private let factor: Matrix<Scalar>

    /// Factors `matrix`; throws if it is not finite or not positive definite.
    public init(_ matrix: Matrix<Scalar>, name: String = "matrix") throws {
        precondition(matrix.rows == matrix.columns, "Cholesky needs a square matrix")
        guard matrix.isFinite else { throw LinearAlgebraError.nonFinite(what: name) }
        var a = matrix
        let n = a.rows
        let info = a.withUnsafeMutableBufferPointer { Scalar.potrf(n: n, a: $0.baseAddress!) }
        if info > 0 { throw LinearAlgebraError.notPositiveDefinite(order: Int(info)) }
        guard info == 0 else { throw LinearAlgebraError.lapackFailure(routine: "potrf", info: info) }
        factor = a
    }

    /// Solves `A x = b`.
    public func solve(_ b: [Scalar]) throws -> [Scalar] {
        precondition(b.count == factor.rows, "Cholesky.solve: right-hand side has \(b.count) entries, matrix is \(factor.rows)×\(factor.rows)")
        var x = b
        let n = factor.rows
        let info = factor.withUnsafeBufferPointer { pa in
            x.withUnsafeMutableBufferPointer { px in Scalar.potrs(n: n, nrhs: 1, a: pa.baseAddress!, b: px.baseAddress!) }
        }
        guard info == 0 else { throw LinearAlgebraError.lapackFailure(routine: "potrs", info: info) }
        return x
    }
}
