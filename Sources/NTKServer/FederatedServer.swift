import Foundation
import Logging
import NTKConfig
import NTKCore
import NTKData
import NTKTransport
import NTKWire

/// `ntk-server`: owns θ, the round counter and the schedule; never sees a worker's data, only the
/// Jacobian blocks, outputs and targets the workers send (which reveal the data: see the README).
///
/// The round itself is in `Round.swift`; this file holds the state, registration and message plumbing.
/// It runs over any `ServerTransport`: ZeroMQ in production, the in-process hub in tests.
public final class FederatedServer {
    public let config: RunConfiguration
    let mailbox: ServerMailbox
    var registry: WorkerRegistry
    let log: Logger
    /// Current weights θ (flat, the model's order).
    public internal(set) var parameters: [Float]
    var planner = RefreshPlanner()
    /// The first round this process runs (after a resume: the one after the checkpoint).
    let firstRound: Int
    /// The current linearization (the union of the last refresh's blocks) and the progress `β` on it.
    var kernel: LinearizedTraining<Float>?
    var kernelWorkers: [String] = []
    var beta: [Double]?
    /// The server's own held-out set (with `standardize: federated`, standardized once the workers' statistics are pooled).
    var evaluationSet: DataSource.Samples?
    /// The pooled feature standardization (`standardize: federated`), fixed before round 1 and checkpointed.
    public internal(set) var featureStandardization: FeatureStandardization?
    /// SCAFFOLD: the server's control variate c (`[P]`, zeros before round 1, checkpointed); `nil` in other runs.
    public internal(set) var serverControl: ControlVariate?
    var standardizesFromPooledStatistics: Bool { config.workers.first?.data.standardization == .federated }
    let roundLog: RoundLog
    /// Records of the rounds this process ran.
    public private(set) var history: [RoundRecord] = []
    /// Held-out reports of the current round, by worker.
    var heldOutReports: [String: LossSummary] = [:]
    /// The RoundStart of the current round and its clients, re-sent to those of them that rejoin mid-round.
    var currentRoundStart: (round: Int, payload: RoundStart, clients: [String])?
    /// Each client's inputs `X0` from its first factored block since it registered (`server.keep_inputs`).
    var keptInputs: [String: Matrix<Float>] = [:]
    /// The round's `Candidates` once sent, re-sent too: a worker that rejoins while the server collects
    /// candidate losses would otherwise never answer (and the `wait` policy would wait forever).
    var currentCandidates: (round: Int, payload: Candidates)?

    var outputDirectory: URL { URL(fileURLWithPath: config.outputDirectory) }
    var checkpointURL: URL { outputDirectory.appendingPathComponent("checkpoint.json") }

    /// Prepares a run; with `resume`, continues from the checkpoint in the output directory.
    public init(config: RunConfiguration, transport: ServerTransport, resume: Bool = false, logger: Logger? = nil) throws {
        self.config = config
        self.log = logger ?? Logger(label: "ntk-server")
        var limits = WireLimits.default
        limits.maxMessageBytes = config.server.maxMessageBytes
        limits.requireFinite = true
        self.mailbox = ServerMailbox(transport: transport, runID: RunID.of(name: config.runID), limits: limits, log: log)
        self.registry = WorkerRegistry(allowedNames: config.workers.map(\.name), expected: config.server.expectedWorkers)
        let federated = config.workers.first?.data.standardization == .federated
        self.evaluationSet = try config.server.evaluation?.load(scaling: federated ? FeatureScaling() : nil)
        self.roundLog = try RoundLog(directory: URL(fileURLWithPath: config.outputDirectory))
        if resume, FileManager.default.fileExists(atPath: config.outputDirectory + "/checkpoint.json") {
            let checkpoint = try Checkpoint.read(from: URL(fileURLWithPath: config.outputDirectory + "/checkpoint.json"))
            guard checkpoint.runID == config.runID, checkpoint.configHash == config.hash else {
                throw ServerError.incompatibleCheckpoint("checkpoint belongs to run \(checkpoint.runID) with config hash \(checkpoint.configHash); this is \(config.runID) with \(config.hash)")
            }
            parameters = try checkpoint.parameters(for: config.model)
            planner = checkpoint.refresh
            firstRound = checkpoint.round + 1
            serverControl = try checkpoint.serverControl(for: config)
            if let standardization = checkpoint.featureStandardization { try standardize(with: standardization) }
            let logged = try roundLog.truncate(after: checkpoint.round)
            if let record = checkpoint.record, !logged.contains(record.round) { try roundLog.append(record) }
            log.info("resuming \(config.runID) after round \(checkpoint.round)")
        } else {
            parameters = try config.model.initialParameters(seed: config.seed)
            firstRound = 1
            if config.localTraining?.resolvedMethod == .scaffold { serverControl = ControlVariate(zerosFor: config.model.parameterCount) }
            try roundLog.truncate(after: 0)
        }
    }

