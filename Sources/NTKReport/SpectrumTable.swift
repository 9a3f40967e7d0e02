import Foundation
import NTKCore
import NTKServer

/// One refresh's kernel diagnostics, flattened from its `KernelSpectrum`: what `ntk spectrum` prints per row
/// (and writes with `--json`) and what the report's step-size section plots.
public struct SpectrumRow: Codable, Sendable, Equatable {
    public let run: String
    public let round: Int
    /// `dense` or `ritz` (see `KernelSpectrum.method`).
    public let method: String
    /// Eigenvalues of `H` above the noise floor.
    public let count: Int
    /// `λ_max`, `λ_min` of `H` (not `H/m`).
    public let largest: Double
    public let smallest: Double
    public let conditionNumber: Double
    public let effectiveRank: Double
    /// `2/(λ_max/m + ρ)`: the largest stable gradient-descent learning rate (nil in records made before it was).
    public let stableStep: Double?
    /// The fraction of `‖f − y‖²` in directions with `λ ≤ slowThreshold`, `m/(ητ)`, `τ = slowTime`.
    public let slowResidualFraction: Double?
    public let slowThreshold: Double?
    public let slowTime: Double?

    public init(run: String, round: Int, spectrum s: KernelSpectrum) {
        self.run = run
        self.round = round
        method = s.method
        count = s.count
        largest = s.largest
        smallest = s.smallest
        conditionNumber = s.conditionNumber
        effectiveRank = s.effectiveRank
        stableStep = s.stableStep
        slowResidualFraction = s.slowResidualFraction
        slowThreshold = s.slowThreshold
        slowTime = s.slowTime
    }
}

/// The rows of one or more runs and their text form.
public enum SpectrumTable {
    /// One row per record that carries a spectrum (a refresh), in round order.
    public static func rows(_ run: RunHistory) -> [SpectrumRow] {
        run.records.compactMap { record in record.spectrum.map { SpectrumRow(run: run.name, round: record.round, spectrum: $0) } }
    }

    public static let headings = ["run", "round", "method", "λ_max", "λ_min", "λ_max/λ_min", "eff. rank", "stable η", "slow ‖r‖²", "λ_slow (τ)"]

    /// One row, formatted; `–` where the record has no value.
    public static func cells(_ row: SpectrumRow) -> [String] {
        func g(_ v: Double?) -> String { v.map { String(format: "%.4g", $0) } ?? "–" }
        let threshold = row.slowThreshold.map { "\(g($0)) (\(g(row.slowTime)))" } ?? "–"
        return [row.run, String(row.round), "\(row.method) (\(row.count))", g(row.largest), g(row.smallest), g(row.conditionNumber),
                String(format: "%.1f", row.effectiveRank), g(row.stableStep), ReportFormat.percent(row.slowResidualFraction), threshold]
    }

    /// Aligned text columns with a heading line.
    public static func text(_ rows: [SpectrumRow]) -> String {
        let all = [headings] + rows.map(cells)
        let widths = headings.indices.map { c in all.map { $0[c].count }.max() ?? 0 }
        return all.map { cells in
            zip(cells, widths).map { $0 + String(repeating: " ", count: $1 - $0.count) }.joined(separator: "  ")
                .replacingOccurrences(of: "\\s+$", with: "", options: .regularExpression)
        }.joined(separator: "\n")
    }

    /// The rows as a JSON array (non-finite numbers, e.g. the condition number of an empty spectrum, as strings).
    public static func json(_ rows: [SpectrumRow]) throws -> String {
        let encoder = JSONEncoder()
        encoder.outputFormatting = [.prettyPrinted, .sortedKeys]
        encoder.nonConformingFloatEncodingStrategy = .convertToString(positiveInfinity: "inf", negativeInfinity: "-inf", nan: "nan")
        return String(decoding: try encoder.encode(rows), as: UTF8.self)
    }
}
