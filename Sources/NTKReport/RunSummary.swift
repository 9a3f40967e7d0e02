import Foundation

/// The figures a reader compares runs by: accuracy reached, what reaching the target cost, and totals.
public struct RunSummary: Sendable, Equatable {
    public let name: String
    public let strategy: RunHistory.Strategy
    public let rounds: Int
    /// Test accuracy after the last round (nil when the server did not evaluate).
    public let finalAccuracy: Double?
    /// The highest test accuracy of any round, and the first round that had it.
    public let bestAccuracy: Double?
    public let bestRound: Int?
    public let target: Double
    /// The first round whose test accuracy is at least `target`; nil when none is.
    public let targetRound: Int?
    /// Bytes in and out, and wall-clock seconds, through the end of `targetRound`.
    public let bytesToTarget: Int?
    public let secondsToTarget: Double?
    /// Whether every later round also reached `target`; nil when no round did.
    public let staysAboveTarget: Bool?
    /// Bytes the server received from the workers, and sent to them, over the whole run.
    public let totalBytesUp: Int
    public let totalBytesDown: Int
    public let totalSeconds: Double

    public init(_ run: RunHistory, target: Double) {
        name = run.name
        strategy = run.strategy
        rounds = run.records.count
        self.target = target
        let accuracies = run.records.map(\.testAccuracy)
        finalAccuracy = accuracies.last ?? nil
        let best = accuracies.enumerated().compactMap { i, a in a.map { (i, $0) } }.max { $0.1 < $1.1 }
        bestAccuracy = best?.1
        bestRound = best.map { run.records[$0.0].round }
        let reached = accuracies.firstIndex { ($0 ?? -.infinity) >= target }
        targetRound = reached.map { run.records[$0].round }
        bytesToTarget = reached.map { run.cumulativeBytes[$0] }
        secondsToTarget = reached.map { run.cumulativeSeconds[$0] }
        // Rounds without an evaluation say nothing either way.
        staysAboveTarget = reached.map { index in accuracies[index...].allSatisfy { ($0 ?? target) >= target } }
        totalBytesUp = run.bytesUp.reduce(0, +)
        totalBytesDown = run.bytesDown.reduce(0, +)
        totalSeconds = run.cumulativeSeconds.last ?? 0
    }
}

/// How the report writes numbers: the same text on the page and in the terminal.
public enum ReportFormat {
    /// `97.49%`, or `–` when absent.
    public static func percent(_ fraction: Double?) -> String { fraction.map { String(format: "%.2f%%", 100 * $0) } ?? "–" }

    /// `66.1 MB` (decimal megabytes, as the server's log prints them), or `–`.
    public static func megabytes(_ bytes: Int?) -> String { bytes.map { String(format: "%.1f MB", Double($0) / 1e6) } ?? "–" }

    /// A target accuracy as short as it can be: `97%`, `97.5%`.
    public static func target(_ fraction: Double) -> String { String(format: "%g%%", 100 * fraction) }

    /// `12.3 s`, or `–`.
    public static func seconds(_ value: Double?) -> String { value.map { String(format: "%.1f s", $0) } ?? "–" }

    /// `yes` / `no`, or `–` when the question does not arise.
    public static func yesNo(_ value: Bool?) -> String { value.map { $0 ? "yes" : "no" } ?? "–" }

    /// `3`, or `–` (e.g. a target never reached).
    public static func integer(_ value: Int?) -> String { value.map(String.init) ?? "–" }
}

extension RunSummary {
    /// Column headings of `cells`, shared by the page's table and the terminal's.
    public static func headings(target: Double) -> [String] {
        let goal = ReportFormat.target(target)
        return ["run", "strategy", "rounds", "final acc", "best acc (round)", "round ≥ \(goal)", "data to \(goal)", "time to \(goal)",
                "stays ≥ \(goal)", "data up", "data down", "total time"]
    }

    /// One row of the summary table, formatted.
    public var cells: [String] {
        [name, strategy.rawValue, String(rounds), ReportFormat.percent(finalAccuracy),
         "\(ReportFormat.percent(bestAccuracy)) (\(ReportFormat.integer(bestRound)))", ReportFormat.integer(targetRound),
         ReportFormat.megabytes(bytesToTarget), ReportFormat.seconds(secondsToTarget), ReportFormat.yesNo(staysAboveTarget),
         ReportFormat.megabytes(totalBytesUp), ReportFormat.megabytes(totalBytesDown), ReportFormat.seconds(totalSeconds)]
    }
}
