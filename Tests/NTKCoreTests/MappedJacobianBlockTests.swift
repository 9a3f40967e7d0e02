import Foundation
import NTKCore
import XCTest

/// A dense block spilled to a memory-mapped file computes what the in-memory block computes.
final class MappedJacobianBlockTests: XCTestCase {
    func testMappedBlockMatchesTheInMemoryBlock() throws {
        let arch = try MLPArchitecture(widths: [6, 20, 20, 3], activation: .tanh, biasScale: 0.2)
        let directory = FileManager.default.temporaryDirectory.appendingPathComponent("ntk-spill-\(UUID().uuidString)")
        defer { try? FileManager.default.removeItem(at: directory) }
        let a = try FactoredJacobian(network: MLP<Double>(architecture: arch, seed: 3), inputs: randomMatrix(9, 6, seed: 4)).denseBlock()
        let b = try FactoredJacobian(network: MLP<Double>(architecture: arch, seed: 3), inputs: randomMatrix(5, 6, seed: 5)).denseBlock()
        let ma = try MappedJacobianBlock(a, directory: directory), mb = try MappedJacobianBlock(b, directory: directory)
        XCTAssertEqual(try FileManager.default.contentsOfDirectory(atPath: directory.path), [], "files are unlinked once mapped")
        XCTAssertEqual(ma.byteCount, 27 * arch.parameterCount * 8)
        for kind in [KernelKind.exact, .outputAveraged] {
            XCTAssertLessThan(maxDifference(ma.gram(kind), a.gram(kind)), 1e-12, "\(kind)")
            XCTAssertLessThan(maxDifference(ma.crossGram(with: mb, kind), a.crossGram(with: b, kind)), 1e-12, "\(kind)")
            XCTAssertLessThan(maxDifference(ma.crossGram(with: b, kind), a.crossGram(with: b, kind)), 1e-12, "\(kind)")
        }
        let v = (0..<27).map { Double($0 % 7) - 3 }
        XCTAssertLessThan(relativeError(ma.contract(v), a.contract(v)), 1e-14)
        let w = a.contract(v)
        XCTAssertLessThan(relativeError(ma.jvp(w), a.jvp(w)), 1e-14)
        XCTAssertEqual(ma.denseBlock().columnsAsRows, a.columnsAsRows)
        // In a union with an in-memory block (what the server assembles), the Gram is the same.
        let union = try JacobianUnion([ma, b]), reference = try JacobianUnion([a, b])
        XCTAssertLessThan(maxDifference(union.gram(.exact), reference.gram(.exact)), 1e-12)
    }

    private func maxDifference(_ x: Matrix<Double>, _ y: Matrix<Double>) -> Double {
        XCTAssertEqual(x.rows, y.rows)
        XCTAssertEqual(x.columns, y.columns)
        return zip(x.elements, y.elements).map { abs($0 - $1) }.max() ?? 0
    }
}
