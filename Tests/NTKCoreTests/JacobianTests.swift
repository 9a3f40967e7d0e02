import NTKCore
import XCTest

final class JacobianTests: XCTestCase {
    /// Central finite differences of the network outputs with respect to every parameter.
    private func finiteDifferenceJacobian(_ net: MLP<Double>, _ x: Matrix<Double>, step: Double = 1e-6) throws -> Matrix<Double> {
        let theta = net.parameters.flattened
        let m = x.rows, k = net.architecture.outputCount
        var z = Matrix<Double>(rows: m * k, columns: theta.count)
        for p in theta.indices {
            var plus = theta, minus = theta
            plus[p] += step
            minus[p] -= step
            let fp = try MLP(architecture: net.architecture, parameters: net.parameters.reshaping(plus))(x)
            let fm = try MLP(architecture: net.architecture, parameters: net.parameters.reshaping(minus))(x)
            for r in 0..<(m * k) { z[r, p] = (fp.elements[r] - fm.elements[r]) / (2 * step) }
        }
        return z
    }

    func testJacobianMatchesCentralFiniteDifferences() throws {
        for activation in Activation.allCases {
            for parametrization in Parametrization.allCases {
                let (net, x) = try smallProblem(activation: activation, parametrization: parametrization)
                let z = JacobianBlock(try FactoredJacobian(network: net, inputs: x)).columnsAsRows
                let fd = try finiteDifferenceJacobian(net, x)
                let err = maxRelativeError(z.elements, fd.elements)
                XCTAssertLessThan(err, 1e-6, "\(activation) \(parametrization): max relative error \(err)")
            }
        }
    }

    func testFactoredGramEqualsDenseGram() throws {
        for activation in Activation.allCases {
            let (net, x) = try smallProblem(activation: activation, widths: [5, 16, 12, 9, 3], samples: 6)
            let factored = try FactoredJacobian(network: net, inputs: x)
            let dense = JacobianBlock(factored)
            let h = dense.gram()
            XCTAssertLessThan(factored.gram(.exact).relativeDistance(to: h), 1e-10, "\(activation) exact")
            // Averaged: (1/k) Σ_a Z_aᵀ Z_a from the dense block.
            let k = 3, m = 6
            var averaged = Matrix<Double>(rows: m, columns: m)
            for i in 0..<m { for j in 0..<m { for a in 0..<k { averaged[i, j] += h[i * k + a, j * k + a] / Double(k) } } }
            XCTAssertLessThan(factored.gram(.outputAveraged).relativeDistance(to: averaged), 1e-10, "\(activation) averaged")
            // Cross kernel against other inputs.
            let x2 = randomMatrix(4, 5, seed: 77, as: Double.self)
            let other = try FactoredJacobian(network: net, inputs: x2)
            XCTAssertLessThan(factored.crossGram(with: other).relativeDistance(to: dense.crossGram(with: JacobianBlock(other))), 1e-10)
        }
    }

    func testContractionAndJVPAreProductsWithZ() throws {
        let (net, x) = try smallProblem(activation: .gelu, widths: [5, 11, 8, 4], samples: 5)
        let factored = try FactoredJacobian(network: net, inputs: x)
        let dense = JacobianBlock(factored)
        var g = PortableGaussian(seed: 3)
        let v: [Double] = g.fill(factored.columnCount)
        XCTAssertLessThan(relativeError(factored.contract(v), dense.contract(v)), 1e-12)
        let w: [Double] = g.fill(net.architecture.parameterCount)
        let jvp = factored.jvp(w)
        XCTAssertLessThan(relativeError(jvp, dense.columnsAsRows.times(w)), 1e-12)
    }

    func testBadInputsAreRefusedWithReasons() throws {
        let (net, _) = try smallProblem()
        XCTAssertThrowsError(try FactoredJacobian(network: net, inputs: Matrix<Double>(rows: 2, columns: 4))) { error in
            XCTAssertTrue("\(error)".contains("features"), "\(error)")
        }
        var x = Matrix<Double>(rows: 2, columns: 5)
        x[1, 1] = .infinity
        XCTAssertThrowsError(try FactoredJacobian(network: net, inputs: x))
        XCTAssertThrowsError(try MLPArchitecture(widths: [3]))
        XCTAssertThrowsError(try MLPArchitecture.parseWidths("64-abc-10"))
        XCTAssertEqual(try MLPArchitecture.parseWidths("64-512-512-10"), [64, 512, 512, 10])
    }
}
