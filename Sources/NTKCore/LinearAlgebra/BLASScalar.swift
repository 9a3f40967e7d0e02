import CLinearAlgebra

/// A floating-point type that OpenBLAS and LAPACKE handle natively (`Float` or `Double`).
///
/// Every routine takes row-major operands (`CblasRowMajor`) with explicit leading dimensions,
/// so sub-blocks of larger buffers can be passed without copying.
public protocol BLASScalar: BinaryFloatingPoint & ElementwiseKernels & Sendable & Codable where Self.RawSignificand: FixedWidthInteger {
    /// `C ← α op(A) op(B) + β C`, row-major.
    static func gemm(transA: Bool, transB: Bool, m: Int, n: Int, k: Int, alpha: Self,
                     a: UnsafePointer<Self>, lda: Int, b: UnsafePointer<Self>, ldb: Int,
                     beta: Self, c: UnsafeMutablePointer<Self>, ldc: Int)
    /// `C ← α A Aᵀ + β C` (or `Aᵀ A` when `trans`), upper triangle of row-major `C` (n × n).
    static func syrk(trans: Bool, n: Int, k: Int, alpha: Self, a: UnsafePointer<Self>, lda: Int,
                     beta: Self, c: UnsafeMutablePointer<Self>, ldc: Int)
    /// `y ← α op(A) x + β y`, row-major `A` (m × n).
    static func gemv(trans: Bool, m: Int, n: Int, alpha: Self, a: UnsafePointer<Self>, lda: Int,
                     x: UnsafePointer<Self>, incx: Int, beta: Self, y: UnsafeMutablePointer<Self>, incy: Int)
    /// `y ← α x + y`.
    static func axpy(n: Int, alpha: Self, x: UnsafePointer<Self>, y: UnsafeMutablePointer<Self>)
    /// `xᵀ y`.
    static func dot(n: Int, x: UnsafePointer<Self>, incx: Int, y: UnsafePointer<Self>, incy: Int) -> Self
    /// `x ← α x`.
    static func scal(n: Int, alpha: Self, x: UnsafeMutablePointer<Self>)
    /// `B ← A` or `B ← Aᵀ` (`transpose`), `A` rows × columns, both row-major with leading dimensions
    /// (OpenBLAS' `omatcopy`: a blocked copy, not an element loop in Swift).
    static func copyMatrix(transpose: Bool, rows: Int, columns: Int, a: UnsafePointer<Self>, lda: Int,
                           b: UnsafeMutablePointer<Self>, ldb: Int)
    /// Eigenvalues (ascending) and eigenvectors of a symmetric n × n matrix, divide and conquer.
    /// `a` (column-major = row-major, it is symmetric) is overwritten by the eigenvectors, one per
    /// column in column-major order, i.e. one per *row* when read row-major. Returns the LAPACK info.
    static func syevd(n: Int, a: UnsafeMutablePointer<Self>, w: UnsafeMutablePointer<Self>) -> Int32
    /// Cholesky factorization of a symmetric positive definite matrix (lower triangle in
    /// column-major order). Returns the LAPACK info.
    static func potrf(n: Int, a: UnsafeMutablePointer<Self>) -> Int32
    /// Solves `A X = B` from the `potrf` factor; `b` is column-major n × nrhs.
    static func potrs(n: Int, nrhs: Int, a: UnsafePointer<Self>, b: UnsafeMutablePointer<Self>) -> Int32
    /// Name used in logs and file headers ("float32", "float64").
    static var dtypeName: String { get }
    /// `count` copies of `value` (specialized: generic array filling runs element by element).
    static func filled(_ value: Self, count: Int) -> [Self]
    /// `σ(h)` and `σ′(h)` over a buffer (see `Activation.apply`).
    static func activate(_ activation: Activation, _ h: UnsafeBufferPointer<Self>, values: UnsafeMutableBufferPointer<Self>,
                         derivatives: UnsafeMutableBufferPointer<Self>?)
}

@inline(__always) private func op(_ t: Bool) -> CBLAS_TRANSPOSE { t ? CblasTrans : CblasNoTrans }

