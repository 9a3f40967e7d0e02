import Foundation
import NTKServer

/// A run directory's rounds as `rounds.jsonl` recorded them, with the running totals the report plots.
public struct RunHistory: Sendable {
    /// How the run trained: the NTK method or a baseline (FedAvg, FedProx, SCAFFOLD).
    public enum Strategy: String, Sendable {
        case ntk = "NTK"
        case fedAvg = "FedAvg"
        case fedProx = "FedProx"
        case scaffold = "SCAFFOLD"

        /// The baselines train locally and compute no kernel (no spectrum, no solve phase).
        public var isBaseline: Bool { self != .ntk }
    }

    /// The run's id (from its checkpoint), else the run directory's name, e.g. `digits-noniid`.
    public let name: String
    public let directory: URL
    /// The records in file order (by round; a resumed run has rewritten the rounds it repeated).
    public let records: [RoundRecord]

    public init(name: String, directory: URL, records: [RoundRecord]) {
        self.name = name
        self.directory = directory
        self.records = records
    }

    /// Reads `directory/rounds.jsonl`; blank lines are skipped.
    ///
    /// - Throws: `RunHistoryError` naming the file (and the line, for a record that does not decode).
    public static func load(_ directory: URL) throws -> RunHistory {
        let file = directory.appendingPathComponent("rounds.jsonl")
        guard FileManager.default.fileExists(atPath: file.path) else {
            throw RunHistoryError(file: file, line: nil, reason: "no such file (is \(directory.path) a run directory written by ntk run?)")
        }
        let text: String
        do { text = try String(contentsOf: file, encoding: .utf8) } catch {
            throw RunHistoryError(file: file, line: nil, reason: "cannot read it as UTF-8 text (\(error.localizedDescription))")
        }
        let records = try decodeLines(text, file: file)
        guard !records.isEmpty else { throw RunHistoryError(file: file, line: nil, reason: "no rounds recorded yet") }
        // The run's id when its checkpoint says it (benchmarks keep many runs in directories all called `run`).
        let runID = (try? Checkpoint.read(from: directory.appendingPathComponent("checkpoint.json")))?.runID
        return RunHistory(name: runID ?? directory.standardizedFileURL.lastPathComponent, directory: directory, records: records)
    }

    /// One `RoundRecord` per nonblank line of `text`.
    static func decodeLines(_ text: String, file: URL) throws -> [RoundRecord] {
        let decoder = JSONDecoder()
        var records: [RoundRecord] = []
        for (index, line) in text.split(separator: "\n", omittingEmptySubsequences: false).enumerated()
        where !line.allSatisfy(\.isWhitespace) {
            do { records.append(try decoder.decode(RoundRecord.self, from: Data(line.utf8))) } catch {
                throw RunHistoryError(file: file, line: index + 1, reason: RunHistoryError.describe(error))
            }
        }
        return records
    }

    /// The baseline the server recorded in the rounds' `solver` (`fedavg`, `fedprox (μ = …)`, `scaffold`), NTK otherwise.
    public var strategy: Strategy {
        for record in records {
            if record.solver == "fedavg" { return .fedAvg }
            if record.solver.hasPrefix("fedprox") { return .fedProx }
            if record.solver == "scaffold" { return .scaffold }
        }
        return .ntk
    }

    /// `digits-noniid (NTK)`: how charts and tables name the run.
    public var label: String { "\(name) (\(strategy.rawValue))" }

    /// Bytes the server received from all workers in each round.
    public var bytesUp: [Int] { records.map { $0.bytesReceived.values.reduce(0, +) } }

    /// Bytes the server sent in each round.
    public var bytesDown: [Int] { records.map(\.bytesSent) }

    /// Bytes moved in both directions through the end of each round.
    public var cumulativeBytes: [Int] { runningSum(zip(bytesUp, bytesDown).map(+)) }

    /// Wall-clock seconds through the end of each round.
    public var cumulativeSeconds: [Double] { runningSum(records.map(\.totalSeconds)) }
}

/// Partial sums: `[a, a+b, a+b+c, …]`.
func runningSum<T: AdditiveArithmetic>(_ values: [T]) -> [T] {
    var total = T.zero
    return values.map { total += $0; return total }
}

/// A run directory the report cannot use, with the file and (for a bad record) the line.
public struct RunHistoryError: Error, CustomStringConvertible, LocalizedError {
    public let file: URL
    /// 1-based; nil when the problem is the file as a whole.
    public let line: Int?
    public let reason: String

    public var description: String { "\(file.path)\(line.map { ":\($0)" } ?? ""): \(reason)" }
    public var errorDescription: String? { description }

    /// A decoding error in a few words: which key is missing or has the wrong type, or that the JSON itself is broken.
    static func describe(_ error: Error) -> String {
        func path(_ keys: [CodingKey]) -> String { keys.map { $0.intValue.map { "[\($0)]" } ?? $0.stringValue }.joined(separator: ".") }
        switch error {
        case DecodingError.keyNotFound(let key, let context):
            return "not a round record: missing key \(path(context.codingPath + [key]))"
        case DecodingError.typeMismatch(_, let context), DecodingError.valueNotFound(_, let context):
            return "not a round record: unexpected value at \(path(context.codingPath))"
        case DecodingError.dataCorrupted(let context) where !context.codingPath.isEmpty:
            return "not a round record: invalid value at \(path(context.codingPath))"
        case is DecodingError:
            return "not valid JSON"
        default:
            return error.localizedDescription
        }
    }
}
