import ArgumentParser
import Foundation
import NTKCore

// The library's enums are spelled on the command line by their raw values (`relu`, `ntk`, `exact`, …).
extension Activation: ExpressibleByArgument {}
extension Parametrization: ExpressibleByArgument {}
extension KernelKind: ExpressibleByArgument {}
extension LossFunction: ExpressibleByArgument {}
extension KernelSolver: ExpressibleByArgument {}

/// The floating-point type of Jacobian factors and Grams. Dynamics (eigendecompositions, Lanczos,
/// the φ(λ) algebra) always run in Float64 whatever this says.
enum Precision: String, CaseIterable, ExpressibleByArgument {
    case float32, float64
}

/// The options that describe a network: its shape, how it is parametrized, and where θ comes from.
///
/// Shared by `kernel`, `linearize` and `fit`. `spec()` turns them into a checked `ModelSpec`, from
/// which a network in either precision is built.
struct ModelOptions: ParsableArguments {
    @Option(help: ArgumentHelp(
        "Layer widths n_0-n_1-…-n_L: input features, hidden widths, outputs k (e.g. 64-512-512-10; commas also work). Optional with --weights, which determines them.",
        valueName: "n0-...-nL"))
    var widths: String?

    @Option(help: "Activation σ after every hidden layer.")
    var activation: Activation = .relu

    @Option(help: ArgumentHelp(
        "ntk: h = σ_w·W·x/√n_in + β·b with every parameter drawn from N(0, 1); standard: h = W·x + b with W ~ N(0, σ_w²/n_in), b ~ N(0, β²).",
        valueName: "ntk|standard"))
    var parametrization: Parametrization = .ntk

    @Option(name: .customLong("bias-scale"), help: ArgumentHelp(
        "β: the bias multiplier (ntk) or the bias initialization standard deviation (standard). ≥ 0.", valueName: "β"))
    var biasScale: Double = 0.1

    @Option(name: .customLong("weight-scale"), help: ArgumentHelp(
        "σ_w: the weight multiplier (ntk; default 1) or the weight gain (standard; default √2 for relu, 1 otherwise). > 0.",
        valueName: "σ_w"))
    var weightScale: Double?

    @Option(help: ArgumentHelp("Seed of the initial weights θ_0 (same θ_0 on every machine; unused with --weights).", valueName: "N"))
    var seed: UInt64 = 0

    @Option(help: ArgumentHelp(
        "Start from the weights θ in this .npz instead of a seeded initialization: arrays W1…WL of shape (n_ℓ, n_{ℓ−1}) and b1…bL of shape (n_ℓ,), as `linearize` and `fit` write them.",
        valueName: "file.npz"))
    var weights: String?

    @Option(help: ArgumentHelp(
        "Precision of the network, Jacobian factors and Grams: float32 or float64. The dynamics always run in float64.",
        valueName: "float32|float64"))
    var precision: Precision = .float32

    /// The checks that need no file: run by ArgumentParser before the command, so a mistake is
    /// reported with the command's usage line.
    func validate() throws {
        if let text = widths {
            guard let parsed = try? MLPArchitecture.parseWidths(text), parsed.allSatisfy({ $0 > 0 }) else {
                throw ValidationError("--widths \(text): expected positive integers such as 64-512-512-10")
            }
        }
        guard biasScale.isFinite, biasScale >= 0 else { throw ValidationError("--bias-scale must be a finite number ≥ 0, got \(biasScale)") }
        if let weightScale, !(weightScale.isFinite && weightScale > 0) {
            throw ValidationError("--weight-scale must be a finite number > 0, got \(weightScale)")
        }
    }

    /// Whether the flags say what the network looks like without a default (`--widths` or `--weights`).
    var describesShape: Bool { widths != nil || weights != nil }

