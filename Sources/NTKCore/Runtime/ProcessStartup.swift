import Foundation
import Logging

/// What every executable of the system does first: settle the BLAS kernels (may re-execute the process),
/// the allocator and logging.
public enum ProcessStartup {
    /// How the OpenBLAS core was chosen (set by `prepare`, read afterwards).
    nonisolated(unsafe) public private(set) static var selection: BLASRuntime.Selection = .library

    /// The environment variable that sets the log level.
    public static let logLevelVariable = "NTK_LOG_LEVEL"

    /// Selects the OpenBLAS core and tunes the allocator; returns the line to log about the kernels.
    public static func prepare() -> String {
        selection = BLASRuntime.selectFastestCore()
        MemoryTuning.keepLargeBlocksMapped()
        return BLASRuntime.describe(selection)
    }

    /// Sends every log message to stderr at the level named by `NTK_LOG_LEVEL` (default info).
    /// An unknown level is reported rather than silently ignored.
    public static func bootstrapLogging() {
        let requested = ProcessInfo.processInfo.environment[logLevelVariable]
        let level = requested.flatMap { Logger.Level(rawValue: $0.lowercased()) } ?? .info
        LoggingSystem.bootstrap { label in
            var handler = StreamLogHandler.standardError(label: label)
            handler.logLevel = level
            return handler
        }
        if let requested, Logger.Level(rawValue: requested.lowercased()) == nil {
            let known = Logger.Level.allCases.map(\.rawValue).joined(separator: ", ")
            Logger(label: "ntk").warning("\(logLevelVariable)=\(requested) is not a log level (\(known)); using info")
        }
    }
}