    /// Registration, every round, shutdown of the workers, final weights.
    public func run() throws {
        try awaitRegistrations()
        if standardizesFromPooledStatistics && featureStandardization == nil { try poolFeatureStatistics() }
        var lastRound = firstRound - 1
        for round in stride(from: firstRound, through: config.rounds, by: 1) {   // none after a resume past the last round
            switch config.localTraining?.resolvedMethod {
            case nil: try runRound(round)
            case .fedAvg, .fedProx: try runFedAvgRound(round)
            case .scaffold: try runScaffoldRound(round)
            }
            lastRound = round
            if let target = config.stopAtAccuracy, let accuracy = history.last?.testAccuracy, accuracy >= target {
                log.info("round \(round): test accuracy \(accuracy) reached stop_at_accuracy \(target); ending the run")
                break
            }
        }
        for worker in registry.ordered {
            try? mailbox.send(Shutdown(reason: "run \(config.runID) finished"), to: worker.peer, workerID: worker.id, round: lastRound)
        }
        try config.model.archive(parameters).write(to: outputDirectory.appendingPathComponent("weights.npz"))
        log.info("run \(config.runID) finished after round \(lastRound); weights in \(outputDirectory.path)/weights.npz")
    }

    // MARK: Registration and message plumbing

    /// Waits until the expected workers registered (or, at the timeout, at least `minWorkers`).
    func awaitRegistrations() throws {
        let deadline = ContinuousClock.now + .seconds(config.server.registrationTimeout)
        log.info("waiting for \(config.server.expectedWorkers) workers on \(config.server.endpoint)")
        while !registry.isComplete {
            if let (peer, message) = try mailbox.next(until: min(deadline, .now + .seconds(1))) {
                handleBackground(peer, message, round: firstRound - 1)
            } else if ContinuousClock.now >= deadline {
                guard registry.workers.count >= config.server.minWorkers else {
                    throw ServerError.notEnoughWorkers("only \(registry.workers.count) of \(config.server.expectedWorkers) workers registered within \(config.server.registrationTimeout) s")
                }
                log.warning("registration timeout: starting with \(registry.workers.count) of \(config.server.expectedWorkers) workers")
                break
            }
        }
    }

    /// Handles what may arrive at any time: registrations (also rejoins), heartbeats, held-out reports.
    /// Returns `false` for messages the caller must look at.
    @discardableResult
    func handleBackground(_ peer: PeerID, _ message: Message, round: Int) -> Bool {
        switch message.type {
        case .register:
            let info: Register
            do { info = try message.payload(Register.self) } catch {
                mailbox.reject(peer, .malformed, "bad registration: \(error)", type: .register)
                return true
            }
            if standardizesFromPooledStatistics && info.featureMoments == nil {
                mailbox.reject(peer, .refused, "this run standardizes features from pooled statistics ('standardize: federated'): register with featureMoments",
                               type: .register, fatal: true)
                return true
            }
            guard info.blockDTypes.contains(config.server.blockDType) else {
                mailbox.reject(peer, .refused, "this run's blocks travel as \(config.server.blockDType.rawValue); the worker offers \(info.blockDTypes.map(\.rawValue).joined(separator: ", "))",
                               type: .register, fatal: true)
                return true
            }
            switch registry.admit(info, from: peer, inputDimension: config.model.inputDimension,
                                  outputCount: config.model.outputCount) {
            case .failure(let reason):
                mailbox.reject(peer, .refused, reason.reason, type: .register, fatal: true)
            case .success(let worker):
                log.info("worker \(worker.name) registered (\(info.sampleCount) samples, fingerprint \(info.dataFingerprint.prefix(12))…)")
                var welcome = Welcome(workerID: worker.id, runName: config.runID, model: config.model,
                                      loss: config.linearization.loss, blockFormat: config.server.blockFormat, blockDType: config.server.blockDType,
                                      heartbeatIntervalSeconds: config.server.heartbeatInterval,
                                      peerTimeoutSeconds: max(10, 10 * config.server.heartbeatInterval),
                                      maxMessageBytes: config.server.maxMessageBytes, currentRound: UInt64(max(round, 0)))
                welcome.localTraining = config.localTraining
                welcome.keepsInputs = config.server.keepInputs && config.server.blockFormat == .factored
                keptInputs[worker.name] = nil   // a (re)registered client starts with full blocks again
                try? mailbox.send(welcome, to: peer, workerID: worker.id, round: round)
                // A worker that rejoins mid-round gets the round's instructions again.
                if let current = currentRoundStart, current.clients.contains(worker.name) {
                    try? mailbox.send(current.payload, to: peer, workerID: worker.id, round: current.round)
                    if let candidates = currentCandidates, candidates.round == current.round {
                        try? mailbox.send(candidates.payload, to: peer, workerID: worker.id, round: candidates.round)
                    }
                }
            }
            return true
        case .heartbeat:
            guard let worker = registry.worker(for: peer) else {
                mailbox.reject(peer, .unregistered, "unknown peer: register first", type: .heartbeat)
                return true
            }
            registry.touch(worker.name)
            try? mailbox.send(Heartbeat(sentAt: Date().timeIntervalSince1970), to: peer, workerID: worker.id, round: round)
            return true
        case .evaluationReport:
            guard let worker = registry.worker(for: peer) else { return true }
            if message.header.round == UInt64(round), let report = try? message.payload(EvaluationReport.self) {
                heldOutReports[worker.name] = report.heldOut
            }
            return true
        case .localUpdate where message.header.round < UInt64(max(round, 0)) && serverControl != nil:
            // A SCAFFOLD update that missed its round: its weights are stale, but the client has already moved
            // its c_i, so its Δc_i still enters c (c stays the mean of all c_i).
            guard let worker = registry.worker(for: peer) else { return false }
            applyLateControlDelta(message, from: worker.name)
            mailbox.reject(peer, .wrongRound, "localUpdate for round \(message.header.round), the current round is \(round): weights dropped, Δc_i applied to c",
                           type: .localUpdate, round: message.header.round)
            return true
        default:
            guard registry.worker(for: peer) != nil else {
                mailbox.reject(peer, .unregistered, "unknown peer: register first", type: message.type, round: message.header.round)
                return true
            }
            return false
        }
    }

