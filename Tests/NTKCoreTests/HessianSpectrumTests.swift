import Foundation
import NTKCore
import XCTest

/// The loss Hessian against the NTK (papers/hessian-spectrum-via-ntk.txt §3): `∇²L = I + S` with the MSE
/// `L = (1/2N) Σ_i ‖f(x_i) − y_i‖²`; `I`'s non-zero eigenvalues are the Gram's over N, and `S` fades
/// (in operator norm) as the width grows.
final class HessianSpectrumTests: XCTestCase {
    /// A tanh network in NTK parametrization with Gaussian targets, so that the residual (hence `S`) is not small.
    private func problem(widths: [Int], samples: Int, seed: UInt64) throws -> (MLP<Double>, Matrix<Double>, Matrix<Double>) {
        let (net, x) = try smallProblem(activation: .tanh, widths: widths, samples: samples, seed: seed)
        let y: Matrix<Double> = randomMatrix(samples, widths.last!, seed: seed &+ 200)
        return (net, x, y)
    }

    private func loss(_ net: MLP<Double>, _ x: Matrix<Double>, _ y: Matrix<Double>) throws -> Double {
        let u = try net(x)
        return zip(u.elements, y.elements).reduce(0) { $0 + ($1.0 - $1.1) * ($1.0 - $1.1) } / (2 * Double(x.rows))
    }

    private func shifted(_ net: MLP<Double>, _ v: [Double], by h: Double) throws -> MLP<Double> {
        let theta = net.parameters.flattened
        return try MLP(architecture: net.architecture, parameters: net.parameters.reshaping(zip(theta, v).map { $0 + h * $1 }))
    }

    func testGaussNewtonEigenvaluesAreTheGramsOverN() throws {
        let n = 5
        let (net, x, y) = try problem(widths: [3, 12, 10, 2], samples: n, seed: 7)
        let hessian = try LossHessian(network: net, inputs: x, targets: y)
        let p = net.architecture.parameterCount, nk = n * 2
        XCTAssertGreaterThan(p, nk, "the identity is about an over-parametrized network: I has a null space")

        // The normalization, checked against the loss itself rather than against Z: the gradient along a random
        // direction, and the Hessian's quadratic form, from differences of L.
        let v: [Double] = randomMatrix(1, p, seed: 99).elements
        let h = 1e-4
        let lp = try loss(shifted(net, v, by: h), x, y), lm = try loss(shifted(net, v, by: -h), x, y), l0 = try loss(net, x, y)
        let directional = (lp - lm) / (2 * h)
        XCTAssertEqual(dot(hessian.gradient, v), directional, accuracy: 1e-6 * abs(directional))
        let curvature = (lp - 2 * l0 + lm) / (h * h)
        let quadratic = dot(v, hessian.hessian.times(v))
        XCTAssertEqual(quadratic, curvature, accuracy: 1e-4 * abs(curvature))

        // Non-zero eigenvalues of I = eig(H)/N; the other P − Nk are zero.
        let gaussNewton = try SymmetricEigen(hessian.gaussNewton).values.sorted(by: >)
        let gram = try SymmetricEigen(hessian.gram).values.sorted(by: >).map { $0 / Double(n) }
        let top = gram[0]
        let identityError = zip(gaussNewton.prefix(nk), gram).map { abs($0 - $1) }.max()! / top
        let nullSize = gaussNewton.dropFirst(nk).map(abs).max()! / top
        print("I vs H/N (N = \(n), P = \(p)): max |Δλ|/λ_max = \(identityError), |λ| beyond rank Nk: \(nullSize)")
        XCTAssertLessThan(identityError, 1e-8)
        XCTAssertLessThan(nullSize, 1e-10)
        XCTAssertGreaterThan(gram.last!, 1e-3 * top, "the Gram must be well conditioned for the comparison to mean anything")

        // The Hessian from differences of exact gradients is symmetric, and S = ∇²L − I is symmetric and not zero.
        let s = hessian.residualPart
        print("finite-difference asymmetry \(hessian.asymmetry), ‖S‖_F/‖I‖_F = \(s.frobeniusNorm / hessian.gaussNewton.frobeniusNorm)")
        XCTAssertLessThan(hessian.asymmetry, 1e-7)
        XCTAssertLessThan(s.relativeDistance(to: s.transposed), 1e-12)
        XCTAssertGreaterThan(s.frobeniusNorm, 1e-2 * hessian.gaussNewton.frobeniusNorm)
    }

