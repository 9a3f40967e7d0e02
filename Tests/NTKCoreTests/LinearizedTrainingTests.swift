import NTKCore
import XCTest

final class LinearizedTrainingTests: XCTestCase {
    private func setUpProblem<S: BLASScalar>(_ type: S.Type, loss: LossFunction = .mse) throws -> (MLP<S>, Matrix<S>, Matrix<Double>, Matrix<S>) {
        let arch = try MLPArchitecture(widths: [6, 24, 24, 3], activation: .relu, biasScale: 0.1)
        let net = MLP<S>(architecture: arch, seed: 3)
        let x: Matrix<S> = randomMatrix(15, 6, seed: 4)
        var y = Matrix<Double>(rows: 15, columns: 3)
        for i in 0..<15 { y[i, (i * 7) % 3] = 1 }
        let test: Matrix<S> = randomMatrix(5, 6, seed: 5)
        return (net, x, y, test)
    }

    /// The two solvers of the exact kernel are interchangeable: dense eigendecomposition and Lanczos
    /// on `v ↦ Zᵀ(Z v)` give the same `θ_t`, train and test outputs.
    func testLanczosAndEigenSolversGiveTheSameTraining() throws {
        let (net, x, y, test) = try setUpProblem(Double.self)
        let times = [0.5, 5, 50, 500]
        var results: [[LinearizedTraining<Double>.Solution]] = []
        var parameters: [[[Double]]] = []
        var predictions: [[[Double]]] = []
        let testJacobian = try FactoredJacobian(network: net, inputs: test)
        for solver in [KernelSolver.eigen, .lanczos] {
            var options = LinearizationOptions()
            options.solver = solver
            options.learningRate = 2
            options.ridge = 1e-3
            options.tolerance = 1e-12
            var training = try LinearizedTraining(network: net, inputs: x, targets: y, options: options)
            let solutions = try training.solve(times: times)
            results.append(solutions)
            parameters.append(solutions.map { training.parameters($0.coefficients) })
            predictions.append(solutions.map { training.predict(testJacobian, $0.coefficients) })
            XCTAssertFalse(training.report.isEmpty)
        }
        for i in times.indices {
            XCTAssertLessThan(relativeError(parameters[1][i], parameters[0][i]), 1e-8)
            XCTAssertLessThan(relativeError(results[1][i].trainOutputs, results[0][i].trainOutputs), 1e-8)
            XCTAssertLessThan(relativeError(predictions[1][i], predictions[0][i]), 1e-8)
        }
        // Longer training fits the training set better.
        let losses = results[0].map { Evaluation(outputs: $0.trainOutputs, targets: y.elements, outputCount: 3, loss: .mse).loss }
        XCTAssertEqual(losses, losses.sorted(by: >))
    }

    /// Float32 Jacobians (the wire format) against Float64: the narrowing costs about single precision.
    func testSinglePrecisionJacobiansStayCloseToDouble() throws {
        let (net64, x64, y, _) = try setUpProblem(Double.self)
        let net32 = try MLP(architecture: net64.architecture, parameters: net64.parameters.converted(to: Float.self))
        var options = LinearizationOptions()
        options.learningRate = 1
        var t64 = try LinearizedTraining(network: net64, inputs: x64, targets: y, options: options)
        var t32 = try LinearizedTraining(network: net32, inputs: x64.converted(to: Float.self), targets: y, options: options)
        let s64 = try t64.solve(times: [10]), s32 = try t32.solve(times: [10])
        XCTAssertLessThan(relativeError(s32[0].trainOutputs, s64[0].trainOutputs), 1e-4)
        XCTAssertLessThan(t32.jacobian.gram(.exact).converted(to: Double.self).relativeDistance(to: t64.jacobian.gram(.exact)), 1e-5)
    }

    func testCrossEntropyTrainingReducesLossOnBothSolvers() throws {
        let (net, x, y, _) = try setUpProblem(Double.self)
        var outputs: [[Double]] = []
        for solver in [KernelSolver.eigen, .lanczos] {
            var options = LinearizationOptions()
            options.loss = .crossEntropy
            options.solver = solver
            options.learningRate = 5
            options.tolerance = 1e-9
            var training = try LinearizedTraining(network: net, inputs: x, targets: y, options: options)
            let s = try training.solve(times: [20])
            let before = Evaluation(outputs: training.initialOutputs, targets: y.elements, outputCount: 3, loss: .crossEntropy)
            let after = Evaluation(outputs: s[0].trainOutputs, targets: y.elements, outputCount: 3, loss: .crossEntropy)
            XCTAssertLessThan(after.loss, before.loss)
            outputs.append(s[0].trainOutputs)
        }
        XCTAssertLessThan(relativeError(outputs[1], outputs[0]), 1e-6)
    }

    func testAveragedKernelIsLabelledAndUsable() throws {
        let (net, x, y, _) = try setUpProblem(Double.self)
        var options = LinearizationOptions()
        options.kernel = .outputAveraged
        var training = try LinearizedTraining(network: net, inputs: x, targets: y, options: options)
        XCTAssertTrue(training.usesDenseGram)
        let s = try training.solve(times: [0, 10])
        XCTAssertLessThan(relativeError(s[0].trainOutputs, training.initialOutputs), 1e-12)   // t = 0 changes nothing
        XCTAssertTrue(training.report.contains("averaged"))
    }
}

/// Between kernel refreshes the server continues on the same kernel: integrating to t₁ and then for t₂
/// more must equal integrating to t₁ + t₂ in one go (with and without ridge, both losses).
final class ContinuationTests: XCTestCase {
    func testContinuingOnTheSameKernelEqualsOneLongerIntegration() throws {
        let arch = try MLPArchitecture(widths: [4, 16, 16, 3], activation: .tanh, biasScale: 0.2)
        let net = MLP<Double>(architecture: arch, seed: 12)
        let x: Matrix<Double> = randomMatrix(10, 4, seed: 13)
        var y = Matrix<Double>(rows: 10, columns: 3)
        for i in 0..<10 { y[i, i % 3] = 1 }
        for (loss, solver, rho) in [(LossFunction.mse, KernelSolver.eigen, 0.0), (.mse, .eigen, 0.03), (.mse, .lanczos, 0.03), (.crossEntropy, .eigen, 0.01)] {
            var options = LinearizationOptions()
            options.loss = loss
            options.solver = solver
            options.ridge = rho
            options.learningRate = 1.5
            options.tolerance = 1e-11
            var training = try LinearizedTraining(network: net, inputs: x, targets: y, options: options)
            let once = try training.solve(times: [7])[0]
            let first = try training.solve(times: [3])[0]
            let then = try training.solve(times: [4], from: first.coefficients)[0]
            let err = relativeError(then.coefficients, once.coefficients)
            XCTAssertLessThan(err, loss == .mse ? 1e-9 : 1e-6, "\(loss) \(solver) ρ=\(rho): \(err)")
        }
    }
}
