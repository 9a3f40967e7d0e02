import Foundation
import NTKCore
import XCTest

/// Loads a committed neural-tangents fixture (see Fixtures/README.md).
func fixture(_ name: String) throws -> NumpyArchive {
    guard let url = Bundle.module.url(forResource: name, withExtension: "npz", subdirectory: "Fixtures") else {
        throw XCTSkip("fixture \(name).npz missing — run scripts/make-fixtures.sh")   // never expected in CI: fixtures are committed
    }
    return try NumpyArchive(contentsOf: url)
}

/// A seeded Gaussian matrix.
func randomMatrix<S: BLASScalar>(_ rows: Int, _ columns: Int, seed: UInt64, scale: Double = 1, as: S.Type = S.self) -> Matrix<S> {
    var g = PortableGaussian(seed: seed)
    return Matrix(rows: rows, columns: columns, elements: g.fill(rows * columns, scale: scale))
}

/// `max_i |a_i − b_i| / max_i |b_i|`: the error measure of the Jacobian and kernel checks.
func maxRelativeError(_ a: [Double], _ b: [Double]) -> Double {
    precondition(a.count == b.count)
    var d = 0.0, s = 0.0
    for (x, y) in zip(a, b) { d = max(d, abs(x - y)); s = max(s, abs(y)) }
    return s == 0 ? d : d / s
}

/// `‖a − b‖ / ‖b‖`.
func relativeError(_ a: [Double], _ b: [Double]) -> Double {
    precondition(a.count == b.count)
    var d = 0.0, s = 0.0
    for (x, y) in zip(a, b) { d += (x - y) * (x - y); s += y * y }
    return s == 0 ? d.squareRoot() : (d / s).squareRoot()
}

/// A small network and batch in Float64 for the exactness tests.
func smallProblem(activation: Activation = .tanh, widths: [Int] = [5, 7, 6, 3], parametrization: Parametrization = .ntk,
                  samples: Int = 4, seed: UInt64 = 1) throws -> (MLP<Double>, Matrix<Double>) {
    let arch = try MLPArchitecture(widths: widths, activation: activation, parametrization: parametrization, biasScale: 0.3)
    let net = MLP<Double>(architecture: arch, seed: seed)
    let x = randomMatrix(samples, widths[0], seed: seed &+ 100, as: Double.self)
    return (net, x)
}
