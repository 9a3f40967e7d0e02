import NTKCore
import XCTest

final class LinearAlgebraTests: XCTestCase {
    func testProductsAgreeWithReferenceLoops() {
        let a = randomMatrix(13, 7, seed: 1, as: Double.self), b = randomMatrix(7, 11, seed: 2, as: Double.self)
        var ref = Matrix<Double>(rows: 13, columns: 11)
        for i in 0..<13 { for j in 0..<11 { for p in 0..<7 { ref[i, j] += a[i, p] * b[p, j] } } }
        XCTAssertLessThan(Matrix.product(a, b).relativeDistance(to: ref), 1e-14)
        XCTAssertLessThan(Matrix.product(a.transposed, b, transposeA: true).relativeDistance(to: ref), 1e-14)
        XCTAssertLessThan(Matrix.product(a, b.transposed, transposeB: true).relativeDistance(to: ref), 1e-14)
        XCTAssertLessThan(a.rowGram().relativeDistance(to: Matrix.product(a, a.transposed)), 1e-14)
        let x = (0..<7).map { Double($0) - 3 }
        let y = a.times(x)
        XCTAssertLessThan(relativeError(y, (0..<13).map { i in (0..<7).reduce(0) { $0 + a[i, $1] * x[$1] } }), 1e-14)
    }

    func testEigendecompositionReconstructsBothPrecisions() throws {
        let a = randomMatrix(40, 25, seed: 3, as: Double.self).rowGram()
        let e = try SymmetricEigen(a)
        XCTAssertLessThan(e.matrix().relativeDistance(to: a), 1e-13)
        XCTAssertEqual(e.values, e.values.sorted())
        let ef = try SymmetricEigen(a.converted(to: Float.self))
        XCTAssertLessThan(ef.matrix().converted(to: Double.self).relativeDistance(to: a), 1e-5)
    }

    /// `LAPACKE_ssyevd` fails above n ≈ 2900 because its workspace query rounds down (DESIGN.md §4);
    /// the Float path sizes the workspace itself. n = 3000 proves it.
    func testSinglePrecisionEigendecompositionAboveTheLAPACKEWorkspaceBug() throws {
        let n = 3000
        var a = Matrix<Float>(rows: n, columns: n)
        var g = PortableGaussian(seed: 9)
        for i in 0..<n { a[i, i] = Float(i % 97) + Float(g.next()) * 0.1 }
        for i in 0..<(n - 1) { a[i, i + 1] = 0.5; a[i + 1, i] = 0.5 }
        let e = try SymmetricEigen(a)
        XCTAssertEqual(e.values.count, n)
        // Check A v = λ v on a few eigenpairs.
        for j in [0, n / 2, n - 1] {
            let v = e.vectorRows.row(j)
            let av = a.times(v)
            XCTAssertLessThan(relativeError(av.map(Double.init), v.map { Double($0 * e.values[j]) }), 1e-3)
        }
    }

    func testCholeskySolvesAndRefusesIndefinite() throws {
        var a = randomMatrix(20, 30, seed: 4, as: Double.self).rowGram()
        let b = (0..<20).map { sin(Double($0)) }
        let x = try Cholesky(a).solve(b)
        XCTAssertLessThan(relativeError(a.times(x), b), 1e-10)
        a[3, 3] = -1
        XCTAssertThrowsError(try Cholesky(a)) { error in
            guard case LinearAlgebraError.notPositiveDefinite = error else { return XCTFail("\(error)") }
        }
    }

    func testNonFiniteInputIsRefusedNotDecomposed() {
        var a = Matrix<Double>.identity(4)
        a[1, 2] = .nan
        XCTAssertThrowsError(try SymmetricEigen(a, name: "kernel")) { error in
            XCTAssertEqual(error as? LinearAlgebraError, .nonFinite(what: "kernel"))
        }
    }
}
