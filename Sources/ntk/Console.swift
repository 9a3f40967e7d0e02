import Foundation
import Logging

/// The tool's logger. Diagnostics (the BLAS core, progress, timings of phases) go here, i.e. to
/// stderr; results (tables, summaries, JSON) are printed to stdout so they can be piped.
/// Created on first use, which is after `Console.bootstrapLogging()` in `NTK.main`.
let log = Logger(label: "ntk")

/// Small helpers for talking to the terminal: timing, number formatting, JSON lines.
enum Console {
    /// Wall-clock seconds spent in `body`, with its result.
    static func timed<T>(_ body: () throws -> T) rethrows -> (value: T, seconds: Double) {
        let clock = ContinuousClock()
        let start = clock.now
        let value = try body()
        return (value, seconds(clock.now - start))
    }

    /// A `Duration` in seconds.
    static func seconds(_ d: Duration) -> Double {
        let (s, attoseconds) = d.components
        return Double(s) + Double(attoseconds) * 1e-18
    }

    /// `printf`-style formatting of one number, e.g. `format(0.0123, "%.3f")`.
    static func format(_ x: Double, _ spec: String) -> String { String(format: spec, x) }

    /// A fraction as a percentage with two decimals ("97.22%").
    static func percent(_ fraction: Double) -> String { String(format: "%.2f%%", 100 * fraction) }

    /// One JSON object on one line (for `.jsonl` files and machine-readable stdout).
    static func jsonLine<T: Encodable>(_ value: T) throws -> String {
        let encoder = JSONEncoder()
        encoder.outputFormatting = [.withoutEscapingSlashes, .sortedKeys]  // the same bytes for the same values
        encoder.keyEncodingStrategy = .convertToSnakeCase  // chosenTime → "chosen_time", as Python readers expect
        encoder.nonConformingFloatEncodingStrategy = .convertToString(positiveInfinity: "inf", negativeInfinity: "-inf", nan: "nan")
        return String(decoding: try encoder.encode(value), as: UTF8.self)
    }

    /// Right-aligns `cells` into columns of the given widths (first column left-aligned).
    static func row(_ cells: [String], widths: [Int]) -> String {
        zip(cells, widths).enumerated().map { index, pair in
            let (cell, width) = pair
            let padding = String(repeating: " ", count: max(0, width - cell.count))
            return index == 0 ? cell + padding : padding + cell
        }.joined(separator: "  ")
    }
}
