import ArgumentParser

/// `ntk bench`: benchmarks, each a subcommand, each printing machine-readable JSON with `--json`.
struct BenchCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "bench",
        abstract: "Benchmarks (run in a release build: swift build -c release).",
        discussion: "bench/kernel.sh runs `ntk bench kernel --json` next to neural-tangents and compares the two (times in seconds, ratios).",
        subcommands: [BenchKernelCommand.self, BenchCNNKernelCommand.self, BenchTransferCommand.self, BenchLinalgCommand.self,
                      BenchWidthSweepCommand.self]
    )
}
