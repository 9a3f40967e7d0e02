import Foundation
import NTKCore
import XCTest

/// The hypernetwork model and its Jacobian (papers/wide-hypernetworks.txt §2, eq. 5–7 and 19).
final class HypernetworkTests: XCTestCase {
    /// A small hypernetwork (f: 3 → 6 → 5 → n_L, g: 4 → 5 → 3 → 2) and a batch of 7 samples on 3 distinct x.
    private func smallHypernetwork(biasScale: Double = 0.3, seed: UInt64 = 3) throws -> (Hypernetwork<Double>, HypernetworkInputs<Double>) {
        let arch = try HypernetworkArchitecture(metaWidths: [3, 6, 5], primaryWidths: [4, 5, 3, 2], metaBiasScale: biasScale)
        let net = Hypernetwork<Double>(architecture: arch, seed: seed)
        let x = randomMatrix(3, 3, seed: seed &+ 10, as: Double.self)
        let z = randomMatrix(7, 4, seed: seed &+ 20, as: Double.self)
        let inputs = try HypernetworkInputs(metaInputs: x, primaryInputs: z, metaIndex: [0, 2, 1, 0, 2, 2, 1])
        return (net, inputs)
    }

    /// Eq. 5 and 7 written out per sample with plain loops: the reference for the batched GEMM path.
    private func referenceOutput(_ net: Hypernetwork<Double>, x: [Double], z: [Double]) -> [Double] {
        let p = net.meta.parameters, arch = net.architecture
        var q = x
        for l in 0..<p.weights.count {
            let W = p.weights[l]
            var y = [Double](repeating: 0, count: W.rows)
            for r in 0..<W.rows {
                var s = 0.0
                for c in 0..<W.columns { s += W[r, c] * q[c] }
                y[r] = s / Double(W.columns).squareRoot() + arch.metaBiasScale * p.biases[l][r]
            }
            q = l == p.weights.count - 1 ? y : y.map { 2.0.squareRoot() * max($0, 0) }
        }
        let v = q
        var a = z
        let widths = arch.primaryWidths
        for l in 1...arch.primaryDepth {
            let offset = arch.primaryWeightOffset(layer: l)
            var g = [Double](repeating: 0, count: widths[l])
            for r in 0..<widths[l] {
                var s = 0.0
                for c in 0..<widths[l - 1] { s += v[offset + r * widths[l - 1] + c] * a[c] }
                g[r] = s / Double(widths[l - 1]).squareRoot()
            }
            a = l == arch.primaryDepth ? g : g.map { 2.0.squareRoot() * max($0, 0) }
        }
        return a
    }

    func testForwardMatchesThePapersEquations() throws {
        let (net, inputs) = try smallHypernetwork()
        let h = try net(inputs)
        XCTAssertEqual(h.rows, 7)
        XCTAssertEqual(h.columns, 2)
        for i in 0..<inputs.sampleCount {
            let expected = referenceOutput(net, x: inputs.metaInputs.row(inputs.metaIndex[i]), z: inputs.primaryInputs.row(i))
            XCTAssertLessThan(maxRelativeError(h.row(i), expected), 1e-13, "sample \(i)")
        }
        XCTAssertEqual(net.architecture.primaryWeightCount, 5 * 4 + 3 * 5 + 2 * 3)
        XCTAssertEqual(try net.primaryWeights(inputs.metaInputs).columns, net.architecture.primaryWeightCount)
    }

    func testSharedAndPairedMetaInputsGiveTheSameOutputsAndJacobian() throws {
        let (net, shared) = try smallHypernetwork()
        let paired = try HypernetworkInputs(pairing: shared.metaInputs.gatheringRowsForTest(shared.metaIndex), with: shared.primaryInputs)
        XCTAssertLessThan(maxRelativeError(try net(paired).elements, try net(shared).elements), 1e-15)
        let a = try net.jacobian(shared).dense.columnsAsRows, b = try net.jacobian(paired).dense.columnsAsRows
        XCTAssertLessThan(maxRelativeError(a.elements, b.elements), 1e-14)
        // A worker's batch: one x for all samples.
        let worker = try HypernetworkInputs(metaInput: shared.metaInputs.row(1), primaryInputs: shared.primaryInputs)
        for i in 0..<worker.sampleCount {
            let expected = referenceOutput(net, x: shared.metaInputs.row(1), z: shared.primaryInputs.row(i))
            XCTAssertLessThan(maxRelativeError(try net(worker).row(i), expected), 1e-13)
        }
    }

    /// `∂h/∂w` by the chain rule against central differences of `h`, every parameter, Float64.
    func testJacobianMatchesCentralFiniteDifferences() throws {
        for beta in [0.0, 0.3] {
            let (net, inputs) = try smallHypernetwork(biasScale: beta)
            let block = try net.jacobian(inputs).dense
            let w = net.parameters
            XCTAssertEqual(block.parameterCount, w.count)
            XCTAssertEqual(block.columnsAsRows.rows, inputs.sampleCount * 2)
            let eps = 1e-6
            var worst = 0.0
            var numeric = Matrix<Double>(rows: block.columnsAsRows.rows, columns: w.count)
            for p in 0..<w.count {
                var plus = w, minus = w
                plus[p] += eps
                minus[p] -= eps
                let hp = try Hypernetwork(architecture: net.architecture, parameters: plus)(inputs)
                let hm = try Hypernetwork(architecture: net.architecture, parameters: minus)(inputs)
                for r in 0..<hp.count { numeric[r, p] = (hp.elements[r] - hm.elements[r]) / (2 * eps) }
            }
            worst = maxRelativeError(block.columnsAsRows.elements, numeric.elements)
            print("hypernetwork Jacobian vs central differences (β = \(beta)): max relative error \(worst)")
            XCTAssertLessThan(worst, 1e-6, "β = \(beta)")
            XCTAssertLessThan(maxRelativeError(block.outputs.elements, try net(inputs).elements), 1e-15)
        }
    }

