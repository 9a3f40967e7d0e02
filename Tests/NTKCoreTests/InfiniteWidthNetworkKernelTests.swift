import Foundation
import NTKCore
import XCTest

/// `Fixtures/cnn_kernels.json`, written by `scripts/make-cnn-kernel-fixtures.sh` (neural-tangents' stax).
private struct CNNKernelFixtures: Decodable {
    struct Case: Decodable {
        let spec: String
        let input_shape: [Int]
        let beta: Double
        let w_std: Double
        let x1: [[Double]]
        let x2: [[Double]]
        let nngp_11: [[Double]]
        let ntk_11: [[Double]]
        let nngp_12: [[Double]]
        let ntk_12: [[Double]]
    }
    let cases: [Case]

    static func load() throws -> CNNKernelFixtures {
        guard let url = Bundle.module.url(forResource: "cnn_kernels", withExtension: "json", subdirectory: "Fixtures") else {
            throw XCTSkip("fixture cnn_kernels.json missing — run scripts/make-cnn-kernel-fixtures.sh")
        }
        return try JSONDecoder().decode(CNNKernelFixtures.self, from: Data(contentsOf: url))
    }
}

final class InfiniteWidthNetworkKernelTests: XCTestCase {
    /// Every network of the fixture (conv with flatten and GAP readouts, strides, valid padding, average
    /// pooling, residual blocks with scales, relu and erf, a flat MLP) against stax's `kernel_fn`, symmetric
    /// (x1, x1) and cross (x1, x2), NNGP and NTK: max |ours − stax| / max |stax| ≤ 1e-6.
    func testMatchesNeuralTangentsStax() throws {
        let fixtures = try CNNKernelFixtures.load()
        XCTAssertGreaterThanOrEqual(fixtures.cases.count, 9)
        var worst = 0.0
        for c in fixtures.cases {
            let shape = TensorShape(height: c.input_shape[0], width: c.input_shape[1], channels: c.input_shape[2])
            let kernel = try InfiniteWidthNetworkKernel(NetworkSpec(parsing: c.spec), inputShape: shape,
                                                        biasScale: c.beta, weightScale: c.w_std)
            let x1 = Matrix(c.x1), x2 = Matrix(c.x2)
            let own = kernel.kernels(x1)
            let cross = kernel.kernels(x1, x2)
            let errors = [
                maxRelativeError(own.nngp.elements, c.nngp_11.flatMap { $0 }),
                maxRelativeError(own.ntk.elements, c.ntk_11.flatMap { $0 }),
                maxRelativeError(cross.nngp.elements, c.nngp_12.flatMap { $0 }),
                maxRelativeError(cross.ntk.elements, c.ntk_12.flatMap { $0 }),
            ]
            print("stax fixture \(c.spec) \(shape): max relative error nngp/ntk self \(errors[0]), \(errors[1]); cross \(errors[2]), \(errors[3])")
            for e in errors { XCTAssertLessThanOrEqual(e, 1e-6, c.spec) }
            worst = max(worst, errors.max()!)
        }
        print("stax fixtures: worst max relative error \(worst)")
    }

    /// A fully connected spec on a flat input is the MLP limit of `InfiniteWidthKernel` (same recursion).
    func testFullyConnectedSpecIsTheMLPLimit() throws {
        let x = randomMatrix(5, 7, seed: 3, as: Double.self)
        for activation in [Activation.relu, .erf, .tanh] {
            let spec = try NetworkSpec(parsing: "dense(64)-\(activation.rawValue)-dense(64)-\(activation.rawValue)-dense(2)")
            let ours = try InfiniteWidthNetworkKernel(spec, inputShape: TensorShape(flat: 7), biasScale: 0.3, weightScale: 1.2,
                                                      quadratureDegree: 48).kernels(x)
            let mlp = InfiniteWidthKernel(hiddenLayers: 2, activation: activation, biasScale: 0.3, weightScale: 1.2,
                                          quadratureDegree: 48).kernels(x)
            // Upper triangles: ours mirrors it, while the MLP kernel evaluates both orders, and the tensor-product
            // quadrature (tanh) is not exactly symmetric in (a, b) (≈ 1e-7 apart at degree 48).
            let upper = { (m: Matrix<Double>) in (0..<5).flatMap { i in (i..<5).map { m[i, $0] } } }
            XCTAssertLessThanOrEqual(maxRelativeError(upper(ours.nngp), upper(mlp.nngp)), 1e-13, "\(activation)")
            XCTAssertLessThanOrEqual(maxRelativeError(upper(ours.ntk), upper(mlp.ntk)), 1e-13, "\(activation)")
        }
    }

    /// A 1 × 1 convolution on a 1 × 1 image is a dense layer; `flatten` of a 1 × 1 image changes nothing.
    func testOneByOneConvolutionIsDense() throws {
        let x = randomMatrix(4, 6, seed: 5, as: Double.self)
        let conv = try InfiniteWidthNetworkKernel(parsing: "conv(16,1)-relu-conv(16,1)-flatten-dense(1)", inputShape: "1x1x6").kernels(x)
        let dense = try InfiniteWidthNetworkKernel(parsing: "dense(16)-relu-dense(16)-dense(1)", inputShape: "6").kernels(x)
        XCTAssertLessThanOrEqual(maxRelativeError(conv.ntk.elements, dense.ntk.elements), 1e-14)
        XCTAssertLessThanOrEqual(maxRelativeError(conv.nngp.elements, dense.nngp.elements), 1e-14)
    }

