import Foundation
import NTKCore
import XCTest

/// `KernelSpectrum`'s training diagnostics: the stable step and the slow part of the residual, checked against
/// what gradient descent and the integrator actually do rather than against their own formulas.
final class SpectrumDiagnosticsTests: XCTestCase {
    private let m = 12, k = 3

    private func problem() throws -> (MLP<Double>, Matrix<Double>, Matrix<Double>) {
        let (net, x) = try smallProblem(activation: .tanh, widths: [4, 32, 3], samples: m, seed: 5)
        let y: Matrix<Double> = randomMatrix(m, k, seed: 77)
        return (net, x, y)
    }

    private func training(kernel: KernelKind = .exact, solver: KernelSolver = .eigen, eta: Double = 1, ridge: Double = 0,
                          times: [Double]) throws -> (LinearizedTraining<Double>, [LinearizedTraining<Double>.Solution]) {
        let (net, x, y) = try problem()
        var options = LinearizationOptions()
        options.kernel = kernel
        options.solver = solver
        options.learningRate = eta
        options.ridge = ridge
        options.tolerance = 1e-12
        var t = try LinearizedTraining(network: net, inputs: x, targets: y, options: options)
        let solutions = try t.solve(times: times)
        return (t, solutions)
    }

    /// A time that puts the slow threshold m/(ητ) at the median eigenvalue, so both parts are large.
    private func medianTime(eta: Double = 1) throws -> Double {
        let (t, _) = try training(times: [1])
        let eigen = try SymmetricEigen(t.denseGram!).values.sorted()
        return Double(m) / (eta * eigen[eigen.count / 2])
    }

    /// Plain discrete gradient descent on the linearized loss `(1/2m)‖u − y‖² + (ρ/2)‖θ − θ_0‖²`, written in
    /// `β` (`θ − θ_0 = Zβ`): `β ← β − η((u − y)/m + ρβ)`, `u = u_0 + Hβ`. Returns `‖u − y‖` after `steps`.
    private func descend(gram h: Matrix<Double>, u0: [Double], y: [Double], eta: Double, ridge: Double, steps: Int) -> Double {
        var beta = [Double](repeating: 0, count: u0.count)
        var r = zip(u0, y).map { $0 - $1 }
        for _ in 0..<steps {
            for i in beta.indices { beta[i] -= eta * (r[i] / Double(m) + ridge * beta[i]) }
            let hb = h.times(beta)
            for i in r.indices { r[i] = u0[i] + hb[i] - y[i] }
        }
        return norm(r)
    }

    func testStableStepSeparatesConvergentFromDivergentDescent() throws {
        let (net, x, y) = try problem()
        let u0 = try net(x).elements
        let r0 = norm(zip(u0, y.elements).map { $0 - $1 })
        for ridgeFraction in [0.0, 0.2] {
            let (t0, _) = try training(times: [1])
            let h = t0.denseGram!
            let lambdaMax = t0.spectrum!.largest
            let ridge = ridgeFraction * lambdaMax / Double(m)
            let (t, _) = try training(ridge: ridge, times: [1])
            let step = try XCTUnwrap(t.spectrum?.stableStep)
            // The ridge raises the Hessian's top eigenvalue, so the bound must fall with it.
            if ridge > 0 { XCTAssertLessThan(step, 2 * Double(m) / lambdaMax * 0.9) }
            let below = descend(gram: h, u0: u0, y: y.elements, eta: 0.98 * step, ridge: ridge, steps: 3000)
            let above = descend(gram: h, u0: u0, y: y.elements, eta: 1.02 * step, ridge: ridge, steps: 3000)
            print("ρ = \(ridge): stable step \(step); ‖r‖ \(r0) → \(below) at 0.98×, \(above) at 1.02×")
            XCTAssertLessThan(below, r0)
            XCTAssertGreaterThan(above, 1e3 * r0)
        }
    }

