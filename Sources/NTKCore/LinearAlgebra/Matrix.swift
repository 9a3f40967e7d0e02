/// A dense, contiguous, row-major matrix of `Float` or `Double`: the storage every BLAS call works on.
///
/// Element `(i, j)` lives at `elements[i * columns + j]`. Value semantics (copy on write), so a
/// matrix can be passed around freely; in-place work goes through `withUnsafeMutableBufferPointer`.
public struct Matrix<Scalar: BLASScalar>: Equatable, Sendable {
    /// Number of rows.
    public let rows: Int
    /// Number of columns (the leading dimension).
    public let columns: Int
    /// Row-major elements, `rows * columns` of them.
    public var elements: [Scalar]

    /// A matrix filled with one value.
    public init(rows: Int, columns: Int, repeating value: Scalar = 0) {
        precondition(rows >= 0 && columns >= 0, "negative matrix dimension")
        self.rows = rows
        self.columns = columns
        self.elements = Scalar.filled(value, count: rows * columns)
    }

    /// A matrix whose elements are about to be overwritten (a GEMM/SYRK output): skips the zero-filling pass.
    init(uninitializedRows rows: Int, columns: Int) {
        self.rows = rows
        self.columns = columns
        self.elements = [Scalar](unsafeUninitializedCapacity: rows * columns) { _, count in count = rows * columns }
    }

    /// A matrix over existing row-major elements.
    public init(rows: Int, columns: Int, elements: [Scalar]) {
        precondition(elements.count == rows * columns,
                     "matrix \(rows)×\(columns) needs \(rows * columns) elements, got \(elements.count)")
        self.rows = rows
        self.columns = columns
        self.elements = elements
    }

    /// A matrix from nested rows (convenient for tests and small literals).
    public init(_ nestedRows: [[Scalar]]) {
        let columns = nestedRows.first?.count ?? 0
        precondition(nestedRows.allSatisfy { $0.count == columns }, "ragged rows")
        self.init(rows: nestedRows.count, columns: columns, elements: nestedRows.flatMap { $0 })
    }

    /// The n × n identity.
    public static func identity(_ n: Int) -> Matrix {
        var m = Matrix(rows: n, columns: n)
        for i in 0..<n { m.elements[i * n + i] = 1 }
        return m
    }

    /// `rows × columns`.
    public var count: Int { elements.count }

    public subscript(row: Int, column: Int) -> Scalar {
        get { elements[row * columns + column] }
        set { elements[row * columns + column] = newValue }
    }

    /// Row `i` as an array (a copy).
    public func row(_ i: Int) -> [Scalar] { Array(elements[(i * columns)..<((i + 1) * columns)]) }

    public func withUnsafeBufferPointer<R>(_ body: (UnsafeBufferPointer<Scalar>) throws -> R) rethrows -> R {
        try elements.withUnsafeBufferPointer(body)
    }

    public mutating func withUnsafeMutableBufferPointer<R>(_ body: (inout UnsafeMutableBufferPointer<Scalar>) throws -> R) rethrows -> R {
        try elements.withUnsafeMutableBufferPointer(body)
    }

    /// The transpose (a copy).
    public var transposed: Matrix {
        var t = Matrix(rows: columns, columns: rows)
        let r = rows, c = columns
        elements.withUnsafeBufferPointer { src in
            t.elements.withUnsafeMutableBufferPointer { dst in
                for i in 0..<r { for j in 0..<c { dst[j * r + i] = src[i * c + j] } }
            }
        }
        return t
    }

    /// Element-wise conversion to another precision.
    public func converted<T: BLASScalar>(to: T.Type = T.self) -> Matrix<T> {
        Matrix<T>(rows: rows, columns: columns, elements: elements.map { T($0) })
    }

    /// `true` when no element is NaN or ±∞.
    public var isFinite: Bool { elements.withUnsafeBufferPointer(Scalar.allFinite) }

    /// Frobenius norm, accumulated in `Double`.
    public var frobeniusNorm: Double {
        elements.withUnsafeBufferPointer { p in
            var s = 0.0
            for v in p { let d = Double(v); s += d * d }
            return s.squareRoot()
        }
    }

    /// Largest absolute element.
    public var maxAbs: Scalar { elements.reduce(0) { Swift.max($0, Swift.abs($1)) } }

    /// Index of the largest element of each row (class predictions from scores).
    public func argmaxPerRow() -> [Int] {
        (0..<rows).map { i in
            var best = 0
            for j in 1..<Swift.max(columns, 1) where self[i, j] > self[i, best] { best = j }
            return best
        }
    }
}

// MARK: - BLAS-backed products

