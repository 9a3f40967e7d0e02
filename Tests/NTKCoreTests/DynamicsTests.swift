import Foundation
import NTKCore
import XCTest

final class DynamicsTests: XCTestCase {
    /// A small regression problem with its dense Jacobian (Float64).
    private struct Problem {
        let net: MLP<Double>
        let x: Matrix<Double>
        let y: [Double]
        let jac: FactoredJacobian<Double>
        let z: JacobianBlock<Double>
        var m: Int { x.rows }
        var u0: [Double] { jac.outputs.elements }
        var residual: [Double] { zip(y, u0).map { $0 - $1 } }
    }

    private func problem(duplicateSample: Bool = false, samples: Int = 5, widths: [Int] = [5, 8, 7, 3]) throws -> Problem {
        var (net, x) = try smallProblem(activation: .tanh, widths: widths, samples: samples, seed: 21)
        if duplicateSample {   // two equal inputs: H has an exact null space (φ(0) = ηt must be used)
            for c in 0..<x.columns { x[1, c] = x[0, c] }
        }
        let k = widths.last!
        var g = PortableGaussian(seed: 99)
        let y: [Double] = g.fill(samples * k)
        net = try MLP(architecture: net.architecture, parameters: net.parameters)
        let jac = try FactoredJacobian(network: net, inputs: x)
        return Problem(net: net, x: x, y: y, jac: jac, z: JacobianBlock(jac))
    }

    /// `dδ/dt = −η (Z(Zᵀδ + u_0 − y)/m + ρδ)`: gradient flow on the linearized model in weight space.
    private func weightSpaceGradient(_ p: Problem, _ delta: [Double], eta: Double, rho: Double) -> [Double] {
        let u = p.z.columnsAsRows.times(delta)
        let r = (0..<u.count).map { (u[$0] + p.u0[$0] - p.y[$0]) / Double(p.m) }
        let g = p.z.contract(r)
        return (0..<g.count).map { -eta * (g[$0] + rho * delta[$0]) }
    }

    /// 10⁵ explicit RK4 steps in weight space.
    private func smallSteps(_ p: Problem, time: Double, eta: Double, rho: Double, steps: Int = 100_000) -> [Double] {
        let h = time / Double(steps)
        var d = [Double](repeating: 0, count: p.z.parameterCount)
        func axpy(_ a: [Double], _ s: Double, _ b: [Double]) -> [Double] { (0..<a.count).map { a[$0] + s * b[$0] } }
        for _ in 0..<steps {
            let k1 = weightSpaceGradient(p, d, eta: eta, rho: rho)
            let k2 = weightSpaceGradient(p, axpy(d, h / 2, k1), eta: eta, rho: rho)
            let k3 = weightSpaceGradient(p, axpy(d, h / 2, k2), eta: eta, rho: rho)
            let k4 = weightSpaceGradient(p, axpy(d, h, k3), eta: eta, rho: rho)
            for i in d.indices { d[i] += h / 6 * (k1[i] + 2 * k2[i] + 2 * k3[i] + k4[i]) }
        }
        return d
    }

    func testClosedFormMatchesSmallStepIntegration() throws {
        for (duplicate, rho) in [(false, 0.0), (false, 0.02), (true, 0.0)] {
            let p = try problem(duplicateSample: duplicate)
            let dynamics = try LinearizedDynamics(gram: p.jac.gram(), sampleCount: p.m, learningRate: 0.7, ridge: rho)
            if duplicate { XCTAssertLessThan(dynamics.eigen.values.first!, 1e-10 * dynamics.eigen.values.last!) }
            // A time at which the fastest modes have converged and the slow ones have not.
            let t = 3 / (0.7 * dynamics.operatorEigenvalues.last!) * 10
            let beta = try dynamics.coefficients(residual: p.residual, times: [t])[0]
            let closed = p.z.contract(beta)
            let reference = smallSteps(p, time: t, eta: 0.7, rho: rho)
            let err = relativeError(closed, reference)
            XCTAssertLessThan(err, 1e-4, "duplicate=\(duplicate) ρ=\(rho): \(err)")
            XCTAssertTrue(beta.allSatisfy { $0.isFinite })
            // u_t from the closed form equals the linearized network at θ_t.
            let ut = dynamics.trainOutputs(initial: p.u0, coefficients: beta)
            let direct = zip(p.z.columnsAsRows.times(closed), p.u0).map { $0 + $1 }
            XCTAssertLessThan(relativeError(ut, direct), 1e-10)
        }
    }

