import NTKCore
import XCTest

final class KernelTests: XCTestCase {
    /// The empirical NTK of a wide network concentrates on the analytic limit (Jacot et al., Thm 1):
    /// the mean relative Frobenius error over seeds falls with width and is below 5% at width 4096.
    func testEmpiricalKernelConvergesToInfiniteWidthLimit() throws {
        let x = randomMatrix(6, 8, seed: 11, as: Double.self)
        var meanErrors: [Double] = []
        for width in [64, 256, 1024, 4096] {
            let arch = try MLPArchitecture(widths: [8, width, width, 1], activation: .relu, biasScale: 0.2)
            let limit = try InfiniteWidthKernel(arch).kernels(x).ntk
            var errors: [Double] = []
            for seed in 0..<3 {
                let net = MLP<Float>(architecture: arch, seed: UInt64(100 * width + seed))
                let gram = try FactoredJacobian(network: net, inputs: x.converted(to: Float.self)).gram().converted(to: Double.self)
                errors.append(gram.relativeDistance(to: limit))
            }
            meanErrors.append(errors.reduce(0, +) / Double(errors.count))
        }
        print("empirical vs analytic NTK, mean relative Frobenius error for widths 64, 256, 1024, 4096:", meanErrors)
        for (narrow, wide) in zip(meanErrors, meanErrors.dropFirst()) { XCTAssertLessThan(wide, narrow, "\(meanErrors)") }
        XCTAssertLessThan(meanErrors.last!, 0.05, "\(meanErrors)")
    }

    func testQuadratureAgreesWithClosedForms() throws {
        // relu and erf have closed forms; run their expectations through the quadrature path too.
        let x = randomMatrix(4, 3, seed: 5, as: Double.self)
        for activation in [Activation.erf, .identity] {
            let closed = InfiniteWidthKernel(hiddenLayers: 2, activation: activation, biasScale: 0.4).kernels(x)
            let quadrature = GaussHermite(degree: 60)
            // One layer of the recursion by quadrature on a fixed covariance.
            let (k11, k12, k22) = (0.9, 0.3, 1.4)
            let byRule = quadrature.expectation(k11: k11, k12: k12, k22: k22, activation.value, activation.value)
            let exact: Double = activation == .identity ? k12 : 2 / .pi * asin(2 * k12 / ((1 + 2 * k11) * (1 + 2 * k22)).squareRoot())
            XCTAssertEqual(byRule, exact, accuracy: 1e-12)
            XCTAssertTrue(closed.ntk.isFinite)
        }
    }

    func testAnalyticKernelsMatchNeuralTangents() throws {
        for name in ["relu", "erf", "tanh", "gelu", "identity", "relu_deep"] {
            let f = try fixture("analytic_\(name)")
            let activation = Activation(rawValue: name.replacingOccurrences(of: "_deep", with: ""))!
            let kernel = InfiniteWidthKernel(hiddenLayers: Int(try f.array("hidden_layers").scalar()), activation: activation,
                                             biasScale: try f.array("beta").scalar())
            let x1: Matrix<Double> = try f.array("x1").matrix(), x2: Matrix<Double> = try f.array("x2").matrix()
            let cross = kernel.kernels(x1, x2), same = kernel.kernels(x1)
            for (ours, key) in [(cross.nngp, "nngp"), (cross.ntk, "ntk"), (same.nngp, "nngp_11"), (same.ntk, "ntk_11")] {
                let reference: Matrix<Double> = try f.array(key).matrix()
                let err = maxRelativeError(ours.elements, reference.elements)
                XCTAssertLessThan(err, 1e-6, "\(name) \(key): \(err)")
            }
        }
    }

    func testEmpiricalKernelOfLoadedWeightsMatchesNeuralTangents() throws {
        for activation in [Activation.relu, .erf] {
            let f = try fixture("empirical_f32_\(activation.rawValue)")
            let arch = try MLPArchitecture(widths: MLPParameters<Float>.widths(in: f)!, activation: activation,
                                           biasScale: try f.array("beta").scalar())
            let net = try MLP(architecture: arch, parameters: MLPParameters<Float>(archive: f, architecture: arch))
            let x: Matrix<Float> = try f.array("x").matrix()
            let jac = try FactoredJacobian(network: net, inputs: x)
            let f0: Matrix<Float> = try f.array("f0").matrix()
            XCTAssertLessThan(jac.outputs.relativeDistance(to: f0), 1e-5)
            for (kind, key) in [(KernelKind.exact, "ntk_exact"), (.outputAveraged, "ntk_averaged")] {
                let reference: Matrix<Float> = try f.array(key).matrix()
                let err = jac.gram(kind).relativeDistance(to: reference)
                XCTAssertLessThan(err, 1e-5, "\(activation) \(kind): \(err)")
            }
        }
    }
}
