import ArgumentParser
import Foundation
import NTKCore

/// `ntk bench cnn-kernel`: how long the empirical NTK Gram of a network written as a spec (convolutions,
/// pooling, residual blocks) takes from inputs, on random data — the peer of bench/nt_cnn_kernel.py.
struct BenchCNNKernelCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "cnn-kernel",
        abstract: "Time the empirical NTK Gram (forward + backward + per-layer Gram, Float32) of a network spec on random inputs.",
        discussion: """
        The timed region is everything from inputs to Gram, as in neural-tangents' empirical_ntk_fn: \
        forward pass, backward pass for every output, per-layer Gram terms (each layer by the cheaper of \
        explicit columns and the structured patches × deltas form; see `ntk`'s LayerGramMethod). Best and \
        median of --repeat runs after one untimed warm-up; the best run split into factors (passes) and Gram.

        With --json the last stdout line is one JSON object (seconds), human-readable lines go to stderr.
        """)

    @Option(help: ArgumentHelp("The network (NetworkSpec grammar).", valueName: "spec"))
    var network: String = "conv(32,3)-relu-conv(32,3)-relu-gap-dense(10)"

    @Option(name: .customLong("input-shape"), help: ArgumentHelp("One sample's shape, HxWxC.", valueName: "HxWxC"))
    var inputShape: String = "8x8x1"

    @OptionGroup var common: KernelBenchOptions

    @Option(help: ArgumentHelp("Per-layer Gram method: automatic, explicitColumns or structured.", valueName: "method"))
    var method: String = "automatic"

    func validate() throws {
        guard LayerGramMethod(rawValue: method) != nil else {
            throw ValidationError("--method: one of \(LayerGramMethod.allCases.map(\.rawValue).joined(separator: ", "))")
        }
    }

    /// The JSON result (snake_case keys).
    struct Result: Codable {
        let impl: String
        let kernel: String
        let network: String
        let inputShape: String
        let samples: Int
        let outputs: Int
        let parameters: Int
        let layerMethods: [String]
        let seconds: Double
        let median: Double
        let runs: [Double]
        let factorsSeconds: Double
        let gramSeconds: Double
        let openblasCore: String
        let threads: Int
        let sgemmGflops: Double
        let precision: String
    }

    func run() throws {
        let spec = try NetworkSpec(parsing: network)
        let shape = try TensorShape(parsing: inputShape)
        let net = try Network<Float>(spec: spec, inputShape: shape, biasScale: common.biasScale, seed: common.seed)
        let k = net.outputCount
        let side = common.kernel == .exact ? common.samples * k : common.samples
        try KernelCommand.checkFits(rows: side, columns: side, what: "the Gram")
        var rng = PortableGaussian(seed: common.seed, stream: 1)
        let inputs = Matrix<Float>(rows: common.samples, columns: shape.count, elements: rng.fill(common.samples * shape.count))
        let layerMethod = LayerGramMethod(rawValue: method)!

        var methods: [LayerGramMethod] = []
        func once() throws -> (factors: Double, gram: Double) {
            let jacobian = try Console.timed { try NetworkJacobian(network: net, inputs: inputs) }
            methods = layerMethod == .automatic ? jacobian.value.gramMethods(common.kernel) : jacobian.value.layers.map { _ in layerMethod }
            return (jacobian.seconds, Console.timed { jacobian.value.gram(common.kernel, method: layerMethod) }.seconds)
        }
        let timing = try common.time(once)
        let (runs, best, median) = (timing.runs, timing.best, timing.median)
        let gflops = BenchKernelCommand.sgemmGFLOPS(size: 2048)
        let result = Result(impl: "ntk-swift", kernel: common.kernel.rawValue, network: spec.description, inputShape: inputShape,
                            samples: common.samples, outputs: k, parameters: net.parameterCount, layerMethods: methods.map(\.rawValue),
                            seconds: timing.fastest, median: median, runs: runs, factorsSeconds: best.factors, gramSeconds: best.gram,
                            openblasCore: BLASRuntime.coreName, threads: BLASRuntime.threadCount, sgemmGflops: gflops,
                            precision: "float32")
        let lines = [
            "empirical NTK Gram from inputs, \(spec) on \(shape), P = \(net.parameterCount), m = \(common.samples), \(side)×\(side) \(common.kernel.rawValue), float32",
            "per-layer Gram methods: \(methods.map(\.rawValue).joined(separator: ", "))",
            "best \(Console.format(timing.fastest, "%.4f")) s, median \(Console.format(median, "%.4f")) s over \(common.repeat) runs (after 1 warm-up); best run: factors \(Console.format(best.factors, "%.4f")) s, Gram \(Console.format(best.gram, "%.4f")) s",
            "machine reference: sgemm 2048³ at \(Console.format(gflops, "%.1f")) GFLOP/s; OpenBLAS core \(BLASRuntime.coreName), \(BLASRuntime.threadCount) threads",
        ]
        try common.report(lines, result)
    }
}
