import Foundation
import NTKCore
import XCTest

final class InitializationTests: XCTestCase {
    func testSameSeedGivesBitIdenticalParameters() throws {
        let arch = try MLPArchitecture(widths: [6, 9, 4], activation: .relu)
        let a = MLPParameters<Float>(initializing: arch, seed: 42)
        let b = MLPParameters<Float>(initializing: arch, seed: 42)
        XCTAssertEqual(a.flattened.map(\.bitPattern), b.flattened.map(\.bitPattern))
        XCTAssertNotEqual(a, MLPParameters<Float>(initializing: arch, seed: 43))
    }

    /// Golden values: the generator is specified (SplitMix64 + Box–Muller over basic IEEE-754 operations),
    /// so these bits must come out on every machine and compiler. A change here breaks every stored run.
    func testGeneratorMatchesItsSpecification() {
        var g = PortableGaussian(seed: 0)
        // SplitMix64's published first output for seed 0.
        XCTAssertEqual(g.nextWord(), 0xE220_A839_7B1D_CDAF)
        var n = PortableGaussian(seed: 2026)
        let draws = (0..<100_000).map { _ in n.next() }
        let mean = draws.reduce(0, +) / Double(draws.count)
        let variance = draws.reduce(0) { $0 + ($1 - mean) * ($1 - mean) } / Double(draws.count)
        XCTAssertEqual(mean, 0, accuracy: 0.01)
        XCTAssertEqual(variance, 1, accuracy: 0.015)
        let fourth = draws.reduce(0) { $0 + pow($1, 4) } / Double(draws.count)
        XCTAssertEqual(fourth, 3, accuracy: 0.06)   // Gaussian kurtosis, not merely unit variance
    }

    func testPortableElementaryFunctionsAreAccurate() {
        for x in stride(from: 1e-12, to: 1.0, by: 0.0137) {
            XCTAssertEqual(PortableMath.log(x), Foundation.log(x), accuracy: 4e-16 * max(1, abs(Foundation.log(x))))
            let (s, c) = PortableMath.sinCosTwoPi(x)
            XCTAssertEqual(s, sin(2 * .pi * x), accuracy: 1e-15)
            XCTAssertEqual(c, cos(2 * .pi * x), accuracy: 1e-15)
        }
    }

    func testLayerStreamsDoNotDependOnOtherLayers() throws {
        // Changing the first hidden width must not change the last layer's bias draws.
        let a = MLPParameters<Double>(initializing: try MLPArchitecture(widths: [3, 5, 2]), seed: 7)
        let b = MLPParameters<Double>(initializing: try MLPArchitecture(widths: [3, 8, 2]), seed: 7)
        XCTAssertEqual(a.biases[1], b.biases[1])
    }

    func testNpzRoundTripAndValidation() throws {
        let arch = try MLPArchitecture(widths: [4, 6, 3], activation: .erf)
        let p = MLPParameters<Float>(initializing: arch, seed: 5)
        let url = FileManager.default.temporaryDirectory.appendingPathComponent("ntk-test-\(UUID()).npz")
        defer { try? FileManager.default.removeItem(at: url) }
        try p.archive.write(to: url)
        let back = try MLPParameters<Float>(archive: NumpyArchive(contentsOf: url), architecture: arch)
        XCTAssertEqual(back, p)
        XCTAssertEqual(MLPParameters<Float>.widths(in: try NumpyArchive(contentsOf: url)), [4, 6, 3])
        let wrong = try MLPArchitecture(widths: [4, 7, 3])
        XCTAssertThrowsError(try MLPParameters<Float>(archive: NumpyArchive(contentsOf: url), architecture: wrong)) { error in
            XCTAssertTrue("\(error)".contains("W1"), "error should name the array: \(error)")
        }
    }

    func testNpyRejectsGarbageWithAReason() {
        XCTAssertThrowsError(try NumpyArray(npyData: Data([1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11]), name: "x.npy")) { error in
            XCTAssertTrue("\(error)".contains("x.npy"))
        }
        let a = NumpyArray([1.0, 2.0, 3.0])
        var data = a.npyData()
        data.removeLast(8)
        XCTAssertThrowsError(try NumpyArray(npyData: data, name: "cut.npy"))
    }
}