    func testFloat32JacobianAgreesWithFloat64() throws {
        let (net, inputs) = try smallHypernetwork()
        let net32 = try Hypernetwork<Float>(architecture: net.architecture, parameters: net.parameters.map { Float($0) })
        let z64 = try net.jacobian(inputs).dense.columnsAsRows
        let z32 = try net32.jacobian(inputs.converted(to: Float.self)).dense.columnsAsRows.converted(to: Double.self)
        let err = maxRelativeError(z32.elements, z64.elements)
        XCTAssertLessThan(err, 1e-5, "Float32 vs Float64 Jacobian")
    }

    /// The factored hyperkernel equals `Z Zᵀ` of the dense block, for the Gram and a cross Gram.
    func testFactoredHyperkernelEqualsDenseProduct() throws {
        let (net, inputs) = try smallHypernetwork()
        let jac = try net.jacobian(inputs)
        let dense = jac.dense.columnsAsRows
        let expected = Matrix.product(dense, dense, transposeB: true)
        XCTAssertLessThan(jac.gram().relativeDistance(to: expected), 1e-13)
        let other = try HypernetworkInputs(metaInput: [0.3, -1.2, 0.8], primaryInputs: randomMatrix(3, 4, seed: 99, as: Double.self))
        let jacB = try net.jacobian(other)
        let cross = Matrix.product(dense, jacB.dense.columnsAsRows, transposeB: true)
        XCTAssertLessThan(jac.crossGram(with: jacB).relativeDistance(to: cross), 1e-13)
        // ∂h/∂v alone: its rows are the cotangents f receives.
        XCTAssertEqual(jac.primaryWeightGradients.columns, net.architecture.primaryWeightCount)
    }

    func testFlatParametersRoundTripAndShapeErrors() throws {
        let (net, inputs) = try smallHypernetwork()
        let copy = try Hypernetwork<Double>(architecture: net.architecture, parameters: net.parameters)
        XCTAssertEqual(try copy(inputs), try net(inputs))
        XCTAssertEqual(net.parameterCount, net.parameters.count)
        XCTAssertThrowsError(try Hypernetwork<Double>(architecture: net.architecture, parameters: [1, 2, 3]))
        XCTAssertThrowsError(try HypernetworkInputs(metaInputs: inputs.metaInputs, primaryInputs: inputs.primaryInputs, metaIndex: [0]))
        XCTAssertThrowsError(try HypernetworkArchitecture(metaWidths: [3], primaryWidths: [4]))
        var moved = net
        moved.parameters = net.parameters.map { $0 * 0.5 }
        XCTAssertEqual(moved.parameters, net.parameters.map { $0 * 0.5 })
    }
}

extension Matrix {
    /// Rows `indices` of `self` (test helper).
    func gatheringRowsForTest(_ indices: [Int]) -> Matrix {
        Matrix(rows: indices.count, columns: columns, elements: indices.flatMap { row($0) })
    }
}

/// The hypernetwork Jacobian as a `JacobianOperator` (what the closed-form dynamics and the federation use).
final class HypernetworkJacobianOperatorTests: XCTestCase {
    func testProductsAndKernelsMatchTheDenseBlock() throws {
        let arch = try HypernetworkArchitecture(metaWidths: [3, 6, 5], primaryWidths: [4, 5, 3, 2], metaBiasScale: 0.3)
        let net = Hypernetwork<Double>(architecture: arch, seed: 9)
        let inputs = try HypernetworkInputs(metaInputs: randomMatrix(3, 3, seed: 1, as: Double.self),
                                            primaryInputs: randomMatrix(7, 4, seed: 2, as: Double.self), metaIndex: [2, 0, 1, 0, 2, 2, 1])
        let jac = try net.jacobian(inputs)
        let op: any JacobianOperator<Double> = jac
        let dense = jac.denseBlock()
        let v = randomMatrix(1, op.columnCount, seed: 3, as: Double.self).elements
        let w = randomMatrix(1, op.parameterCount, seed: 4, as: Double.self).elements
        XCTAssertLessThan(maxRelativeError(op.contract(v), dense.contract(v)), 1e-13)
        XCTAssertLessThan(maxRelativeError(op.jvp(w), dense.jvp(w)), 1e-13)
        for kind in KernelKind.allCases {
            XCTAssertLessThan(op.gram(kind).relativeDistance(to: dense.gram(kind)), 1e-13, "\(kind)")
            XCTAssertLessThan(op.crossGram(with: dense, kind).relativeDistance(to: dense.gram(kind)), 1e-13, "\(kind)")
        }
        XCTAssertEqual(op.gramDepth, 6 + 5 + arch.primaryWeightCount)
    }
}
