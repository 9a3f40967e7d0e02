import Foundation
import NTKReport
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
    /// Bytes of the file already read (up to the last complete line).
    private var consumed: UInt64 = 0
    /// The inode read from (a replaced file starts over).
    private var fileNumber: UInt64?

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

    /// Reads what the server appended since the last call and returns the rows of rounds not printed yet.
    mutating func newRows() -> [String] {
        guard let handle = try? FileHandle(forReadingFrom: url) else { return [] }
        defer { try? handle.close() }
        // The server replaces the file (a new inode) when it starts or resumes: a new file is read from its start.
        let inode = ((try? FileManager.default.attributesOfItem(atPath: url.path))?[.systemFileNumber] as? NSNumber)?.uint64Value
        if inode != fileNumber { (fileNumber, consumed) = (inode, 0) }
        if let size = try? handle.seekToEnd(), size < consumed { consumed = 0 }
        guard (try? handle.seek(toOffset: consumed)) != nil, let data = try? handle.readToEnd(), !data.isEmpty,
              let lastNewline = data.lastIndex(of: 0x0a) else { return [] }
        // A line still being written has no newline yet: it is read on a later call.
        consumed += UInt64(lastNewline - data.startIndex + 1)
        let decoder = JSONDecoder(), parser = ISO8601DateFormatter.withFractionalSeconds
        var rows: [String] = []
        for line in data[...lastNewline].split(separator: 0x0a) {
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

    /// The run in a few lines: accuracy (final, best, target), bytes, seconds (the figures of `ntk report`).
    func summary(runID: String, wallSeconds: Double) -> String {
        guard let last = records.last else { return "summary: run \(runID) logged no round" }
        let run = RunSummary(RunHistory(name: runID, directory: url.deletingLastPathComponent(), records: records), target: target ?? 1)
        var lines: [String] = []
        if let final = run.finalAccuracy, let best = run.bestAccuracy, let bestRound = run.bestRound {
            lines.append("test accuracy \(Console.percent(final)) after round \(last.round) (best \(Console.percent(best)), round \(bestRound))")
        } else if let loss = last.testLoss {
            lines.append("test loss \(Console.format(loss, "%.5g")) after round \(last.round)")
        }
        if let target {
            if let round = run.targetRound {
                lines.append("first ≥ \(Console.percent(target)) at round \(round) (\(ReportFormat.megabytes(run.bytesToTarget)), "
                             + "\(Console.format(run.secondsToTarget ?? 0, "%.1f")) s of rounds)\(run.staysAboveTarget == true ? ", above it since" : ", not held")")
            } else {
                lines.append("never reached \(Console.percent(target))")
            }
        }
        lines.append("\(run.rounds) rounds, \(Console.format(Double(run.totalBytesUp) / 1e6, "%.1f")) MB in, "
                     + "\(Console.format(Double(run.totalBytesDown) / 1e6, "%.1f")) MB out, "
                     + "\(Console.format(run.totalSeconds, "%.1f")) s in rounds, \(Console.format(wallSeconds, "%.1f")) s wall")
        return "summary: run \(runID): " + lines.joined(separator: "; ")
    }
}

extension RoundRecord {
    /// Bytes received from all workers this round, in 10⁶.
    var megabytesIn: Double { Double(bytesReceived.values.reduce(0, +)) / 1e6 }
    /// Bytes sent to all workers this round, in 10⁶.
    var megabytesOut: Double { Double(bytesSent) / 1e6 }
}
