import ArgumentParser
import Logging
import NTKCore

/// `ntk`: the command-line face of the library.
///
/// Each subcommand lives in its own file; the options they share (the network, the data files)
/// live in `ModelOptions.swift` and `InputLoading.swift`.
@main
struct NTK: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "ntk",
        abstract: "Neural tangent kernels of fully connected networks: Grams, closed-form linearized training, and a single-process preview of federated NTK training.",
        discussion: """
        Notation follows DESIGN.md §1: m samples, k outputs, Jacobian Z (P × mk), \
        empirical NTK Gram H = ZᵀZ (mk × mk, sample-major: index i·k + a is \
        sample i, output a). Training loss: (1/2m) Σ_i ‖y_i − f(x_i)‖² + \
        (ρ/2)‖θ − θ_0‖², trained by gradient flow θ̇ = −η∇L.

        Environment:
          NTK_LOG_LEVEL      trace, debug, info (default), notice, warning,
                             error or critical. Logs go to stderr.
          OPENBLAS_CORETYPE  never overridden. When unset and OpenBLAS chose
                             slower kernels than the CPU supports, ntk
                             restarts itself once with the faster core
                             (verified by a self-check);
                             NTK_OPENBLAS_AUTOSELECT=0 prevents that.
        Every run logs the OpenBLAS core it uses.
        """,
        subcommands: [
            KernelCommand.self,
            LinearizeCommand.self,
            FitCommand.self,
            BenchCommand.self,
            BLASInfoCommand.self,
            RunCommand.self,
            KeygenCommand.self,
            PartitionCommand.self,
            ReportCommand.self,
            SpectrumCommand.self,
        ]
    )

    /// Our own entry point, so that the BLAS core is settled before anything else happens.
    ///
    /// OpenBLAS reads `OPENBLAS_CORETYPE` when the library is loaded, so a better core can only be
    /// chosen by re-executing the process: `selectFastestCore` does that (at most once) and must
    /// therefore run before we parse arguments, open files or print anything.
    static func main() {
        let kernels = ProcessStartup.prepare()
        ProcessStartup.bootstrapLogging()
        log.info("\(kernels)")
        Self.main(nil)  // ArgumentParser: parse, validate, run, and turn thrown errors into messages + exit codes.
    }
}
