import Foundation
import NTKCore
import XCTest

/// Forward pass, Jacobian and Gram of `Network`: against an MLP, a direct convolution, central finite
/// differences and the dense `Z Zᵀ`.
final class NetworkTests: XCTestCase {
    /// Small networks covering every layer kind (each activation, same/valid padding, strides 1 and 2, pooling, residual).
    static let cases: [(spec: String, input: String)] = [
        ("conv(3,3)-relu-flatten-dense(2)", "5x5x2"),
        ("conv(3,3,pad=valid)-tanh-flatten-dense(2)", "5x6x2"),
        ("conv(3,3,stride=2)-erf-flatten-dense(2)", "5x5x2"),
        ("conv(3,2,stride=2)-gelu-gap-dense(2)", "6x5x2"),
        ("conv(2,3,stride=2,pad=valid)-identity-gap-dense(3)", "7x7x1"),
        ("avgpool(2)-conv(3,2)-relu-avgpool(2,stride=1)-flatten-dense(2)", "6x6x2"),
        ("conv(3,3)-res(relu-conv(3,3),scale=0.5)-tanh-gap-dense(2)", "4x4x2"),
        ("conv(3,1)-res(erf-conv(3,3)-tanh-conv(3,1))-gap-dense(4)-erf-dense(2)", "4x5x2"),
        ("flatten-dense(4)-relu-dense(2)", "3x3x2"),
        ("conv(3,2)-relu-conv(4,3)-erf-avgpool(2,stride=1)-tanh-gap-relu-flatten-dense(3)", "4x5x2"),
    ]

    func network(_ spec: String, _ input: String, parametrization: Parametrization = .ntk, seed: UInt64 = 5) throws -> Network<Double> {
        try Network<Double>(spec: NetworkSpec(parsing: spec), inputShape: TensorShape(parsing: input),
                            parametrization: parametrization, biasScale: 0.3, seed: seed)
    }

    func testDenseSpecIsTheMLP() throws {
        let arch = try MLPArchitecture(widths: [6, 7, 5, 3], activation: .erf, biasScale: 0.3)
        let mlp = MLP<Double>(architecture: arch, seed: 9)
        let net = try Network<Double>(spec: NetworkSpec(parsing: "dense(7)-erf-dense(5)-erf-dense(3)"),
                                      inputShape: TensorShape(flat: 6), biasScale: 0.3, seed: 9)
        XCTAssertEqual(net.parameters, mlp.parameters.flattened)
        let x = randomMatrix(4, 6, seed: 2, as: Double.self)
        XCTAssertLessThan(try net(x).relativeDistance(to: try mlp(x)), 1e-14)
        let jacobian = try NetworkJacobian(network: net, inputs: x)
        let z = jacobian.denseColumns()
        XCTAssertEqual(try jacobian.denseBlock().columnsAsRows, z)
        let reference = JacobianBlock(try FactoredJacobian(network: mlp, inputs: x)).columnsAsRows
        XCTAssertLessThan(z.relativeDistance(to: reference), 1e-14)
    }

