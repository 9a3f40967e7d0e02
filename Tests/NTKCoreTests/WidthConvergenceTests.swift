import Foundation
import NTKCore
import XCTest

/// Tensor Programs II's width experiment (`papers/tensor-programs-ii.txt`, the figure on its first page and
/// Appendix E): the deviation of the empirical NTK of a finite network at initialization from its
/// infinite-width limit, over widths, falls about as `1/√width` (fluctuations of a sum over `n` neurons).
/// Deviation: `‖Θ̂_n − Θ‖_F / ‖Θ‖_F` on a fixed batch, averaged over seeds; slope: least squares of
/// `log(mean deviation)` on `log(width)`.
enum WidthSweep {
    struct Row {
        let width: Int
        let mean: Double
        let standardDeviation: Double
        let seeds: Int
    }

    static func run(widths: [Int], seeds: Int, limit: Matrix<Double>,
                    empirical: (_ width: Int, _ seed: UInt64) throws -> Matrix<Double>) rethrows -> [Row] {
        try widths.map { width in
            var deviations: [Double] = []
            for seed in 0..<seeds {
                let gram = try empirical(width, UInt64(width * 1000 + seed))
                deviations.append(gram.relativeDistance(to: limit))
            }
            let mean = deviations.reduce(0, +) / Double(seeds)
            let variance = deviations.map { ($0 - mean) * ($0 - mean) }.reduce(0, +) / Double(max(seeds - 1, 1))
            return Row(width: width, mean: mean, standardDeviation: variance.squareRoot(), seeds: seeds)
        }
    }

    /// Least-squares slope of `log(mean)` against `log(width)`.
    static func slope(_ rows: [Row]) -> Double {
        let xs = rows.map { Foundation.log(Double($0.width)) }, ys = rows.map { Foundation.log($0.mean) }
        let mx = xs.reduce(0, +) / Double(xs.count), my = ys.reduce(0, +) / Double(ys.count)
        let sxy = zip(xs, ys).map { ($0 - mx) * ($1 - my) }.reduce(0, +)
        let sxx = xs.map { ($0 - mx) * ($0 - mx) }.reduce(0, +)
        return sxy / sxx
    }

    static func table(_ title: String, _ rows: [Row]) -> String {
        var s = "\(title)\n| width | seeds | mean ‖Θ̂ − Θ‖_F/‖Θ‖_F | std over seeds | mean × √width |\n|---:|---:|---:|---:|---:|\n"
        for r in rows {
            s += String(format: "| %d | %d | %.4g | %.3g | %.3f |\n", r.width, r.seeds, r.mean, r.standardDeviation,
                        r.mean * Double(r.width).squareRoot())
        }
        s += String(format: "fitted slope of log(deviation) vs log(width): %.3f (1/√width: −0.5)\n", slope(rows))
        return s
    }

    /// MLP `d-n-n-1` (NTK parametrization, β = 0.1): empirical NTK from the factored Jacobian (Float64) vs
    /// `InfiniteWidthKernel`.
    static func mlp(activation: Activation, inputs x: Matrix<Double>, widths: [Int], seeds: Int) throws -> [Row] {
        let d = x.columns
        let limit = try InfiniteWidthKernel(MLPArchitecture(widths: [d, 1, 1, 1], activation: activation)).kernels(x).ntk
        return try run(widths: widths, seeds: seeds, limit: limit) { width, seed in
            let arch = try MLPArchitecture(widths: [d, width, width, 1], activation: activation)
            let net = MLP<Double>(architecture: arch, seed: seed)
            return try FactoredJacobian(network: net, inputs: x).gram()
        }
    }

    /// A spec with `n` channels in every hidden layer (`{n}` in the template): empirical NTK of `Network`
    /// (Float64, `NetworkJacobian.gram()`) vs `InfiniteWidthNetworkKernel`. One output, so the exact Gram is m × m.
    static func network(_ template: String, inputShape: String, inputs x: Matrix<Double>, widths: [Int],
                        seeds: Int) throws -> [Row] {
        let spec = { (n: Int) in try NetworkSpec(parsing: template.replacingOccurrences(of: "{n}", with: "\(n)")) }
        let shape = try TensorShape(parsing: inputShape)
        let limit = try InfiniteWidthNetworkKernel(spec(1), inputShape: shape).kernels(x).ntk
        return try run(widths: widths, seeds: seeds, limit: limit) { width, seed in
            let net = try Network<Double>(spec: spec(width), inputShape: shape, seed: seed)
            return try NetworkJacobian(network: net, inputs: x).gram()
        }
    }