extension Double: BLASScalar {
    public static func gemm(transA: Bool, transB: Bool, m: Int, n: Int, k: Int, alpha: Double,
                            a: UnsafePointer<Double>, lda: Int, b: UnsafePointer<Double>, ldb: Int,
                            beta: Double, c: UnsafeMutablePointer<Double>, ldc: Int) {
        cblas_dgemm(CblasRowMajor, op(transA), op(transB), Int32(m), Int32(n), Int32(k), alpha,
                    a, Int32(lda), b, Int32(ldb), beta, c, Int32(ldc))
    }
    public static func syrk(trans: Bool, n: Int, k: Int, alpha: Double, a: UnsafePointer<Double>, lda: Int,
                            beta: Double, c: UnsafeMutablePointer<Double>, ldc: Int) {
        cblas_dsyrk(CblasRowMajor, CblasUpper, op(trans), Int32(n), Int32(k), alpha, a, Int32(lda), beta, c, Int32(ldc))
    }
    public static func gemv(trans: Bool, m: Int, n: Int, alpha: Double, a: UnsafePointer<Double>, lda: Int,
                            x: UnsafePointer<Double>, incx: Int, beta: Double, y: UnsafeMutablePointer<Double>, incy: Int) {
        cblas_dgemv(CblasRowMajor, op(trans), Int32(m), Int32(n), alpha, a, Int32(lda), x, Int32(incx), beta, y, Int32(incy))
    }
    public static func axpy(n: Int, alpha: Double, x: UnsafePointer<Double>, y: UnsafeMutablePointer<Double>) {
        cblas_daxpy(Int32(n), alpha, x, 1, y, 1)
    }
    public static func dot(n: Int, x: UnsafePointer<Double>, incx: Int, y: UnsafePointer<Double>, incy: Int) -> Double {
        cblas_ddot(Int32(n), x, Int32(incx), y, Int32(incy))
    }
    public static func scal(n: Int, alpha: Double, x: UnsafeMutablePointer<Double>) {
        cblas_dscal(Int32(n), alpha, x, 1)
    }
    public static func copyMatrix(transpose: Bool, rows: Int, columns: Int, a: UnsafePointer<Double>, lda: Int,
                                  b: UnsafeMutablePointer<Double>, ldb: Int) {
        cblas_domatcopy(CblasRowMajor, op(transpose), Int32(rows), Int32(columns), 1, a, Int32(lda), b, Int32(ldb))
    }
    public static func syevd(n: Int, a: UnsafeMutablePointer<Double>, w: UnsafeMutablePointer<Double>) -> Int32 {
        LAPACKE_dsyevd(LAPACK_COL_MAJOR, CChar(UInt8(ascii: "V")), CChar(UInt8(ascii: "L")), Int32(n), a, Int32(n), w)
    }
    public static func potrf(n: Int, a: UnsafeMutablePointer<Double>) -> Int32 {
        LAPACKE_dpotrf(LAPACK_COL_MAJOR, CChar(UInt8(ascii: "L")), Int32(n), a, Int32(n))
    }
    public static func potrs(n: Int, nrhs: Int, a: UnsafePointer<Double>, b: UnsafeMutablePointer<Double>) -> Int32 {
        LAPACKE_dpotrs(LAPACK_COL_MAJOR, CChar(UInt8(ascii: "L")), Int32(n), Int32(nrhs), a, Int32(n), b, Int32(n))
    }
    public static var dtypeName: String { "float64" }
    public static func filled(_ value: Double, count: Int) -> [Double] { [Double](repeating: value, count: count) }
    public static func activate(_ activation: Activation, _ h: UnsafeBufferPointer<Double>, values: UnsafeMutableBufferPointer<Double>,
                                derivatives: UnsafeMutableBufferPointer<Double>?) {
        activation.apply(h, values: values, derivatives: derivatives)
    }
}

