import ArgumentParser
import Foundation
import NTKCore

/// `ntk kernel`: the NTK Gram of a network on some inputs, written as a `.npy` matrix.
struct KernelCommand: PrecisionGenericCommand {
    static let configuration = CommandConfiguration(
        commandName: "kernel",
        abstract: "Compute the empirical NTK Θ̂(X, X2) of a network (or its infinite-width limit) and write it as .npy.",
        discussion: """
        m = samples of --inputs, m2 = samples of --inputs2, k = outputs.
          exact       the full Gram ∇_θf(x)ᵀ∇_θf(x'), (m·k) × (m2·k);
                      row i·k + a is sample i, output a.
          averaged    (1/k) Σ_a ∇_θf_a(x)ᵀ∇_θf_a(x'), m × m2. An
                      APPROXIMATION of the exact kernel at finite width
                      (exact only in the infinite-width limit, Θ ⊗ I_k).
          --analytic  the infinite-width NTK Θ (--nngp: the NNGP Σ) of the
                      architecture, m × m2; the full limit is Θ ⊗ I_k.
                      NTK parametrization only; independent of θ.
        The empirical Gram is assembled from per-layer factors without ever \
        forming Z (DESIGN.md §2); --dense forms Z (P × m·k) and multiplies it \
        out instead, to check the factored result.
        """)

    @OptionGroup(title: "Model") var model: ModelOptions

    @Option(help: ArgumentHelp("Inputs X: m × n_0 matrix (.npy 2-D, or .csv with one sample per line).", valueName: "file"))
    var inputs: String

    @Option(help: ArgumentHelp("Second inputs X2 (m2 × n_0) for the cross kernel Θ̂(X, X2); default X itself.", valueName: "file"))
    var inputs2: String?

    @Option(help: ArgumentHelp("exact ((m·k) × (m2·k)) or averaged (m × m2, an approximation).", valueName: "exact|averaged"))
    var kind: KernelKind = .exact

    @Flag(help: "Write the infinite-width kernel (m × m2, Float64 arithmetic) instead of the empirical one.")
    var analytic = false

    @Flag(help: "With --analytic: write the NNGP kernel Σ instead of the NTK Θ.")
    var nngp = false

    @Flag(help: "Form the dense Jacobian Z (P × m·k floats) and compute the Gram from it: slow, for checking the factored path.")
    var dense = false

    @Option(help: ArgumentHelp("Where to write the kernel (.npy, dtype per --precision).", valueName: "K.npy"))
    var output: String

    @OptionGroup(title: "Data files") var csv: CSVOptions

    func validate() throws {
        guard model.describesShape else { throw ValidationError("give the network's shape with --widths (e.g. 64-512-512-10) or a --weights file") }
        if analytic && model.parametrization != .ntk {
            throw ValidationError("--analytic needs --parametrization ntk: the standard parametrization has no finite infinite-width NTK")
        }
        if nngp && !analytic { throw ValidationError("--nngp needs --analytic (the empirical kernel is an NTK)") }
        if dense && analytic { throw ValidationError("--dense and --analytic exclude each other") }
    }