    /// The convolutional networks of the experiment: flatten readout, GAP readout, residual with GAP.
    static let convolutional = [
        "conv({n},3)-relu-conv({n},3)-relu-flatten-dense(1)",
        "conv({n},3)-erf-conv({n},3)-erf-gap-dense(1)",
        "conv({n},3)-res(relu-conv({n},3),scale=0.5)-relu-avgpool(2)-gap-dense(1)",
    ]
}

final class WidthConvergenceTests: XCTestCase {
    /// Default (fast) version: widths 2^4 … 2^8, 24 seeds, relu and erf MLPs; the fitted slope lies in
    /// [−0.75, −0.3] (−0.5 expected).
    func testMLPDeviationFallsAsInverseSquareRootOfWidth() throws {
        let x = randomMatrix(6, 8, seed: 21, as: Double.self)
        for activation in [Activation.relu, .erf] {
            let rows = try WidthSweep.mlp(activation: activation, inputs: x, widths: [16, 32, 64, 128, 256], seeds: 24)
            let slope = WidthSweep.slope(rows)
            print(WidthSweep.table("MLP 8-n-n-1 \(activation.rawValue)", rows))
            XCTAssertGreaterThanOrEqual(slope, -0.75, "\(activation)")
            XCTAssertLessThanOrEqual(slope, -0.3, "\(activation)")
        }
    }

    /// The same for CNNs (`Network`'s empirical NTK vs `InfiniteWidthNetworkKernel`): channels 2^4 … 2^8,
    /// 16 seeds, 4 inputs 4×4×2; flatten, GAP and residual readouts; slope in [−0.75, −0.3].
    func testCNNDeviationFallsAsInverseSquareRootOfWidth() throws {
        let x = randomMatrix(4, 32, seed: 41, as: Double.self)
        for template in WidthSweep.convolutional {
            let rows = try WidthSweep.network(template, inputShape: "4x4x2", inputs: x, widths: [16, 32, 64, 128, 256], seeds: 16)
            let slope = WidthSweep.slope(rows)
            print(WidthSweep.table(template + " on 4×4×2", rows))
            XCTAssertGreaterThanOrEqual(slope, -0.75, template)
            XCTAssertLessThanOrEqual(slope, -0.3, template)
        }
    }

    /// The full sweep recorded in docs/infinite-width.md (MLP widths 2^6 … 2^13, 20 seeds; CNN channels
    /// 2^6 … 2^11, 30 seeds; tens of minutes on 2 cores; skipped unless NTK_WIDTH_SWEEP=1; NTK_WIDTH_SWEEP_PART
    /// = mlp or cnn runs one half):
    /// `NTK_WIDTH_SWEEP=1 swift test -c release --skip-build --filter WidthConvergenceTests/testFullSweep`.
    func testFullSweep() throws {
        guard ProcessInfo.processInfo.environment["NTK_WIDTH_SWEEP"] == "1" else {
            throw XCTSkip("the full width sweep runs with NTK_WIDTH_SWEEP=1")
        }
        let env = ProcessInfo.processInfo.environment
        if env["NTK_WIDTH_SWEEP_PART"] != "cnn" {
            let x = randomMatrix(8, 16, seed: 31, as: Double.self)
            let widths = (6...13).map { 1 << $0 }
            for activation in [Activation.relu, .erf] {
                let rows = try WidthSweep.mlp(activation: activation, inputs: x, widths: widths, seeds: 20)
                print(WidthSweep.table("MLP 16-n-n-1 \(activation.rawValue), m = 8", rows))
            }
        }
        if env["NTK_WIDTH_SWEEP_PART"] != "mlp" {
            let x = randomMatrix(4, 32, seed: 41, as: Double.self)
            let widths = (6...11).map { 1 << $0 }
            for template in WidthSweep.convolutional {
                let rows = try WidthSweep.network(template, inputShape: "4x4x2", inputs: x, widths: widths, seeds: 30)
                print(WidthSweep.table(template + " on 4×4×2, m = 4", rows))
            }
        }
    }
}
