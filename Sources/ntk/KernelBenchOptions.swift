import ArgumentParser
import Foundation
import NTKCore

/// The options every Gram benchmark (`ntk bench kernel`, `ntk bench cnn-kernel`) shares.
struct KernelBenchOptions: ParsableArguments {
    @Option(help: ArgumentHelp("Number of samples m (≥ 1).", valueName: "m"))
    var samples: Int = 1000

    @Option(help: ArgumentHelp("averaged (m × m, neural-tangents' trace_axes=(-1,)) or exact ((m·k) × (m·k)).", valueName: "averaged|exact"))
    var kernel: KernelKind = .outputAveraged

    @Option(help: ArgumentHelp("Timed runs (≥ 1); best and median are reported.", valueName: "R"))
    var `repeat`: Int = 5

    @Option(name: .customLong("bias-scale"), help: ArgumentHelp("β (NTK parametrization).", valueName: "β"))
    var biasScale: Double = 0.1

    @Option(help: ArgumentHelp("Seed of the random inputs and network.", valueName: "N"))
    var seed: UInt64 = 0

    @Flag(help: "Print one JSON object as the last stdout line (human-readable lines go to stderr).")
    var json = false

    /// What `time` measured: every run's seconds, the best and the median, and the best run's two phases.
    struct Timing {
        let runs: [Double]
        let best: (factors: Double, gram: Double)
        var fastest: Double { runs.min()! }
        var median: Double {
            let s = runs.sorted()
            return s.count % 2 == 1 ? s[s.count / 2] : (s[s.count / 2 - 1] + s[s.count / 2]) / 2
        }
    }

    /// One untimed warm-up (first-touch page faults, OpenBLAS thread start-up are not the kernel's cost),
    /// then `repeat` timed runs of `once`, which returns its factors and Gram seconds.
    func time(_ once: () throws -> (factors: Double, gram: Double)) rethrows -> Timing {
        _ = try once()
        let phases = try (0..<`repeat`).map { _ in try once() }
        let runs = phases.map { $0.factors + $0.gram }
        return Timing(runs: runs, best: phases[runs.firstIndex(of: runs.min()!)!])
    }

    /// The summary lines and the result: with `--json`, the lines on stderr and one JSON line on stdout
    /// (for the peer scripts); otherwise the lines on stdout.
    func report<R: Encodable>(_ lines: [String], _ result: R) throws {
        if json {
            for line in lines { FileHandle.standardError.write(Data((line + "\n").utf8)) }
            print(try Console.jsonLine(result))
        } else {
            for line in lines { print(line) }
        }
    }

    func validate() throws {
        guard samples >= 1 else { throw ValidationError("--samples must be ≥ 1, got \(samples)") }
        guard `repeat` >= 1 else { throw ValidationError("--repeat must be ≥ 1, got \(`repeat`)") }
        guard biasScale >= 0, biasScale.isFinite else { throw ValidationError("--bias-scale must be a finite number ≥ 0") }
    }
}