extension Float: BLASScalar {
    public static func gemm(transA: Bool, transB: Bool, m: Int, n: Int, k: Int, alpha: Float,
                            a: UnsafePointer<Float>, lda: Int, b: UnsafePointer<Float>, ldb: Int,
                            beta: Float, c: UnsafeMutablePointer<Float>, ldc: Int) {
        cblas_sgemm(CblasRowMajor, op(transA), op(transB), Int32(m), Int32(n), Int32(k), alpha,
                    a, Int32(lda), b, Int32(ldb), beta, c, Int32(ldc))
    }
    public static func syrk(trans: Bool, n: Int, k: Int, alpha: Float, a: UnsafePointer<Float>, lda: Int,
                            beta: Float, c: UnsafeMutablePointer<Float>, ldc: Int) {
        cblas_ssyrk(CblasRowMajor, CblasUpper, op(trans), Int32(n), Int32(k), alpha, a, Int32(lda), beta, c, Int32(ldc))
    }
    public static func gemv(trans: Bool, m: Int, n: Int, alpha: Float, a: UnsafePointer<Float>, lda: Int,
                            x: UnsafePointer<Float>, incx: Int, beta: Float, y: UnsafeMutablePointer<Float>, incy: Int) {
        cblas_sgemv(CblasRowMajor, op(trans), Int32(m), Int32(n), alpha, a, Int32(lda), x, Int32(incx), beta, y, Int32(incy))
    }
    public static func axpy(n: Int, alpha: Float, x: UnsafePointer<Float>, y: UnsafeMutablePointer<Float>) {
        cblas_saxpy(Int32(n), alpha, x, 1, y, 1)
    }
    public static func dot(n: Int, x: UnsafePointer<Float>, incx: Int, y: UnsafePointer<Float>, incy: Int) -> Float {
        cblas_sdot(Int32(n), x, Int32(incx), y, Int32(incy))
    }
    public static func scal(n: Int, alpha: Float, x: UnsafeMutablePointer<Float>) {
        cblas_sscal(Int32(n), alpha, x, 1)
    }
    public static func copyMatrix(transpose: Bool, rows: Int, columns: Int, a: UnsafePointer<Float>, lda: Int,
                                  b: UnsafeMutablePointer<Float>, ldb: Int) {
        cblas_somatcopy(CblasRowMajor, op(transpose), Int32(rows), Int32(columns), 1, a, Int32(lda), b, Int32(ldb))
    }
    /// `LAPACKE_ssyevd` under-sizes its workspace for n ≳ 2900 in LAPACKE 3.11 (DESIGN.md §4),
    /// so the workspace is sized here from the documented formula and passed to the `_work` variant.
    public static func syevd(n: Int, a: UnsafeMutablePointer<Float>, w: UnsafeMutablePointer<Float>) -> Int32 {
        let lwork = 1 + 6 * n + 2 * n * n
        let liwork = 3 + 5 * n
        let work = UnsafeMutablePointer<Float>.allocate(capacity: max(lwork, 1))
        let iwork = UnsafeMutablePointer<Int32>.allocate(capacity: max(liwork, 1))
        defer { work.deallocate(); iwork.deallocate() }
        return LAPACKE_ssyevd_work(LAPACK_COL_MAJOR, CChar(UInt8(ascii: "V")), CChar(UInt8(ascii: "L")), Int32(n), a, Int32(n), w,
                                   work, Int32(lwork), iwork, Int32(liwork))
    }
    public static func potrf(n: Int, a: UnsafeMutablePointer<Float>) -> Int32 {
        LAPACKE_spotrf(LAPACK_COL_MAJOR, CChar(UInt8(ascii: "L")), Int32(n), a, Int32(n))
    }
    public static func potrs(n: Int, nrhs: Int, a: UnsafePointer<Float>, b: UnsafeMutablePointer<Float>) -> Int32 {
        LAPACKE_spotrs(LAPACK_COL_MAJOR, CChar(UInt8(ascii: "L")), Int32(n), Int32(nrhs), a, Int32(n), b, Int32(n))
    }
    public static var dtypeName: String { "float32" }
    public static func filled(_ value: Float, count: Int) -> [Float] { [Float](repeating: value, count: count) }
    public static func activate(_ activation: Activation, _ h: UnsafeBufferPointer<Float>, values: UnsafeMutableBufferPointer<Float>,
                                derivatives: UnsafeMutableBufferPointer<Float>?) {
        activation.apply(h, values: values, derivatives: derivatives)
    }
}