    /// Checks the flags against each other and, with `--weights`, reads the file once.
    /// - Parameter defaultWidths: what to use when neither `--widths` nor `--weights` is given (`nil`: an error).
    func spec(defaultWidths: [Int]? = nil) throws -> ModelSpec {
        var archive: NumpyArchive? = nil
        var fileWidths: [Int]? = nil
        if let path = weights {
            archive = try InputLoading.readArchive(path: path, flag: "--weights")
            guard let inferred = MLPParameters<Float>.widths(in: archive!) else {
                let found = archive!.arrays.keys.sorted().map { "\($0) \(archive!.arrays[$0]!.shape)" }.joined(separator: ", ")
                throw InputError("--weights \(path): expected 2-D arrays W1, W2, … with shapes (n_1, n_0), (n_2, n_1), …; found \(found.isEmpty ? "no arrays" : found)")
            }
            fileWidths = inferred
        }
        let chosen: [Int]
        if let text = widths {
            chosen = try MLPArchitecture.parseWidths(text)  // checked in validate()
            if let fileWidths, fileWidths != chosen {
                throw InputError("--widths \(text) does not match the weights in --weights \(weights!), which are \(Self.spelled(fileWidths)); drop --widths to use the file's")
            }
        } else if let fileWidths {
            chosen = fileWidths
        } else if let defaultWidths {
            chosen = defaultWidths
        } else {
            throw InputError("give the network's shape with --widths (e.g. 64-512-512-10) or a --weights file")
        }
        for l in 1..<chosen.count {
            // Debian's OpenBLAS indexes with 32-bit integers: no weight matrix may exceed 2³¹ − 1 entries.
            try KernelCommand.checkFits(rows: chosen[l], columns: chosen[l - 1], what: "W\(l)", advice: "use smaller widths")
        }
        let architecture: MLPArchitecture
        do {
            architecture = try MLPArchitecture(widths: chosen, activation: activation, parametrization: parametrization,
                                               biasScale: biasScale, weightScale: weightScale)
        } catch {
            throw InputError("--widths/--bias-scale/--weight-scale: \(error)")
        }
        return ModelSpec(architecture: architecture, archive: archive, weightsPath: weights, seed: seed, precision: precision)
    }

    /// Widths written the way `--widths` takes them.
    static func spelled(_ widths: [Int]) -> String { widths.map(String.init).joined(separator: "-") }
}

/// A checked model description: the architecture and where its parameters come from.
struct ModelSpec {
    let architecture: MLPArchitecture
    /// The weights file's arrays, or `nil` for the seeded initialization.
    let archive: NumpyArchive?
    let weightsPath: String?
    let seed: UInt64
    let precision: Precision

    /// The network in precision `S` (the file's values are rounded to `S` when they differ).
    func network<S: BLASScalar>(_: S.Type = S.self) throws -> MLP<S> {
        guard let archive, let path = weightsPath else {
            return MLP(architecture: architecture, seed: seed)
        }
        do {
            let parameters = try MLPParameters<S>(archive: archive, architecture: architecture, file: path)
            return try MLP(architecture: architecture, parameters: parameters)
        } catch {
            throw InputError("--weights \(path): \(InputLoading.reason(error, path: path))")
        }
    }

    /// One line for the printed summary, e.g. "MLP 64-512-512-10 relu, ntk …, θ from seed 0".
    var summary: String {
        let origin = weightsPath.map { "θ from \($0)" } ?? "θ_0 from seed \(seed)"
        return "\(architecture), \(origin), \(precision.rawValue) Jacobians"
    }
}

/// A command whose work is written once for any precision and run in the one `--precision` names.
protocol PrecisionGenericCommand: ParsableCommand {
    var model: ModelOptions { get }
    func run<S: BLASScalar>(_ spec: ModelSpec, _: S.Type) throws
}

extension PrecisionGenericCommand {
    func run() throws {
        let spec = try model.spec()
        switch spec.precision {
        case .float32: try run(spec, Float.self)
        case .float64: try run(spec, Double.self)
        }
    }
}