    func testDiscreteFormulaMatchesIteratedSteps() throws {
        for rho in [0.0, 0.05] {
            let p = try problem(duplicateSample: rho == 0)
            let dynamics = try LinearizedDynamics(gram: p.jac.gram(), sampleCount: p.m, learningRate: 1, ridge: rho)
            let eta = 0.9 * dynamics.stableLearningRateBound
            let gd = try LinearizedDynamics(gram: p.jac.gram(), sampleCount: p.m, learningRate: eta, ridge: rho)
            let steps = 250
            let beta = try gd.coefficients(residual: p.residual, times: [Double(steps)], flow: .gradientDescent)[0]
            var d = [Double](repeating: 0, count: p.z.parameterCount)
            for _ in 0..<steps {
                let g = weightSpaceGradient(p, d, eta: eta, rho: rho)
                for i in d.indices { d[i] += g[i] }
            }
            let err = relativeError(p.z.contract(beta), d)
            XCTAssertLessThan(err, 1e-9, "ρ=\(rho): \(err)")
        }
    }

    func testUnstableStepAndNonFiniteKernelAreErrors() throws {
        let p = try problem()
        let probe = try LinearizedDynamics(gram: p.jac.gram(), sampleCount: p.m, learningRate: 1)
        let tooLarge = try LinearizedDynamics(gram: p.jac.gram(), sampleCount: p.m, learningRate: 1.01 * probe.stableLearningRateBound)
        XCTAssertThrowsError(try tooLarge.coefficients(residual: p.residual, times: [3], flow: .gradientDescent)) { error in
            guard case DynamicsError.unstableLearningRate = error else { return XCTFail("\(error)") }
        }
        // Flow is stable for any η.
        XCTAssertNoThrow(try tooLarge.coefficients(residual: p.residual, times: [3]))
        XCTAssertThrowsError(try probe.coefficients(residual: p.residual, times: [2.5], flow: .gradientDescent))
        var bad = p.jac.gram()
        bad[2, 3] = .nan
        XCTAssertThrowsError(try LinearizedDynamics(gram: bad, sampleCount: p.m, learningRate: 1)) { error in
            XCTAssertEqual(error as? DynamicsError, .nonFiniteKernel)
        }
    }

    func testLanczosAgreesWithDenseEigendecomposition() throws {
        let p = try problem(samples: 12, widths: [5, 20, 16, 4])
        for (rho, flow) in [(0.0, Flow.gradientFlow), (0.01, .gradientFlow), (0.0, .gradientDescent)] {
            let h = p.jac.gram()
            let dense = try LinearizedDynamics(gram: h, sampleCount: p.m, learningRate: 1, ridge: rho)
            let eta = flow == .gradientFlow ? 0.8 : 0.5 * dense.stableLearningRateBound
            let exact = try LinearizedDynamics(gram: h, sampleCount: p.m, learningRate: eta, ridge: rho)
            let times: [Double] = flow == .gradientFlow ? [0.1, 1, 10, 100, 1e4] : [1, 10, 100]
            let reference = try exact.coefficients(residual: p.residual, times: times, flow: flow)
            let m = Double(p.m)
            let result = try LanczosSpectralFilter(tolerance: 1e-12).apply({ v in
                let hv = p.jac.jvp(p.jac.contract(v))
                return (0..<v.count).map { hv[$0] / m + rho * v[$0] }
            }, to: p.residual, scales: times, phi: { mu, t in
                flow == .gradientFlow ? SpectralFilter.flow(mu, etaT: eta * t) : SpectralFilter.descent(mu, eta: eta, steps: t)
            })
            for (i, t) in times.enumerated() {
                let err = relativeError(result.vectors[i].map { $0 / m }, reference[i])
                XCTAssertLessThan(err, 1e-8, "ρ=\(rho) \(flow) t=\(t): \(err) after \(result.iterations) iterations")
            }
        }
    }

