import ArgumentParser
import Foundation
import NTKCore

/// `ntk bench kernel`: how long the empirical NTK Gram takes from inputs, on random data.
///
/// The timed region is the whole "empirical NTK from inputs" cost — forward pass, batched backward
/// pass for every output, and the per-layer Gram assembly — which is what neural-tangents'
/// `empirical_ntk_fn` does too, so the two can be compared line for line (bench/kernel.sh).
struct BenchKernelCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "kernel",
        abstract: "Time the empirical NTK Gram (factored Jacobian + Gram, Float32) of a random MLP on random inputs.",
        discussion: """
        The timed region is everything from inputs to Gram: forward pass, \
        backward pass for every output, per-layer Gram assembly. Reports the \
        best and the median of --repeat runs after one untimed warm-up, and \
        the GFLOP/s of an sgemm 2048×2048×2048 measured in the same process as \
        a reference for the machine's speed.

        The best run is also split into its two phases: the factors \
        (forward and backward passes) and the Gram from the factors, with the \
        Gram's GFLOP/s by the textbook count of its SYRKs, to compare with \
        the sgemm reference.

        With --json the last line on stdout is one JSON object (seconds):
          {"impl": "ntk-swift factored", "kernel": "averaged",
           "widths": [64, 512, 512, 1], "samples": 1000, "seconds": best,
           "median": ..., "runs": [...], "factors_seconds": ...,
           "gram_seconds": ..., "gram_gflops": ..., "openblas_core": "SkylakeX",
           "threads": 2, "sgemm_gflops": ..., ...}
        and the human-readable lines go to stderr.
        """)

    @Option(help: ArgumentHelp("Layer widths n_0,…,n_L (commas or dashes), e.g. 64,512,512,1.", valueName: "n0,...,nL"))
    var widths: String = "64,512,512,1"

    @OptionGroup var common: KernelBenchOptions

    @Option(help: "Activation σ after every hidden layer.")
    var activation: Activation = .relu

    func validate() throws {
        guard let parsed = try? MLPArchitecture.parseWidths(widths), parsed.allSatisfy({ $0 > 0 }) else {
            throw ValidationError("--widths \(widths): expected positive integers such as 64,512,512,1")
        }
    }

    /// The JSON result (keys are written in snake_case: `openblas_core`, `sgemm_gflops`).
    struct Result: Codable {
        let impl: String
        let kernel: String
        let widths: [Int]
        let samples: Int
        let seconds: Double
        let median: Double
        let runs: [Double]
        /// The best run's forward + backward passes (the factors) and Gram assembly, seconds.
        let factorsSeconds: Double
        let gramSeconds: Double
        /// Textbook flops of the Gram's SYRKs over `gramSeconds`.
        let gramGflops: Double
        let openblasCore: String
        let threads: Int
        let sgemmGflops: Double
        let precision: String
        let activation: String
    }

    func run() throws {
        let parsed = try MLPArchitecture.parseWidths(widths)  // checked in validate()
        let architecture = try MLPArchitecture(widths: parsed, activation: activation, biasScale: common.biasScale)
        let k = architecture.outputCount
        let side = common.kernel == .exact ? common.samples * k : common.samples
        try KernelCommand.checkFits(rows: side, columns: side, what: "the Gram")

        // Seeded random problem: the same inputs and θ on every machine.
        var rng = PortableGaussian(seed: common.seed, stream: 1)
        let inputs = Matrix<Float>(rows: common.samples, columns: architecture.inputDimension,
                                   elements: rng.fill(common.samples * architecture.inputDimension))
        let network = MLP<Float>(architecture: architecture, seed: common.seed)

        func once() throws -> (factors: Double, gram: Double) {
            let jacobian = try Console.timed { try FactoredJacobian(network: network, inputs: inputs) }
            return (jacobian.seconds, Console.timed { jacobian.value.gram(common.kernel) }.seconds)
        }
        let timing = try common.time(once)
        let (runs, best, median) = (timing.runs, timing.best, timing.median)
        let gramGflops = Self.gramFlops(widths: parsed, samples: common.samples, kind: common.kernel) / best.gram / 1e9
        let gflops = Self.sgemmGFLOPS(size: 2048)

        let result = Result(impl: "ntk-swift factored", kernel: common.kernel.rawValue, widths: parsed, samples: common.samples,
                            seconds: timing.fastest, median: median, runs: runs, factorsSeconds: best.factors,
                            gramSeconds: best.gram, gramGflops: gramGflops, openblasCore: BLASRuntime.coreName,
                            threads: BLASRuntime.threadCount, sgemmGflops: gflops, precision: "float32",
                            activation: activation.rawValue)
        let shape = common.kernel == .exact ? "\(side)×\(side) exact" : "\(side)×\(side) averaged (approximation)"
        let lines = [
            "empirical NTK Gram from inputs (forward + backward + Gram), MLP \(ModelOptions.spelled(parsed)) \(activation.rawValue), m = \(common.samples), \(shape), float32",
            "best \(Console.format(timing.fastest, "%.4f")) s, median \(Console.format(median, "%.4f")) s over \(common.repeat) runs (after 1 warm-up)",
            "best run: factors (forward + backward) \(Console.format(best.factors, "%.4f")) s, Gram \(Console.format(best.gram, "%.4f")) s (\(Console.format(gramGflops, "%.1f")) GFLOP/s in its SYRKs)",
            "machine reference: sgemm 2048³ at \(Console.format(gflops, "%.1f")) GFLOP/s; OpenBLAS core \(BLASRuntime.coreName), \(BLASRuntime.threadCount) threads",
        ]
        try common.report(lines, result)
    }

    /// Textbook flops of the Gram's SYRKs: per layer `X Xᵀ` (m² n_{ℓ−1}) and `Δ Δᵀ` ((mk)² n_ℓ exact,
    /// m² k n_ℓ averaged), each `rows² · columns` for the triangle (as `ntk bench linalg` counts them).
    static func gramFlops(widths: [Int], samples m: Int, kind: KernelKind) -> Double {
        let k = Double(widths.last!), m = Double(m)
        let rows = kind == .exact ? m * k : m, perRow = kind == .exact ? 1 : k
        return (1..<widths.count).reduce(0) { sum, l in
            sum + m * m * Double(widths[l - 1]) + rows * rows * perRow * Double(widths[l])
        }
    }

    /// Best of three `C = A·B` (single precision, n × n × n) after a warm-up, as GFLOP/s (2n³ flops each).
    static func sgemmGFLOPS(size n: Int) -> Double {
        var rng = PortableGaussian(seed: 7)
        let a = Matrix<Float>(rows: n, columns: n, elements: rng.fill(n * n))
        let b = Matrix<Float>(rows: n, columns: n, elements: rng.fill(n * n))
        _ = Matrix.product(a, b)
        let best = (0..<3).map { _ in Console.timed { Matrix.product(a, b) }.seconds }.min()!
        return 2 * pow(Double(n), 3) / best / 1e9
    }
}
