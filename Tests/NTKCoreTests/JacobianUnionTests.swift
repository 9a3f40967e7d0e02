import NTKCore
import XCTest

/// A federation's union of blocks must behave exactly like one block on all the samples.
final class JacobianUnionTests: XCTestCase {
    private func rows(_ x: Matrix<Double>, _ range: Range<Int>) -> Matrix<Double> {
        Matrix(rows: range.count, columns: x.columns, elements: Array(x.elements[(range.lowerBound * x.columns)..<(range.upperBound * x.columns)]))
    }

    func testUnionOfShardsEqualsTheWholeInAnyArrivalOrder() throws {
        let (net, x) = try smallProblem(activation: .relu, widths: [5, 14, 10, 3], samples: 11)
        let whole = try FactoredJacobian(network: net, inputs: x)
        let shards = [0..<4, 4..<5, 5..<11]
        // Mixed representations: the middle worker sends a dense block.
        let parts: [any JacobianOperator<Double>] = try shards.enumerated().map { i, r in
            let f = try FactoredJacobian(network: net, inputs: rows(x, r))
            return i == 1 ? f.denseBlock() : f
        }
        let union = try JacobianUnion(parts)
        for kind in KernelKind.allCases {
            let reference = whole.gram(kind)
            XCTAssertLessThan(union.gram(kind).relativeDistance(to: reference), 1e-12, "\(kind)")
            for order in [[2, 0, 1], [1, 2, 0], [0, 1, 2]] {
                var assembler = GramAssembler<Double>(partSizes: parts.map(\.sampleCount), outputCount: 3, kind: kind)
                for i in order {
                    XCTAssertFalse(assembler.isComplete)
                    assembler.add(parts[i], at: i)
                }
                XCTAssertEqual(assembler.gram, union.gram(kind), "arrival order \(order) must not change a bit")
            }
        }
        var g = PortableGaussian(seed: 8)
        let v: [Double] = g.fill(union.columnCount)
        XCTAssertLessThan(relativeError(union.contract(v), whole.contract(v)), 1e-12)
        let w: [Double] = g.fill(net.architecture.parameterCount)
        XCTAssertLessThan(relativeError(union.jvp(w), whole.jvp(w)), 1e-12)
        XCTAssertLessThan(union.outputs.relativeDistance(to: whole.outputs), 1e-14)   // BLAS blocking differs with m: not bit-equal
    }

    func testTrainingOnTheUnionGivesTheSameWeights() throws {
        let (net, x) = try smallProblem(activation: .erf, widths: [5, 12, 12, 2], samples: 9)
        var y = Matrix<Double>(rows: 9, columns: 2)
        for i in 0..<9 { y[i, i % 2] = 1 }
        let parts: [any JacobianOperator<Double>] = try [0..<3, 3..<9].map { try FactoredJacobian(network: net, inputs: rows(x, $0)) }
        for solver in [KernelSolver.eigen, .lanczos] {
            var options = LinearizationOptions()
            options.solver = solver
            options.tolerance = 1e-12
            var single = try LinearizedTraining(network: net, inputs: x, targets: y, options: options)
            var joined = try LinearizedTraining(initialParameters: net.parameters.flattened, jacobian: JacobianUnion(parts), targets: y, options: options)
            let a = try single.solve(times: [3, 30]), b = try joined.solve(times: [3, 30])
            for (s, t) in zip(a, b) {
                XCTAssertLessThan(relativeError(joined.parameters(t.coefficients), single.parameters(s.coefficients)), 1e-10)
            }
        }
    }
}

final class KernelDriftTests: XCTestCase {
    func testEstimatedDriftTracksTheExactOne() throws {
        let (net, x) = try smallProblem(activation: .relu, widths: [5, 64, 64, 2], samples: 12)
        let before = try FactoredJacobian(network: net, inputs: x)
        // Move the weights a little, as a round of training would.
        var g = PortableGaussian(seed: 31)
        let moved = try MLP(architecture: net.architecture,
                            parameters: net.parameters.adding(net.parameters.reshaping(g.fill(net.architecture.parameterCount)), scaledBy: 0.05))
        let after = try FactoredJacobian(network: moved, inputs: x)
        let exact = KernelDrift.exact(new: after.gram(), old: before.gram())
        let estimate = try XCTUnwrap(KernelDrift.estimate(new: after, old: before, probes: 64))
        XCTAssertGreaterThan(exact, 1e-3)
        XCTAssertEqual(estimate, exact, accuracy: 0.35 * exact)
        XCTAssertEqual(KernelDrift.estimate(new: before, old: before), 0)
    }
}