    /// `S` against `I` as the hidden layer widens (one hidden layer, so that P stays ~1500 at width 256).
    ///
    /// The paper (§3.4) predicts `‖S‖_op → 0` while `‖S‖_F² = Tr S² → ∇Cᵀ Υ̃ ∇C` stays finite: `S` spreads over
    /// more and more ever smaller eigenvalues. So the operator-norm ratio must fall and the Frobenius ratio must
    /// not; and `I`, `S` become mutually orthogonal (§3.2, `‖IS‖_F → 0`).
    func testResidualPartFadesInOperatorNormAsWidthGrows() throws {
        let widths = [16, 64, 256], seeds: [UInt64] = [1, 2, 3, 4], n = 6
        var operatorRatio: [Double] = [], frobeniusRatio: [Double] = [], overlap: [Double] = []
        for w in widths {
            var op = 0.0, fro = 0.0, ov = 0.0
            for seed in seeds {
                let (net, x, y) = try problem(widths: [3, w, 2], samples: n, seed: seed)
                let hessian = try LossHessian(network: net, inputs: x, targets: y)
                let i = hessian.gaussNewton, s = hessian.residualPart
                let sEigen = try SymmetricEigen(s).values
                let gram = try SymmetricEigen(hessian.gram).values.sorted(by: >).map { $0 / Double(n) }
                let sOperator = max(abs(sEigen.first!), abs(sEigen.last!)), iOperator = gram[0]
                if w <= 64 {
                    // Weyl: the Hessian's top eigenvalues are the Gram's over N, displaced by at most ‖S‖_op.
                    let hEigen = try SymmetricEigen(hessian.hessian).values.sorted(by: >)
                    for (a, b) in zip(hEigen, gram) { XCTAssertLessThanOrEqual(abs(a - b), sOperator * (1 + 1e-6) + 1e-9 * iOperator) }
                }
                op += sOperator / iOperator
                fro += s.frobeniusNorm / i.frobeniusNorm
                ov += Matrix.product(i, s).frobeniusNorm / (i.frobeniusNorm * s.frobeniusNorm)
            }
            let c = Double(seeds.count)
            operatorRatio.append(op / c); frobeniusRatio.append(fro / c); overlap.append(ov / c)
        }
        for (j, w) in widths.enumerated() {
            print(String(format: "width %4d: ‖S‖_op/‖I‖_op = %.4f   ‖S‖_F/‖I‖_F = %.4f   ‖IS‖_F/(‖I‖_F‖S‖_F) = %.4f",
                         w, operatorRatio[j], frobeniusRatio[j], overlap[j]))
        }
        // ‖S‖_op is the largest of ~width per-neuron blocks of size O(1/√width): it falls like √(log w / w), slower
        // than 1/√w at these widths (measured ≈ 0.7× per quadrupling, 4 seeds).
        for j in 1..<widths.count {
            XCTAssertLessThan(operatorRatio[j], operatorRatio[j - 1], "‖S‖_op/‖I‖_op did not fall from width \(widths[j - 1]) to \(widths[j])")
            XCTAssertLessThan(overlap[j], 0.75 * overlap[j - 1], "I and S did not become more orthogonal from width \(widths[j - 1]) to \(widths[j])")
        }
        XCTAssertLessThan(operatorRatio.last!, 0.7 * operatorRatio.first!)
        XCTAssertGreaterThan(frobeniusRatio.last!, 0.5 * frobeniusRatio.first!, "‖S‖_F should stay comparable to ‖I‖_F (Tr S² has a finite limit)")
    }
}
