import Foundation
import NTKCore

/// One line of `rounds.jsonl`: what a round did, how well, and what it cost.
public struct RoundRecord: Codable, Sendable {
    /// Seconds spent in each phase of the round.
    public struct Phases: Codable, Sendable {
        /// Broadcast of θ until the last block arrived (worker compute and transfer overlap here).
        public var blocks = 0.0
        /// The slowest worker's block computation, as it reported it.
        public var workerCompute = 0.0
        /// `blocks − workerCompute`: transfer (and waiting) of the block phase.
        public var transfer = 0.0
        /// Gram assembly as blocks arrived (dense path; included in `blocks` wall time).
        public var gram = 0.0
        /// Kernel drift against the previous refresh (exact on the dense path, a Hutchinson estimate otherwise).
        public var drift = 0.0
        /// Eigendecomposition or Lanczos for every candidate time.
        public var solve = 0.0
        /// Candidate weights out, loss sums back.
        public var timeSearch = 0.0
        /// θ update.
        public var update = 0.0
        /// Held-out evaluation (server's set; workers' reports arrive with their replies).
        public var evaluation = 0.0
        /// Checkpoint write.
        public var checkpoint = 0.0
        public init() {}

        /// A phase missing from a record (one written before the phase was measured) reads as 0 s.
        public init(from decoder: Decoder) throws {
            let c = try decoder.container(keyedBy: CodingKeys.self)
            func read(_ key: CodingKeys) throws -> Double { try c.decodeIfPresent(Double.self, forKey: key) ?? 0 }
            blocks = try read(.blocks)
            workerCompute = try read(.workerCompute)
            transfer = try read(.transfer)
            gram = try read(.gram)
            drift = try read(.drift)
            solve = try read(.solve)
            timeSearch = try read(.timeSearch)
            update = try read(.update)
            evaluation = try read(.evaluation)
            checkpoint = try read(.checkpoint)
        }
    }

    public var round: Int
    /// Whether new blocks were computed this round.
    public var refreshed: Bool
    /// `‖H_new − H_old‖_F / ‖H_old‖_F` at a refresh (exact on the dense path, a Hutchinson estimate otherwise).
    public var kernelDrift: Double?
    /// How the drift was measured.
    public var kernelDriftMethod: String?
    /// The kernel's eigenvalues (summarized), condition number and effective rank, at a refresh.
    public var spectrum: KernelSpectrum?
    /// The integration time kept.
    public var time: Double
    /// Every candidate's training loss (nonlinear or linearized, per the selection rule).
    public var candidateLosses: [Double]
    /// Training loss and accuracy of the real network at the new θ over all workers that reported
    /// (FedAvg: of the workers' local models before averaging).
    public var trainLoss: Double?
    public var trainAccuracy: Double?
    /// The server's held-out set.
    public var testLoss: Double?
    public var testAccuracy: Double?
    /// Workers' local held-out splits, pooled. Like the two below, these are the workers' reports of the weights the
    /// round started from (broadcast with `roundStart`): round r's numbers are those of θ after round r − 1.
    public var workerHeldOutAccuracy: Double?
    /// Each reporting worker's accuracy on its own held-out split (personalized runs are judged worker by worker).
    public var workerAccuracy: [String: Double]? = nil
    /// Each reporting worker's mean held-out loss.
    public var workerLoss: [String: Double]? = nil
    /// Workers whose blocks were used, in order; and those that missed the round.
    public var workers: [String]
    public var missingWorkers: [String]
    /// With partial participation: the clients sampled for this round (`workers` ⊆ `sampled`; the rest missed it).
    public var sampled: [String]? = nil
    /// Bytes received from each worker this round.
    public var bytesReceived: [String: Int]
    /// Bytes sent to all workers this round.
    public var bytesSent: Int
    /// Solver summary (dense/Lanczos, iterations, error estimate).
    public var solver: String
    /// At a refresh: why dense or Lanczos (estimated seconds and memory of each, the budget).
    public var solverPlan: String?
    public var seconds: Phases
    public var totalSeconds: Double
    /// The server process's peak resident memory so far (MB; Linux `ru_maxrss`).
    public var peakMemoryMB: Double? = nil
    /// When the round ended (ISO 8601, UTC); lets readers tell this run's rounds from an earlier run's.
    public var finishedAt: String?
}

/// Appends records to `rounds.jsonl`, one JSON object per line, flushed per round.
public struct RoundLog {
    public let url: URL

    public init(directory: URL) throws {
        try FileManager.default.createDirectory(at: directory, withIntermediateDirectories: true)
        url = directory.appendingPathComponent("rounds.jsonl")
        if !FileManager.default.fileExists(atPath: url.path) { _ = FileManager.default.createFile(atPath: url.path, contents: nil) }
    }

    /// Drops records after `round` (a resumed run rewrites the rounds it repeats); returns the rounds kept.
    @discardableResult
    public func truncate(after round: Int) throws -> [Int] {
        guard let text = try? String(contentsOf: url, encoding: .utf8) else { return [] }
        let decoder = JSONDecoder()
        let kept = text.split(separator: "\n").filter { line in
            guard let r = try? decoder.decode(RoundRecord.self, from: Data(line.utf8)) else { return false }
            return r.round <= round
        }
        try (kept.joined(separator: "\n") + (kept.isEmpty ? "" : "\n")).write(to: url, atomically: true, encoding: .utf8)
        return kept.compactMap { try? decoder.decode(RoundRecord.self, from: Data($0.utf8)).round }
    }

    public func append(_ record: RoundRecord) throws {
        let encoder = JSONEncoder()
        encoder.outputFormatting = [.sortedKeys]
        var data = try encoder.encode(record)
        data.append(0x0a)
        let handle = try FileHandle(forWritingTo: url)
        defer { try? handle.close() }
        try handle.seekToEnd()
        try handle.write(contentsOf: data)
        try handle.synchronize()
    }
}