    /// Collects one message of `type` for `round` from each of `names`, calling `onArrival` as each comes.
    ///
    /// After the round deadline: with the `proceed` policy, returns what arrived if that is at least
    /// `minWorkers`; with `wait`, keeps waiting for everyone (a worker that comes back is sent the round's
    /// instructions again on registration).
    func collect(_ type: MessageType, round: Int, from names: [String],
                 onArrival: (String, Message) throws -> Void) throws -> [String] {
        var arrived: [String] = []
        var deadline = ContinuousClock.now + .seconds(config.server.roundDeadline)
        while arrived.count < names.count {
            // Checked before every message, not only when the mailbox is quiet: idle clients' heartbeats keep
            // it busy, and a deadline seen only on a timeout would never come while they talk.
            if ContinuousClock.now >= deadline {
                let missing = names.filter { !arrived.contains($0) }
                if config.server.missingWorkerPolicy == .proceed && arrived.count >= config.server.minWorkers {
                    log.warning("round \(round): no \(type) from \(missing.joined(separator: ", ")) within \(config.server.roundDeadline) s; going on with \(arrived.count) workers")
                    break
                }
                log.warning("round \(round): still waiting for \(type) from \(missing.joined(separator: ", "))")
                deadline = .now + .seconds(config.server.roundDeadline)
            }
            guard let (peer, message) = try mailbox.next(until: min(deadline, .now + .seconds(config.server.heartbeatInterval))) else { continue }
            if handleBackground(peer, message, round: round) { continue }
            let worker = registry.worker(for: peer)!
            registry.touch(worker.name)
            guard message.type == type else {
                mailbox.reject(peer, .unexpected, "\(message.type) not expected now (waiting for \(type))", type: message.type, round: message.header.round)
                continue
            }
            guard message.header.round == UInt64(round) else {
                mailbox.reject(peer, .wrongRound, "\(type) for round \(message.header.round), the current round is \(round)", type: type, round: message.header.round)
                continue
            }
            guard names.contains(worker.name), !arrived.contains(worker.name) else {
                mailbox.reject(peer, .unexpected, "\(type) from \(worker.name) not expected (not a participant, or a duplicate)", type: type, round: UInt64(round))
                continue
            }
            do {
                try onArrival(worker.name, message)
                arrived.append(worker.name)
            } catch {
                mailbox.reject(peer, .shapeMismatch, "\(type) from \(worker.name) refused: \(error)", type: type, round: UInt64(round))
            }
        }
        return names.filter { arrived.contains($0) }
    }

    func append(_ record: RoundRecord) throws {
        history.append(record)
        try roundLog.append(record)
    }
}

/// Why the server stopped.
public enum ServerError: Error, CustomStringConvertible {
    case notEnoughWorkers(String)
    case incompatibleCheckpoint(String)
    case noBlocks(String)
    case missingStatistics(String)

    public var description: String {
        switch self {
        case .notEnoughWorkers(let s), .incompatibleCheckpoint(let s), .noBlocks(let s), .missingStatistics(let s): return s
        }
    }
}
