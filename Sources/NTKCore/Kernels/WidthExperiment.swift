import Foundation

/// Tensor Programs II's width experiment (`papers/tensor-programs-ii.txt`, the figure on its first page and
/// Appendix E): the deviation of the empirical NTK of a finite network at initialization from its
/// infinite-width limit, over widths, falls about as `1/√width` (fluctuations of a sum over `n` neurons).
/// Deviation: `‖Θ̂_n − Θ‖_F / ‖Θ‖_F` on a fixed batch, averaged over seeds; slope: least squares of
/// `log(mean deviation)` on `log(width)`.
public enum WidthExperiment {
    /// One width's deviations over seeds.
    public struct Row: Sendable {
        public let width: Int
        public let mean: Double
        public let standardDeviation: Double
        public let seeds: Int
    }

    public static func run(widths: [Int], seeds: Int, limit: Matrix<Double>,
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
    public static func slope(_ rows: [Row]) -> Double {
        let xs = rows.map { Foundation.log(Double($0.width)) }, ys = rows.map { Foundation.log($0.mean) }
        let mx = xs.reduce(0, +) / Double(xs.count), my = ys.reduce(0, +) / Double(ys.count)
        let sxy = zip(xs, ys).map { ($0 - mx) * ($1 - my) }.reduce(0, +)
        let sxx = xs.map { ($0 - mx) * ($0 - mx) }.reduce(0, +)
        return sxy / sxx
    }

    /// A Markdown table of `rows` under `title`, with the fitted slope.
    public static func table(_ title: String, _ rows: [Row]) -> String {
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
    public static func mlp(activation: Activation, inputs x: Matrix<Double>, widths: [Int], seeds: Int) throws -> [Row] {
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
    public static func network(_ template: String, inputShape: String, inputs x: Matrix<Double>, widths: [Int],
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
    public static let convolutional = [
        "conv({n},3)-relu-conv({n},3)-relu-flatten-dense(1)",
        "conv({n},3)-erf-conv({n},3)-erf-gap-dense(1)",
        "conv({n},3)-res(relu-conv({n},3),scale=0.5)-relu-avgpool(2)-gap-dense(1)",
    ]
}