    /// The kernels are symmetric positive semi-definite; the cross kernel of a set with itself is the kernel;
    /// one thread or two give the same numbers.
    func testSymmetryCrossConsistencyAndThreads() throws {
        let kernel = try InfiniteWidthNetworkKernel(parsing: "conv(4,3)-relu-avgpool(2,stride=1)-conv(4,3,stride=2)-res(erf-conv(4,1),scale=0.5)-relu-gap-dense(1)",
                                                    inputShape: "6x5x3")
        let x = randomMatrix(7, 90, seed: 9, as: Double.self)
        let one = kernel.kernels(x, threads: 1)
        let two = kernel.kernels(x, threads: 2)
        let cross = kernel.kernels(x, x, threads: 2)
        XCTAssertEqual(one.nngp, two.nngp)
        XCTAssertEqual(one.ntk, two.ntk)
        XCTAssertLessThanOrEqual(maxRelativeError(cross.ntk.elements, one.ntk.elements), 1e-14)
        XCTAssertLessThanOrEqual(maxRelativeError(cross.nngp.elements, one.nngp.elements), 1e-14)
        for i in 0..<7 { for j in 0..<7 { XCTAssertEqual(one.ntk[i, j], one.ntk[j, i]) } }
        let eigen = try SymmetricEigen(one.ntk, name: "ntk")
        XCTAssertGreaterThan(eigen.values.min()!, -1e-12 * eigen.values.max()!)
    }

    /// Carrying only the position pairs the readout needs gives the same kernels as carrying all `|P|²`:
    /// flatten readouts (aligned pairs only when there is no pooling; the pairs inside pooling windows when
    /// there is), GAP readouts, valid/same padding, strides, residual blocks.
    func testNeededPositionPairsMatchAllPairs() throws {
        let x = randomMatrix(5, 8 * 6 * 2, seed: 13, as: Double.self)
        for (spec, aligned) in [("conv(4,3,pad=valid)-relu-conv(4,2,stride=2)-erf-flatten-dense(1)", true),
                                ("conv(4,3,stride=2)-res(relu-conv(4,3),scale=0.8)-relu-conv(4,2,pad=valid)-relu-flatten-dense(3)-erf-dense(1)", true),
                                ("conv(4,3)-relu-avgpool(2)-conv(4,3)-relu-flatten-dense(2)", false),
                                ("conv(4,3)-res(relu-conv(4,3))-relu-avgpool(2,stride=1)-conv(4,2,stride=2)-res(erf-conv(4,1),scale=0.5)-flatten-dense(1)", false),
                                ("conv(4,3)-relu-conv(4,3)-relu-gap-dense(1)", false),
                                ("avgpool(2)-conv(4,2)-erf-avgpool(2)-flatten-dense(1)", false)] {
            let needed = try InfiniteWidthNetworkKernel(parsing: spec, inputShape: "8x6x2")
            let all = try InfiniteWidthNetworkKernel(parsing: spec, inputShape: "8x6x2", positionPairs: .all)
            XCTAssertEqual(needed.alignedPositionsOnly, aligned, spec)
            XCTAssertFalse(all.alignedPositionsOnly)
            XCTAssertLessThanOrEqual(needed.scalarsPerPair, all.scalarsPerPair)
            let (a, b) = (needed.kernels(x), all.kernels(x))
            XCTAssertLessThanOrEqual(maxRelativeError(a.nngp.elements, b.nngp.elements), 1e-14, spec)
            XCTAssertLessThanOrEqual(maxRelativeError(a.ntk.elements, b.ntk.elements), 1e-14, spec)
            let x2 = randomMatrix(3, 8 * 6 * 2, seed: 14, as: Double.self)
            let (c, e) = (needed.kernels(x, x2), all.kernels(x, x2))
            XCTAssertLessThanOrEqual(maxRelativeError(c.ntk.elements, e.ntk.elements), 1e-14, spec)
        }
    }

    /// What the limit cannot take is refused at construction, with the reason.
    func testRefusesNonGaussianInputsToActivationsAndResiduals() throws {
        for spec in ["relu-conv(4,3)-flatten-dense(1)",                 // activation on the input
                     "conv(4,3)-relu-relu-flatten-dense(1)",             // activation after activation
                     "conv(4,3)-flatten-relu-dense(1)",                  // activation on a flattened kernel
                     "conv(4,3)-relu-res(conv(4,3))-gap-dense(1)",       // non-Gaussian skip
                     "conv(4,3)-res(conv(4,3)-relu)-gap-dense(1)"] {     // branch not ending affine
            XCTAssertThrowsError(try InfiniteWidthNetworkKernel(parsing: spec, inputShape: "5x5x1"), spec) { error in
                XCTAssertTrue("\(error)".contains("Gaussian"), "\(error)")
            }
        }
        XCTAssertThrowsError(try InfiniteWidthNetworkKernel(parsing: "conv(4,7,pad=valid)-flatten-dense(1)", inputShape: "5x5x1"))
    }
}