extension Matrix {
    /// `op(a) · op(b)` through one GEMM; `op` transposes when the flag is set.
    public static func product(_ a: Matrix, _ b: Matrix, transposeA ta: Bool = false, transposeB tb: Bool = false,
                               alpha: Scalar = 1) -> Matrix {
        let m = ta ? a.columns : a.rows
        let k = ta ? a.rows : a.columns
        let kb = tb ? b.columns : b.rows
        let n = tb ? b.rows : b.columns
        precondition(k == kb, "product: inner dimensions differ (\(k) vs \(kb))")
        if m == 0 || n == 0 || k == 0 { return Matrix(rows: m, columns: n) }
        var c = Matrix(uninitializedRows: m, columns: n)
        a.withUnsafeBufferPointer { pa in
            b.withUnsafeBufferPointer { pb in
                c.withUnsafeMutableBufferPointer { pc in
                    Scalar.gemm(transA: ta, transB: tb, m: m, n: n, k: k, alpha: alpha,
                                a: pa.baseAddress!, lda: a.columns, b: pb.baseAddress!, ldb: b.columns,
                                beta: 0, c: pc.baseAddress!, ldc: n)
                }
            }
        }
        return c
    }

    /// `α A Aᵀ` (the Gram of the rows) through SYRK, with both triangles filled — or, with
    /// `upperOnly`, only the upper one (the lower holds arbitrary values until `mirrorUpperTriangle`).
    public func rowGram(alpha: Scalar = 1, upperOnly: Bool = false) -> Matrix {
        guard rows > 0, columns > 0 else { return Matrix(rows: rows, columns: rows) }
        var g = Matrix(uninitializedRows: rows, columns: rows)
        withUnsafeBufferPointer { pa in
            g.withUnsafeMutableBufferPointer { pg in
                Scalar.syrk(trans: false, n: rows, k: columns, alpha: alpha, a: pa.baseAddress!, lda: columns,
                            beta: 0, c: pg.baseAddress!, ldc: rows)
            }
        }
        if !upperOnly { g.mirrorUpperTriangle() }
        return g
    }

    /// Copies the upper triangle onto the lower one (SYRK fills only one).
    public mutating func mirrorUpperTriangle() {
        precondition(rows == columns, "mirrorUpperTriangle needs a square matrix")
        let n = rows
        guard n > 1 else { return }
        withUnsafeMutableBufferPointer { Scalar.mirrorUpper($0.baseAddress!, order: n) }
    }

    /// `op(A) x` through GEMV.
    public func times(_ x: [Scalar], transposed t: Bool = false) -> [Scalar] {
        let outCount = t ? columns : rows
        precondition(x.count == (t ? rows : columns), "times: vector length \(x.count) does not match matrix \(rows)×\(columns)")
        var y = [Scalar](repeating: 0, count: outCount)
        guard rows > 0, columns > 0 else { return y }
        withUnsafeBufferPointer { pa in
            x.withUnsafeBufferPointer { px in
                y.withUnsafeMutableBufferPointer { py in
                    Scalar.gemv(trans: t, m: rows, n: columns, alpha: 1, a: pa.baseAddress!, lda: columns,
                                x: px.baseAddress!, incx: 1, beta: 0, y: py.baseAddress!, incy: 1)
                }
            }
        }
        return y
    }

    /// `self ← self + α other` (AXPY).
    public mutating func add(_ other: Matrix, scaledBy alpha: Scalar = 1) {
        precondition(rows == other.rows && columns == other.columns, "add: shapes differ")
        guard count > 0 else { return }
        let n = count
        other.withUnsafeBufferPointer { po in
            withUnsafeMutableBufferPointer { p in Scalar.axpy(n: n, alpha: alpha, x: po.baseAddress!, y: p.baseAddress!) }
        }
    }

    /// `‖self − other‖_F / ‖other‖_F`, in `Double`: how tests and logs compare matrices.
    public func relativeDistance(to other: Matrix) -> Double {
        precondition(rows == other.rows && columns == other.columns, "relativeDistance: shapes differ")
        var d = 0.0, n = 0.0
        for (a, b) in zip(elements, other.elements) {
            let e = Double(a) - Double(b)
            d += e * e
            n += Double(b) * Double(b)
        }
        return n == 0 ? d.squareRoot() : (d / n).squareRoot()
    }
}

/// `xᵀ y` through BLAS.
public func dot<S: BLASScalar>(_ x: [S], _ y: [S]) -> S {
    precondition(x.count == y.count, "dot: lengths differ")
    guard !x.isEmpty else { return 0 }
    return x.withUnsafeBufferPointer { px in
        y.withUnsafeBufferPointer { py in S.dot(n: x.count, x: px.baseAddress!, incx: 1, y: py.baseAddress!, incy: 1) }
    }
}

/// Euclidean norm of a vector, in `Double`.
public func norm<S: BLASScalar>(_ x: [S]) -> Double {
    var s = 0.0
    for v in x { s += Double(v) * Double(v) }
    return s.squareRoot()
}