    /// The convolution against a direct sum over the window (XLA's SAME rule: the smaller half of the padding first).
    func testConvolutionMatchesDirectSum() throws {
        for (spec, shape) in [("conv(3,3)", "5x6x2"), ("conv(2,2)", "5x5x2"), ("conv(3,3,stride=2)", "6x5x2"),
                              ("conv(3,4,stride=2)", "7x6x1"), ("conv(2,3,stride=2,pad=valid)", "7x6x2")] {
            let net = try network(spec + "-flatten", shape)
            let conv = net.affineLayers[0], g = conv.geometry
            let x = randomMatrix(2, g.inputCount, seed: 4, as: Double.self)
            let h = try net(x)
            var worst = 0.0
            for n in 0..<2 {
                for oy in 0..<g.outputHeight {
                    for ox in 0..<g.outputWidth {
                        for o in 0..<conv.outputChannels {
                            var s = 0.0
                            for dy in 0..<g.size {
                                for dx in 0..<g.size {
                                    let iy = oy * g.stride + dy - g.padTop, ix = ox * g.stride + dx - g.padLeft
                                    guard iy >= 0, iy < g.inputHeight, ix >= 0, ix < g.inputWidth else { continue }
                                    for c in 0..<g.channels {
                                        s += net.parameters[conv.weightOffset + o * g.patchLength + (dy * g.size + dx) * g.channels + c]
                                            * x[n, (iy * g.inputWidth + ix) * g.channels + c]
                                    }
                                }
                            }
                            let expected = conv.weightMultiplier * s + conv.biasMultiplier * net.parameters[conv.biasOffset + o]
                            worst = max(worst, abs(h[n, (oy * g.outputWidth + ox) * conv.outputChannels + o] - expected))
                        }
                    }
                }
            }
            XCTAssertLessThan(worst, 1e-13, spec)
        }
        // SAME padding of 3 rows for a 4-tall window: one above, two below (XLA).
        let g = WindowGeometry(input: TensorShape(height: 7, width: 6, channels: 1), size: 4, stride: 2, padding: .same)
        XCTAssertEqual([g.outputHeight, g.outputWidth, g.padTop, g.padLeft], [4, 3, 1, 1])
        XCTAssertEqual(try network("conv(4,3)-gap-dense(1)", "4x4x3").parameterCount, 4 * (27 + 1) + 4 + 1)
    }

    /// `∂f/∂θ` of every layer kind against central differences of the forward pass (Float64).
    func testJacobianMatchesCentralFiniteDifferences() throws {
        var cases = Self.cases.map { ($0.spec, $0.input, Parametrization.ntk) }
        cases.append(("conv(3,3,stride=2)-relu-res(conv(3,3),scale=2)-avgpool(2)-flatten-dense(2)", "6x6x1", .standard))
        for (spec, input, parametrization) in cases {
            let net = try network(spec, input, parametrization: parametrization)
            let x = randomMatrix(2, net.inputShape.count, seed: 11, as: Double.self)
            let z = try NetworkJacobian(network: net, inputs: x).denseColumns()
            XCTAssertEqual(z.columns, net.parameterCount)
            let step = 1e-5
            var numeric = [Double](), analytic = [Double]()
            for p in 0..<net.parameterCount {
                var plus = net.parameters, minus = net.parameters
                plus[p] += step; minus[p] -= step
                let up = try net.withParameters(plus)(x), down = try net.withParameters(minus)(x)
                for row in 0..<z.rows {
                    numeric.append((up.elements[row] - down.elements[row]) / (2 * step))
                    analytic.append(z[row, p])
                }
            }
            let error = maxRelativeError(analytic, numeric)
            XCTAssertLessThan(error, 1e-6, "\(spec) (\(parametrization))")
        }
    }

    /// Every Gram path (Kronecker, explicit columns, structured patches × deltas) equals `Z Zᵀ`, exact and averaged.
    func testGramEqualsDenseGram() throws {
        for (spec, input) in Self.cases {
            let net = try network(spec, input)
            let xa = randomMatrix(5, net.inputShape.count, seed: 21, as: Double.self)
            let xb = randomMatrix(3, net.inputShape.count, seed: 22, as: Double.self)
            let ja = try NetworkJacobian(network: net, inputs: xa), jb = try NetworkJacobian(network: net, inputs: xb)
            let za = ja.denseColumns(), zb = jb.denseColumns()
            let k = net.outputCount
            let exact = Matrix.product(za, za, transposeB: true), cross = Matrix.product(za, zb, transposeB: true)
            let averaged = Self.averaged(exact, k: k), crossAveraged = Self.averaged(cross, k: k)
            for method in LayerGramMethod.allCases {
                XCTAssertLessThan(ja.gram(.exact, method: method).relativeDistance(to: exact), 1e-10, "\(spec) \(method) exact")
                XCTAssertLessThan(ja.gram(.outputAveraged, method: method).relativeDistance(to: averaged), 1e-10, "\(spec) \(method) averaged")
                XCTAssertLessThan(ja.crossGram(with: jb, .exact, method: method).relativeDistance(to: cross), 1e-10, "\(spec) \(method) cross")
                XCTAssertLessThan(ja.crossGram(with: jb, .outputAveraged, method: method).relativeDistance(to: crossAveraged), 1e-10,
                                  "\(spec) \(method) cross averaged")
            }
        }
    }

