import Foundation

/// `φ(τA) r` for many `τ` from one Krylov basis, where `A` is symmetric positive semidefinite and
/// only available as a product `v ↦ A v` — the exact NTK Gram without forming it.
///
/// Lanczos with full reorthogonalization builds `A Q_j = Q_j T_j + β_j q_{j+1} e_jᵀ`; then
/// `φ(τA) r ≈ ‖r‖ Q_j φ(τT_j) e_1`, with `φ(τT_j)` from the eigendecomposition of the small tridiagonal
/// `T_j`. A-posteriori error estimate per `τ` (relative to the approximation's norm): the larger of
/// Saad's `β_j |e_jᵀ φ(τT_j) e_1|` and the change since the previous iterate. Iteration stops when
/// every estimate is below the tolerance, when the Krylov space is invariant (`β_j ≈ 0`: exact), or at
/// the dimension of the space.
public struct LanczosSpectralFilter: Sendable {
    /// Relative tolerance on every `φ(τA) r`.
    public var tolerance: Double
    /// Upper bound on the Krylov dimension (defaults to the problem size).
    public var maxIterations: Int?
    /// Return the last iterate (with its error estimates) instead of throwing when `maxIterations` is reached.
    public var acceptsUnconverged = false
    /// Ritz directions with `θ − shift ≤ noiseFloor · (θ_max − shift)` are rounding noise of a null space
    /// (see `LinearizedDynamics.noiseFloor`) and get a zero coefficient; `shift` is the ridge part of `A`.
    public var noiseFloor: Double
    public var shift: Double

    public init(tolerance: Double = 1e-10, maxIterations: Int? = nil, noiseFloor: Double = 0, shift: Double = 0) {
        self.tolerance = tolerance
        self.maxIterations = maxIterations
        self.noiseFloor = noiseFloor
        self.shift = shift
    }

    /// What one run produced.
    public struct Result: Sendable {
        /// `φ(τ_i A) r` for each `τ_i`.
        public let vectors: [[Double]]
        /// Krylov dimension used.
        public let iterations: Int
        /// Final a-posteriori relative error estimate, per `τ`.
        public let errorEstimates: [Double]
        /// Ritz values (eigenvalue estimates of `A`), ascending.
        public let ritzValues: [Double]
        /// `r`'s spectral measure on the Ritz values (Gauss quadrature: the squared first components of the Ritz
        /// vectors, since the Krylov space starts from `r`); they sum to 1, the fraction of `‖r‖²` at each.
        public var ritzWeights: [Double] = []
    }

