/// What can go wrong in a factorization, said so a user can act on it.
public enum LinearAlgebraError: Error, CustomStringConvertible, Equatable {
    /// A matrix that must be finite holds NaN or ±∞.
    case nonFinite(what: String)
    /// LAPACK returned a non-zero `info`.
    case lapackFailure(routine: String, info: Int32)
    /// A Cholesky factorization met a non-positive pivot.
    case notPositiveDefinite(order: Int)
    /// Operands whose shapes do not fit together.
    case shapeMismatch(String)

    public var description: String {
        switch self {
        case .nonFinite(let what): return "\(what) contains NaN or infinite values"
        case .lapackFailure(let routine, let info): return "LAPACK \(routine) failed (info = \(info))"
        case .notPositiveDefinite(let order):
            return "matrix is not positive definite (leading minor of order \(order) is not positive); add a ridge"
        case .shapeMismatch(let s): return "shape mismatch: \(s)"
        }
    }
}