    func testSlowFractionBoundsTheResidualTheIntegrationLeaves() throws {
        let tau = try medianTime()
        let (net, x, y) = try problem()
        let r0 = zip(try net(x).elements, y.elements).map { $0 - $1 }
        // The round's candidate times: the threshold follows the longest.
        let (t, solutions) = try training(times: [tau / 10, tau])
        let spectrum = try XCTUnwrap(t.spectrum)
        let slow = try XCTUnwrap(spectrum.slowResidualFraction)
        XCTAssertEqual(spectrum.slowTime, tau)
        XCTAssertEqual(try XCTUnwrap(spectrum.slowThreshold), Double(m) / tau, accuracy: 1e-12 * Double(m) / tau)
        XCTAssertGreaterThan(slow, 0.05)
        XCTAssertLessThan(slow, 0.95)
        // Slow directions keep more than 1/e of their amplitude, fast ones less: what is left of ‖r‖² at τ lies in
        // [slow·e⁻², slow + (1 − slow)·e⁻²].
        let left = zip(solutions[1].trainOutputs, y.elements).map { $0 - $1 }
        let kept = dot(left, left) / dot(r0, r0)
        let e2 = exp(-2.0)
        print("slow fraction \(slow) at τ = \(tau): ‖r_τ‖²/‖r_0‖² = \(kept) ∈ [\(slow * e2), \(slow + (1 - slow) * e2)]")
        XCTAssertGreaterThanOrEqual(kept, slow * e2)
        XCTAssertLessThanOrEqual(kept, slow + (1 - slow) * e2)
        // Longer integration leaves less of the residual slow.
        let (longer, _) = try training(times: [10 * tau])
        XCTAssertLessThan(try XCTUnwrap(longer.spectrum?.slowResidualFraction), slow)
    }

    func testLanczosQuadratureMatchesTheDenseProjection() throws {
        let tau = try medianTime(eta: 0.5)
        let (dense, _) = try training(solver: .eigen, eta: 0.5, ridge: 1e-3, times: [tau])
        let (krylov, _) = try training(solver: .lanczos, eta: 0.5, ridge: 1e-3, times: [tau])
        let d = try XCTUnwrap(dense.spectrum), l = try XCTUnwrap(krylov.spectrum)
        XCTAssertEqual(d.method, "dense")
        XCTAssertEqual(l.method, "ritz")
        print("slow fraction: dense \(d.slowResidualFraction!), Lanczos \(l.slowResidualFraction!) (\(krylov.lanczosIterations!) iterations of \(m * k)); stable step \(d.stableStep!) vs \(l.stableStep!)")
        XCTAssertEqual(l.stableStep!, d.stableStep!, accuracy: 1e-8 * d.stableStep!)
        XCTAssertEqual(l.slowResidualFraction!, d.slowResidualFraction!, accuracy: 0.02)
        XCTAssertGreaterThan(d.slowResidualFraction!, 0.05)
    }

    func testAveragedKernelProjectsEveryOutput() throws {
        let tau = try medianTime()
        let (t, _) = try training(kernel: .outputAveraged, times: [tau])
        let spectrum = try XCTUnwrap(t.spectrum)
        let (net, x, y) = try problem()
        let r0 = zip(try net(x).elements, y.elements).map { $0 - $1 }
        // The m × m kernel serves k residual columns: the measure must carry all of ‖r‖².
        let measure = KernelSpectrum.measure(of: r0, on: try SymmetricEigen(t.denseGram!))
        XCTAssertEqual(measure.count, m)
        XCTAssertEqual(measure.reduce(0) { $0 + $1.weight }, dot(r0, r0), accuracy: 1e-10 * dot(r0, r0))
        let slow = try XCTUnwrap(spectrum.slowResidualFraction)
        XCTAssertGreaterThan(slow, 0)
        XCTAssertLessThan(slow, 1)
    }

    func testRecordsWithoutDiagnosticsStillDecode() throws {
        var spectrum = KernelSpectrum(eigenvalues: [4, 2, 1, 1e-20], relativeFloor: 1e-12, method: "dense")
        let old = try JSONEncoder().encode(spectrum)
        let decodedOld = try JSONDecoder().decode(KernelSpectrum.self, from: old)
        XCTAssertNil(decodedOld.stableStep)
        XCTAssertNil(decodedOld.slowResidualFraction)
        XCTAssertFalse(String(decoding: old, as: UTF8.self).contains("stableStep"))
        // m/(ητ) = 2: λ = 2 is at the threshold (slow), λ = 1e-20 below the noise floor (never learned: slow).
        spectrum.addDiagnostics(measure: [(4, 1), (2, 1), (1, 1), (1e-20, 1)], residualNorm2: 4, sampleCount: 4,
                                learningRate: 1, ridge: 0.5, time: 2)
        XCTAssertEqual(spectrum.stableStep!, 2 / (4.0 / 4 + 0.5), accuracy: 1e-15)
        XCTAssertEqual(spectrum.slowThreshold!, 2, accuracy: 1e-15)
        XCTAssertEqual(spectrum.slowResidualFraction!, 0.75, accuracy: 1e-15)
        let new = try JSONDecoder().decode(KernelSpectrum.self, from: try JSONEncoder().encode(spectrum))
        XCTAssertEqual(new, spectrum)
    }
}
