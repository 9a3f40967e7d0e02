import Foundation
import NTKCore
import XCTest

/// `Network` against neural-tangents at the same θ (fixtures from scripts/make-network-fixtures.py): outputs
/// and the exact empirical NTK, so SAME padding, NHWC order, weight layout and multipliers follow stax.
final class NetworkFixtureTests: XCTestCase {
    /// The cases of scripts/make-network-fixtures.py, in order (β = 0.3, NTK parametrization).
    static let cases = [
        ("conv(3,3)-relu-conv(4,3,stride=2)-erf-gap-dense(2)", "6x5x2"),
        ("conv(3,2,pad=valid)-relu-avgpool(2,stride=1)-conv(3,4,stride=2)-gelu-flatten-dense(3)", "7x6x2"),
        ("conv(3,3)-res(relu-conv(3,3),scale=0.5)-relu-gap-dense(2)", "4x4x2"),
    ]

    func testOutputsAndEmpiricalKernelMatchNeuralTangents() throws {
        for (n, (spec, shape)) in Self.cases.enumerated() {
            let f = try fixture("network_\(n + 1)")
            let theta: [Double] = try f.array("theta").values()
            let net = try Network<Double>(spec: NetworkSpec(parsing: spec), inputShape: TensorShape(parsing: shape),
                                          biasScale: 0.3, parameters: theta)
            let x: Matrix<Double> = try f.array("x").matrix()
            let outputs: Matrix<Double> = try f.array("outputs").matrix()
            let ntk: Matrix<Double> = try f.array("ntk").matrix()
            XCTAssertLessThan(try net(x).relativeDistance(to: outputs), 1e-12, spec)
            let jacobian = try NetworkJacobian(network: net, inputs: x)
            for method in LayerGramMethod.allCases {
                XCTAssertLessThan(jacobian.gram(.exact, method: method).relativeDistance(to: ntk), 1e-12, "\(spec) \(method)")
            }
        }
    }
}