    /// Fixed-step RK4 on the (u, β) system, 4·10⁴ steps: the reference for the adaptive solver.
    private func crossEntropyReference(_ h: Matrix<Double>, u0: [Double], y: [Double], k: Int, m: Int,
                                       eta: Double, rho: Double, time: Double) -> [Double] {
        let n = u0.count
        func f(_ s: [Double]) -> [Double] {
            let u = Array(s[0..<n]), beta = Array(s[n...])
            let g = CrossEntropyDynamics.lossGradient(u, targets: y, outputCount: k)
            let dBeta = (0..<n).map { -eta * (g[$0] / Double(m) + rho * beta[$0]) }
            return h.times(dBeta) + dBeta
        }
        let steps = 40_000
        let dt = time / Double(steps)
        var s = u0 + [Double](repeating: 0, count: n)
        func axpy(_ a: [Double], _ c: Double, _ b: [Double]) -> [Double] { (0..<a.count).map { a[$0] + c * b[$0] } }
        for _ in 0..<steps {
            let k1 = f(s), k2 = f(axpy(s, dt / 2, k1)), k3 = f(axpy(s, dt / 2, k2)), k4 = f(axpy(s, dt, k3))
            for i in s.indices { s[i] += dt / 6 * (k1[i] + 2 * k2[i] + 2 * k3[i] + k4[i]) }
        }
        return s
    }

    func testCrossEntropyODEMatchesFineFixedStepIntegration() throws {
        let p = try problem(samples: 6, widths: [5, 12, 10, 3])
        let k = 3, m = p.m
        var y = [Double](repeating: 0, count: m * k)
        for i in 0..<m { y[i * k + i % k] = 1 }
        let h = p.jac.gram()
        for rho in [0.0, 0.01] {
            var ode = CrossEntropyDynamics(gramProduct: { h.times($0) }, sampleCount: m, outputCount: k, learningRate: 2, ridge: rho)
            ode.relativeTolerance = 1e-10
            ode.absoluteTolerance = 1e-12
            let times = [5.0, 0.5, 20.0]
            let states = try ode.integrate(initialOutputs: p.u0, targets: y, times: times)
            for (state, t) in zip(states, times) {
                let reference = crossEntropyReference(h, u0: p.u0, y: y, k: k, m: m, eta: 2, rho: rho, time: t)
                let n = m * k
                XCTAssertLessThan(relativeError(state.outputs, Array(reference[0..<n])), 1e-5, "u at t=\(t)")
                XCTAssertLessThan(relativeError(state.coefficients, Array(reference[n...])), 1e-5, "β at t=\(t)")
            }
            // Training lowers the loss.
            XCTAssertLessThan(CrossEntropyDynamics.loss(states[2].outputs, targets: y, outputCount: k),
                              CrossEntropyDynamics.loss(p.u0, targets: y, outputCount: k))
        }
    }

    func testClosedFormPredictionsMatchNeuralTangents() throws {
        for name in ["relu", "relu_ridge", "tanh", "tanh_ridge"] {
            let f = try fixture("predict_\(name)")
            let activation = Activation(rawValue: name.components(separatedBy: "_")[0])!
            let arch = try MLPArchitecture(widths: MLPParameters<Double>.widths(in: f)!, activation: activation,
                                           biasScale: try f.array("beta").scalar())
            let net = try MLP(architecture: arch, parameters: MLPParameters<Double>(archive: f, architecture: arch))
            let xTrain: Matrix<Double> = try f.array("x_train").matrix(), xTest: Matrix<Double> = try f.array("x_test").matrix()
            let yTrain: Matrix<Double> = try f.array("y_train").matrix()
            var options = LinearizationOptions()
            options.solver = .eigen
            options.learningRate = try f.array("eta").scalar()
            options.ridge = try f.array("rho").scalar()
            var training = try LinearizedTraining(network: net, inputs: xTrain, targets: yTrain, options: options)
            // Our kernel from the weights equals neural-tangents' kernel.
            let ntTrain: Matrix<Double> = try f.array("ntk_train").matrix()
            XCTAssertLessThan(training.jacobian.gram(.exact).relativeDistance(to: ntTrain), 1e-10, name)
            let times: [Double] = try f.array("times").values()
            let solutions = try training.solve(times: times)
            let test = try FactoredJacobian(network: net, inputs: xTest)
            let ntTest: [Double] = try f.array("fx_test_t").values(), ntTrainLin: [Double] = try f.array("fx_train_lin_t").values()
            let mk = yTrain.count, tk = xTest.rows * 2
            for (i, s) in solutions.enumerated() {
                let e1 = maxRelativeError(s.trainOutputs, Array(ntTrainLin[(i * mk)..<((i + 1) * mk)]))
                let e2 = maxRelativeError(training.predict(test, s.coefficients), Array(ntTest[(i * tk)..<((i + 1) * tk)]))
                XCTAssertLessThan(e1, 1e-6, "\(name) train t=\(s.time): \(e1)")
                XCTAssertLessThan(e2, 1e-6, "\(name) test t=\(s.time): \(e2)")
            }
        }
    }
}