    /// Applies `φ(τ·)` for every `τ` in `scales` to `r`, with `A` given by `apply`.
    /// - Parameter phi: the spectral function `(μ, τ) ↦ φ`, e.g. `SpectralFilter.flow(_:etaT:)`.
    public func apply(_ apply: ([Double]) -> [Double], to r: [Double], scales: [Double],
                      phi: (Double, Double) -> Double) throws -> Result {
        let n = r.count
        let rNorm = norm(r)
        guard rNorm.isFinite else { throw DynamicsError.invalidArgument("right-hand side contains NaN or ∞") }
        if rNorm == 0 || n == 0 {
            return Result(vectors: scales.map { _ in [Double](repeating: 0, count: n) }, iterations: 0,
                          errorEstimates: scales.map { _ in 0 }, ritzValues: [])
        }
        let limit = min(maxIterations ?? n, n)
        // The Krylov basis Q, one vector per row of a growing row-major buffer (BLAS operates on it in place).
        var basis = r.map { $0 / rNorm }
        var basisCount = 1
        /// `Q w` (one coefficient per basis vector) and `w − Qᵀc`, by GEMV on the basis buffer without copying it.
        func project(_ w: inout [Double]) {
            var c = [Double](repeating: 0, count: basisCount)
            basis.withUnsafeBufferPointer { q in
                w.withUnsafeMutableBufferPointer { pw in
                    c.withUnsafeMutableBufferPointer { pc in
                        Double.gemv(trans: false, m: basisCount, n: n, alpha: 1, a: q.baseAddress!, lda: n,
                                    x: pw.baseAddress!, incx: 1, beta: 0, y: pc.baseAddress!, incy: 1)
                        Double.gemv(trans: true, m: basisCount, n: n, alpha: -1, a: q.baseAddress!, lda: n,
                                    x: pc.baseAddress!, incx: 1, beta: 1, y: pw.baseAddress!, incy: 1)
                    }
                }
            }
        }
        var alphas: [Double] = [], betas: [Double] = []
        var previous: [[Double]]? = nil
        var estimates = scales.map { _ in Double.infinity }
        var small: (coefficients: [[Double]], ritz: [Double], weights: [Double]) = ([], [], [])
        // The tridiagonal problem costs O(dim³): solved at every step it would make a slow convergence O(dim⁴).
        // It is solved at every step early on, then every ~dim/16 steps (geometric: O(dim³) in all).
        var nextCheck = 0
        while true {
            let j = basisCount - 1
            let q = Array(basis[(j * n)..<((j + 1) * n)])
            var w = apply(q)
            guard w.count == n, w.allSatisfy({ $0.isFinite }) else { throw DynamicsError.nonFiniteKernel }
            let alpha = dot(q, w)
            alphas.append(alpha)
            // Full reorthogonalization by classical Gram–Schmidt, twice ("twice is enough"): Krylov vectors
            // lose orthogonality exactly when Ritz values converge, which is when φ(τA) needs them most.
            project(&w)
            project(&w)
            let beta = norm(w)
            let dim = alphas.count
            let invariant = beta <= 1e-14 * max(abs(alpha), 1) * Double(n)
            guard dim <= 24 || dim >= nextCheck || invariant || dim >= limit else {
                betas.append(beta)
                basis.append(contentsOf: w.lazy.map { $0 / beta })
                basisCount += 1
                continue
            }
            nextCheck = dim + max(1, dim / 16)
            small = try smallProblem(alphas: alphas, betas: betas, scales: scales, phi: phi)
            for (s, y) in small.coefficients.enumerated() {
                let yNorm = max(norm(y), .leastNormalMagnitude)
                let saad = beta * abs(y[dim - 1]) / yNorm
                var change = saad
                if let prev = previous?[s] {
                    var d = 0.0
                    for i in 0..<dim { let e = y[i] - (i < prev.count ? prev[i] : 0); d += e * e }
                    change = d.squareRoot() / yNorm
                }
                estimates[s] = max(saad, change)
            }
            previous = small.coefficients
            if invariant { estimates = estimates.map { _ in 0 } }
            if invariant || dim >= limit || estimates.allSatisfy({ $0 <= tolerance }) { break }
            betas.append(beta)
            basis.append(contentsOf: w.lazy.map { $0 / beta })
            basisCount += 1
        }
        let dim = alphas.count
        let q = Matrix(rows: basisCount, columns: n, elements: basis)
        let vectors = small.coefficients.map { y in q.times(y.map { rNorm * $0 }, transposed: true) }
        if !acceptsUnconverged, dim >= limit, dim < n, !estimates.allSatisfy({ $0 <= tolerance }) {
            throw DynamicsError.notConverged("Lanczos reached \(dim) iterations with error estimate \(estimates.max() ?? .nan) > \(tolerance)")
        }
        return Result(vectors: vectors, iterations: dim, errorEstimates: estimates, ritzValues: small.ritz, ritzWeights: small.weights)
    }

    /// `φ(τ T_j) e_1` for each τ, from the eigendecomposition of the tridiagonal `T_j`.
    private func smallProblem(alphas: [Double], betas: [Double], scales: [Double],
                              phi: (Double, Double) -> Double) throws -> (coefficients: [[Double]], ritz: [Double], weights: [Double]) {
        let d = alphas.count
        var t = Matrix<Double>(rows: d, columns: d)
        for i in 0..<d { t[i, i] = alphas[i] }
        for i in 0..<(d - 1) { t[i, i + 1] = betas[i]; t[i + 1, i] = betas[i] }
        let eigen = try SymmetricEigen(t, name: "Lanczos tridiagonal")
        let ritz = eigen.values.map { max($0, 0) }
        let firstComponents = (0..<d).map { eigen.vectorRows[$0, 0] }   // Sᵀ e_1
        let top = (ritz.last ?? 0) - shift
        let coefficients = scales.map { tau -> [Double] in
            var c = firstComponents
            for j in 0..<d { c[j] *= ritz[j] - shift <= noiseFloor * top ? 0 : phi(ritz[j], tau) }
            return eigen.vectorRows.times(c, transposed: true)
        }
        return (coefficients, ritz, firstComponents.map { $0 * $0 })
    }
}