    /// Float32 follows Float64 (the benchmark's precision), and the automatic choice picks explicit columns
    /// for a wide image and the structured form for a tiny one with many channels.
    func testFloatAndMethodChoice() throws {
        let spec = try NetworkSpec(parsing: "conv(8,3)-relu-conv(8,3)-relu-gap-dense(3)")
        let wide = try Network<Double>(spec: spec, inputShape: TensorShape(parsing: "8x8x1"), seed: 3)
        let x = randomMatrix(6, 64, seed: 5, as: Double.self)
        let j64 = try NetworkJacobian(network: wide, inputs: x)
        let j32 = try NetworkJacobian(network: try Network<Float>(spec: spec, inputShape: wide.inputShape, parameters: wide.parameters.map(Float.init)),
                                      inputs: x.converted(to: Float.self))
        XCTAssertLessThan(j32.gram().converted(to: Double.self).relativeDistance(to: j64.gram()), 1e-5)
        XCTAssertEqual(j64.gramMethods(), [.explicitColumns, .channelFactored, .structured])
        let tiny = try Network<Double>(spec: NetworkSpec(parsing: "conv(64,2,pad=valid)-relu-conv(64,2,pad=valid)-gap-dense(1)"),
                                       inputShape: TensorShape(parsing: "3x3x16"), seed: 3)
        let jt = try NetworkJacobian(network: tiny, inputs: randomMatrix(4, 144, seed: 6, as: Double.self))
        XCTAssertEqual(jt.gramMethods(), [.structured, .structured, .structured])
    }

    /// A batch larger than one im2col chunk (16×16×8 patches: 14 samples per chunk) gives each sample's own
    /// outputs and Jacobian rows, and its Gram is still `Z Zᵀ`.
    func testChunkedBatchEqualsSamplesAlone() throws {
        let net = try network("conv(8,3)-relu-conv(4,3,stride=2)-tanh-gap-dense(2)", "16x16x8")
        let x = randomMatrix(33, net.inputShape.count, seed: 8, as: Double.self)
        let jacobian = try NetworkJacobian(network: net, inputs: x)
        let z = jacobian.denseColumns(), u = try net(x)
        var worst = 0.0
        for i in 0..<x.rows {
            let xi = Matrix(rows: 1, columns: x.columns, elements: x.row(i))
            let zi = try NetworkJacobian(network: net, inputs: xi).denseColumns(), ui = try net(xi)
            for a in 0..<2 {
                worst = max(worst, maxRelativeError(z.row(i * 2 + a), zi.row(a)), abs(u[i, a] - ui[0, a]))
            }
        }
        XCTAssertLessThan(worst, 1e-13)
        XCTAssertLessThan(jacobian.gram().relativeDistance(to: Matrix.product(z, z, transposeB: true)), 1e-12)
    }

    func testBadShapesAndParametersAreRefused() throws {
        XCTAssertThrowsError(try network("conv(3,3)-dense(2)", "5x5x1"))
        XCTAssertThrowsError(try network("conv(3,7,pad=valid)-gap-dense(2)", "5x5x1"))
        var net = try network("conv(3,3)-gap-dense(2)", "5x5x1")
        XCTAssertThrowsError(try net.setParameters([1, 2]))
        XCTAssertThrowsError(try net(randomMatrix(2, 24, seed: 1, as: Double.self)))
        let nan = [Double](repeating: .nan, count: net.parameterCount)
        XCTAssertThrowsError(try net.setParameters(nan))
    }

    static func averaged(_ exact: Matrix<Double>, k: Int) -> Matrix<Double> {
        var out = Matrix<Double>(rows: exact.rows / k, columns: exact.columns / k)
        for i in 0..<out.rows { for j in 0..<out.columns { for a in 0..<k { out[i, j] += exact[i * k + a, j * k + a] / Double(k) } } }
        return out
    }
}
