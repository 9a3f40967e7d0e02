import Foundation
import NTKServer

/// Follows a run's `rounds.jsonl` while the server appends to it, and prints one table row per finished
/// round (round, t, train loss and accuracy, test accuracy, workers, bytes, seconds) and a final summary.
///
/// The server's log says the same in prose; this is the view meant for people watching a run.
struct RunProgress {
    /// `<output_dir>/rounds.jsonl`.
    let url: URL
    /// Rounds at or below this one were logged before this run started (a resumed run's history).
    let alreadyLogged: Int
    /// Rounds that ended before this are an earlier run's (a fresh run's server empties the file only once it starts).
    let startedAt: Date
    /// Test accuracy to report the first round reaching (and whether it stays above), if any.
    let target: Double?
    /// Every record printed so far, in round order.
    private(set) var records: [RoundRecord] = []

    private static let widths = [5, 9, 10, 9, 9, 9, 8, 8, 8, 7]

    init(url: URL, alreadyLogged: Int, startedAt: Date, target: Double?) {
        self.url = url
        self.startedAt = startedAt
        self.alreadyLogged = alreadyLogged
        self.target = target
    }

    /// The column titles.
    var header: String {
        Console.row(["round", "t", "train loss", "train acc", "test loss", "test acc", "workers", "MB in", "MB out", "s"],
                    widths: Self.widths)
    }

    /// Reads the file again and returns the rows of rounds not printed yet (complete lines only).
    mutating func newRows() -> [String] {
        guard let data = try? Data(contentsOf: url) else { return [] }
        let decoder = JSONDecoder(), parser = ISO8601DateFormatter.withFractionalSeconds
        var rows: [String] = []
        // A line still being written does not end in a newline yet, and does not decode.
        for line in data.split(separator: 0x0a) {
            guard let record = try? decoder.decode(RoundRecord.self, from: line),
                  record.round > max(alreadyLogged, records.last?.round ?? 0),
                  let end = record.finishedAt.flatMap(parser.date(from:)), end >= startedAt else { continue }
            records.append(record)
            rows.append(row(record))
        }
        return rows
    }

    private func row(_ r: RoundRecord) -> String {
        let missing = r.missingWorkers.isEmpty ? "" : "  missing: " + r.missingWorkers.joined(separator: ", ")
        return Console.row([String(r.round), Console.format(r.time, "%.4g"), optional(r.trainLoss, "%.5f"),
                            r.trainAccuracy.map(Console.percent) ?? "-", optional(r.testLoss, "%.5f"),
                            r.testAccuracy.map(Console.percent) ?? "-",
                            "\(r.workers.count)/\(r.workers.count + r.missingWorkers.count)",
                            Console.format(r.megabytesIn, "%.1f"), Console.format(r.megabytesOut, "%.1f"),
                            Console.format(r.totalSeconds, "%.2f")], widths: Self.widths) + missing
    }

    private func optional(_ v: Double?, _ spec: String) -> String { v.map { Console.format($0, spec) } ?? "-" }

    /// The run in a few lines: accuracy (final, best, target), bytes, seconds.
    func summary(runID: String, wallSeconds: Double) -> String {
        guard let last = records.last else { return "summary: run \(runID) logged no round" }
        var lines: [String] = []
        let accuracies = records.compactMap { r in r.testAccuracy.map { (r.round, $0) } }
        if let best = accuracies.max(by: { $0.1 < $1.1 }), let final = last.testAccuracy {
            lines.append("test accuracy \(Console.percent(final)) after round \(last.round) (best \(Console.percent(best.1)), round \(best.0))")
        } else if let loss = last.testLoss {
            lines.append("test loss \(Console.format(loss, "%.5g")) after round \(last.round)")
        }
        if let target {
            if let first = accuracies.first(where: { $0.1 >= target }) {
                let holds = accuracies.allSatisfy { $0.0 < first.0 || $0.1 >= target }
                let upTo = records.prefix { $0.round <= first.0 }
                lines.append("first ≥ \(Console.percent(target)) at round \(first.0) (\(Console.format(upTo.map(\.megabytesIn).reduce(0, +) + upTo.map(\.megabytesOut).reduce(0, +), "%.1f")) MB, \(Console.format(upTo.map(\.totalSeconds).reduce(0, +), "%.1f")) s of rounds)\(holds ? ", above it since" : ", not held")")
            } else {
                lines.append("never reached \(Console.percent(target))")
            }
        }
        let mbIn = records.map(\.megabytesIn).reduce(0, +), mbOut = records.map(\.megabytesOut).reduce(0, +)
        lines.append("\(records.count) rounds, \(Console.format(mbIn, "%.1f")) MB in, \(Console.format(mbOut, "%.1f")) MB out, "
                     + "\(Console.format(records.map(\.totalSeconds).reduce(0, +), "%.1f")) s in rounds, \(Console.format(wallSeconds, "%.1f")) s wall")
        return "summary: run \(runID): " + lines.joined(separator: "; ")
    }
}

extension RoundRecord {
    /// Bytes received from all workers this round, in 10⁶.
    var megabytesIn: Double { Double(bytesReceived.values.reduce(0, +)) / 1e6 }
    /// Bytes sent to all workers this round, in 10⁶.
    var megabytesOut: Double { Double(bytesSent) / 1e6 }
}
