import ArgumentParser
import CZeroMQ
import Foundation
import NTKCore

/// `ntk blas-info`: which linear-algebra kernels this process runs on, and whether they compute correctly.
struct BLASInfoCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "blas-info",
        abstract: "Show the OpenBLAS core and threads in use, how the core was chosen, a correctness self-check, and the ZeroMQ version.",
        discussion: """
        The self-check runs small GEMM, SYRK and SYEVD in Float32 and Float64 \
        against plain loops; it passes below relative error 1e-12 (Float64) \
        and 1e-4 (Float32). "Best core for CPU" is what the CPU's feature \
        flags allow: SkylakeX (AVX-512) or Haswell (AVX2 + FMA).
        """)

    @Flag(help: "Print one JSON object instead of text.")
    var json = false

    /// The JSON form (keys in snake_case).
    struct Info: Codable {
        let openblasCore: String
        let threads: Int
        let selection: String
        let openblasCoretype: String?
        let selfCheckPassed: Bool
        let selfCheckMaxRelativeError: Double
        let bestCoreForCpu: String?
        let zeromqVersion: String
    }

    func run() throws {
        let check = BLASRuntime.selfCheck()
        var major: Int32 = 0, minor: Int32 = 0, patch: Int32 = 0
        zmq_version(&major, &minor, &patch)
        let info = Info(
            openblasCore: BLASRuntime.coreName,
            threads: BLASRuntime.threadCount,
            selection: BLASRuntime.describe(ProcessStartup.selection),
            openblasCoretype: ProcessInfo.processInfo.environment["OPENBLAS_CORETYPE"],
            selfCheckPassed: check.passed,
            selfCheckMaxRelativeError: check.maxRelativeError,
            bestCoreForCpu: BLASRuntime.bestCoreForCPU(),
            zeromqVersion: "\(major).\(minor).\(patch)")
        if json {
            print(try Console.jsonLine(info))
            return
        }
        print("OpenBLAS core:        \(info.openblasCore)")
        print("threads:              \(info.threads)")
        print("selection:            \(info.selection)")
        var chosenHere = false
        if case .selected = ProcessStartup.selection { chosenHere = true }
        print("OPENBLAS_CORETYPE:    \(info.openblasCoretype ?? "(unset)")\(chosenHere ? " (set by ntk when it restarted itself)" : "")")
        print("self-check:           \(check.passed ? "passed" : "FAILED"), max relative error \(Console.format(check.maxRelativeError, "%.2e"))")
        print("best core for CPU:    \(info.bestCoreForCpu ?? "none better than generic (no AVX2+FMA)")")
        print("ZeroMQ:               \(info.zeromqVersion)")
    }
}