    func run<S: BLASScalar>(_ spec: ModelSpec, _: S.Type) throws {
        let arch = spec.architecture
        let x1 = try InputLoading.readInputs(path: inputs, flag: "--inputs", header: csv.header, features: arch.inputDimension)
        let x2 = try inputs2.map {
            try InputLoading.readInputs(path: $0, flag: "--inputs2", header: csv.header, features: arch.inputDimension)
        }
        let m1 = x1.rows, m2 = x2?.rows ?? x1.rows, k = arch.outputCount
        let perSample = (analytic || kind == .outputAveraged) ? 1 : k
        try Self.checkFits(rows: m1 * perSample, columns: m2 * perSample, what: "the kernel")
        log.info("\(spec.summary)")

        let description: String
        let (kernel, seconds): (Matrix<S>, Double)
        if analytic {
            let limit: InfiniteWidthKernel
            do { limit = try InfiniteWidthKernel(arch) } catch {
                throw InputError("--analytic: \(error)")
            }
            (kernel, seconds) = Console.timed {
                let both = limit.kernels(x1, x2)
                return (nngp ? both.nngp : both.ntk).converted(to: S.self)
            }
            description = nngp
                ? "infinite-width NNGP Σ (analytic, per output; the full limit is Σ ⊗ I_\(k))"
                : "infinite-width NTK Θ (analytic, per output; the full limit is Θ ⊗ I_\(k))"
        } else {
            let network = try spec.network(S.self)
            if dense {
                // Dense Z is (m·k) × P floats per input set: refuse what OpenBLAS's 32-bit indices cannot hold.
                try Self.checkFits(rows: max(m1, m2) * k, columns: arch.parameterCount, what: "the dense Jacobian Zᵀ",
                                   advice: "drop --dense (the factored path never forms Z) or use fewer samples")
            }
            (kernel, seconds) = try Console.timed {
                try Self.empirical(network, x1.converted(to: S.self), x2?.converted(to: S.self), kind: kind, dense: dense)
            }
            description = kind == .exact
                ? "exact empirical NTK (sample-major: row i·k + a is sample i, output a; k = \(k))"
                : "output-averaged empirical NTK — an APPROXIMATION of the exact (m·k)×(m·k) kernel at finite width"
        }

        let url = URL(fileURLWithPath: output)
        try InputLoading.write(url) { try NumpyArray(kernel).write(to: $0) }
        print("\(description)")
        print("shape \(kernel.rows)×\(kernel.columns) \(S.dtypeName), Θ(\(inputs)\(inputs2.map { ", \($0)" } ?? ""))")
        print("computed in \(Console.format(seconds, "%.4f")) s (\(analytic ? "closed-form recursion" : dense ? "dense Jacobian" : "factored Jacobian")), OpenBLAS core \(BLASRuntime.coreName), \(BLASRuntime.threadCount) threads")
        print("wrote \(output)")
    }

    /// The empirical Gram, by the factored path or through the dense Jacobian.
    private static func empirical<S: BLASScalar>(_ network: MLP<S>, _ x1: Matrix<S>, _ x2: Matrix<S>?,
                                                 kind: KernelKind, dense: Bool) throws -> Matrix<S> {
        let z1 = try FactoredJacobian(network: network, inputs: x1)
        let z2 = try x2.map { try FactoredJacobian(network: network, inputs: $0) }
        guard dense else {
            return z2.map { z1.crossGram(with: $0, kind) } ?? z1.gram(kind)
        }
        let d1 = JacobianBlock(z1)
        let exact = z2.map { d1.crossGram(with: JacobianBlock($0)) } ?? d1.gram()
        return kind == .exact ? exact : averageOutputBlocks(exact, k: network.architecture.outputCount)
    }

    /// `H̄[i, j] = (1/k) Σ_a H[i·k + a, j·k + a]`: the averaged kernel from the exact one (for --dense).
    private static func averageOutputBlocks<S: BLASScalar>(_ h: Matrix<S>, k: Int) -> Matrix<S> {
        var averaged = Matrix<S>(rows: h.rows / k, columns: h.columns / k)
        for i in 0..<averaged.rows {
            for j in 0..<averaged.columns {
                var s: S = 0
                for a in 0..<k { s += h[i * k + a, j * k + a] }
                averaged[i, j] = s / S(k)
            }
        }
        return averaged
    }

    /// Debian's OpenBLAS indexes with 32-bit integers: no single matrix may exceed 2³¹ − 1 elements.
    static func checkFits(rows: Int, columns: Int, what: String, advice: String = "use fewer samples or --kind averaged") throws {
        let (count, overflow) = rows.multipliedReportingOverflow(by: columns)
        if overflow || count > Int(Int32.max) {
            throw InputError("\(what) would be \(rows)×\(columns), more than the 2³¹ − 1 elements OpenBLAS can index; \(advice)")
        }
    }
}
