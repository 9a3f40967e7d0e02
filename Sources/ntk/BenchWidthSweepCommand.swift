import ArgumentParser
import Foundation
import NTKCore

/// `ntk bench width-sweep`: Tensor Programs II's width experiment, the full sweep recorded in docs/infinite-width.md.
struct BenchWidthSweepCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "width-sweep",
        abstract: "Deviation of the empirical NTK from its infinite-width limit over widths (Tensor Programs II's experiment).",
        discussion: """
        MLP 16-n-n-1 (relu, erf) at widths 2^6 … 2^13 with 20 seeds, and three CNNs on 4×4×2 inputs (flatten, GAP and \
        residual read-outs) at 2^6 … 2^11 channels with 30 seeds; prints one table per network with the fitted slope of \
        log(deviation) on log(width) (1/√width: −0.5). Tens of minutes on 2 cores; `swift test` runs a smaller sweep \
        (WidthConvergenceTests) that asserts the slope.
        """)

    enum Part: String, ExpressibleByArgument, CaseIterable { case all, mlp, cnn }

    @Option(help: "Which networks: all, mlp or cnn.")
    var part: Part = .all

    @Option(help: ArgumentHelp("Seeds per width (default: 20 for MLPs, 30 for CNNs).", valueName: "N"))
    var seeds: Int?

    @Option(name: .customLong("max-width-exponent"), help: ArgumentHelp("Largest width 2^e (default 13 MLP, 11 CNN).", valueName: "e"))
    var maxExponent: Int?

    func run() throws {
        if part != .cnn {
            var g = PortableGaussian(seed: 31)
            let x = Matrix<Double>(rows: 8, columns: 16, elements: g.fill(8 * 16))
            let widths = (6...(maxExponent ?? 13)).map { 1 << $0 }
            for activation in [Activation.relu, .erf] {
                let rows = try WidthExperiment.mlp(activation: activation, inputs: x, widths: widths, seeds: seeds ?? 20)
                print(WidthExperiment.table("MLP 16-n-n-1 \(activation.rawValue), m = 8", rows))
            }
        }
        if part != .mlp {
            var g = PortableGaussian(seed: 41)
            let x = Matrix<Double>(rows: 4, columns: 32, elements: g.fill(4 * 32))
            let widths = (6...(maxExponent ?? 11)).map { 1 << $0 }
            for template in WidthExperiment.convolutional {
                let rows = try WidthExperiment.network(template, inputShape: "4x4x2", inputs: x, widths: widths, seeds: seeds ?? 30)
                print(WidthExperiment.table(template + " on 4×4×2, m = 4", rows))
            }
        }
    }
}
