import Foundation
import Logging
import NTKConfig
import NTKCore
import NTKData
import NTKTransport
import NTKWire

/// `ntk-worker`: one data node. Loads its private shard, registers, and each round computes its Jacobian
/// block at the broadcast θ, evaluates candidate weights on its shard, and reports its held-out metrics.
/// Only blocks, outputs, targets and loss sums leave the node (the blocks reveal the data: see the README).
public final class FederatedWorker {
    public let settings: WorkerSettings
    let transport: WorkerTransport
    let log: Logger
    /// The shard and held-out split as the network sees them (standardized once the server said how).
    private(set) var shard: (inputs: Matrix<Float>, targets: Matrix<Float>)
    private(set) var heldOut: (inputs: Matrix<Float>, targets: Matrix<Float>)?
    /// With `standardize: federated`: the unscaled samples, their moments (sent on registration) and the
    /// standardization in force.
    private let raw: (shard: DataSource.Samples, heldOut: DataSource.Samples?)?
    private let moments: FeatureMoments?
    public private(set) var standardization: FeatureStandardization?
    /// SHA-256 of the shard: the server refuses a rejoin with different data under the same name.
    public let fingerprint: String
    /// The server's terms; a new welcome (a registration, a rejoin) means a server that keeps none of our inputs yet.
    private var welcome: Welcome? { didSet { serverKeepsInputs = false } }
    private var runID: UInt64 = 0
    private var lastHeard = ContinuousClock.now
    private var warnedSilence = false
    /// The current round's weights: candidates may arrive as steps from them.
    private var roundStart: (round: UInt64, parameters: [Float])?
    /// The server chunks θ and candidates larger than its message limit (§9): rebuilt here.
    private let reassembler = Reassembler<Int>()
    /// Rounds whose block this worker sent (for tests and logs).
    public private(set) var blocksSent = 0
    /// The server kept this worker's inputs `X0` (sent in a full factored block since the last welcome, which
    /// resets it): later blocks leave them out.
    public private(set) var serverKeepsInputs = false
    /// Test hook: called with the round number before a block or local update is uploaded (fault-injection tests).
    public var beforeUpload: ((Int) throws -> Void)?
    /// Shared by the clients of one process: heavy work runs one client at a time.
    private let lane: ComputeLane
    /// Baseline runs: `‖y − θ_r‖/‖θ_r‖` of the last local training, how far it moved from the round's weights.
    public internal(set) var lastLocalStep: Double?
    /// SCAFFOLD: this client's control variate state (`LocalTrainingRound.swift`).
    var scaffold: ScaffoldClientState?
    /// SCAFFOLD: this client's control variate c_i (`[P]`; `nil` before its first SCAFFOLD round).
    public var clientControl: ControlVariate? { scaffold?.control }

    /// A client; clients hosted by one process share its `tables` (files parsed once) and its `lane`.
    public init(settings: WorkerSettings, transport: WorkerTransport, logger: Logger? = nil,
                tables: TableCache? = nil, lane: ComputeLane = ComputeLane()) throws {
        self.settings = settings
        self.transport = transport
        self.lane = lane
        self.log = logger ?? Logger(label: "ntk-worker.\(settings.name)")
        let federated = settings.data.standardization == .federated
        // Federated standardization: load unscaled; the network sees nothing until the server sends the map.
        let identity = federated ? FeatureScaling() : nil
        let data = try settings.data.load(scaling: identity, cache: tables)
        let held = try settings.heldOut.map { try $0.load(scaling: identity, cache: tables) }
        let x = settings.clientFeatures
        shard = (Self.prepending(x, to: data.inputs.converted()), data.targets.converted())
        heldOut = held.map { (Self.prepending(x, to: $0.inputs.converted()), $0.targets.converted()) }
        fingerprint = DataFingerprint.sha256(inputs: data.inputs, targets: data.targets)
        raw = federated ? (data, held) : nil
        moments = federated ? FeatureStatistics(data.inputs).moments : nil
    }

    /// Applies the server's pooled standardization to the unscaled samples (once; it does not change in a run).
    private func adopt(_ standardization: FeatureStandardization?) throws {
        guard let raw else { return }
        guard let standardization else {
            throw WorkerError.protocolViolation("the run standardizes features from pooled statistics, but the server sent no standardization")
        }
        guard standardization != self.standardization else { return }
        try standardization.validate(dimension: raw.shard.inputs.columns)
        let map = FeatureScaling(offset: standardization.offset, divisor: standardization.divisor, scale: settings.data.featureScale)
        func scaled(_ samples: DataSource.Samples) throws -> (inputs: Matrix<Float>, targets: Matrix<Float>) {
            var x = samples.inputs
            try map.apply(to: &x, path: settings.data.file)
            return (Self.prepending(settings.clientFeatures, to: x.converted()), samples.targets.converted())
        }
        shard = try scaled(raw.shard)
        heldOut = try raw.heldOut.map(scaled)
        self.standardization = standardization
        log.info("features standardized with the federation's pooled mean and standard deviation")
    }

    /// A hypernetwork's rows are `[x, z]`: this worker's features `x` (its one-hot id or given features) before
    /// every sample `z`. Done here, not in the data loader: `x` says who holds the data, not what it is.
    static func prepending(_ x: [Double]?, to z: Matrix<Float>) -> Matrix<Float> {
        guard let x, !x.isEmpty else { return z }
        let prefix = x.map(Float.init), d = z.columns
        var rows = [Float]()
        rows.reserveCapacity(z.rows * (prefix.count + d))
        for i in 0..<z.rows {
            rows += prefix
            rows += z.elements[(i * d)..<((i + 1) * d)]
        }
        return Matrix(rows: z.rows, columns: prefix.count + d, elements: rows)
    }

    /// Closes the connection (the process is leaving; unsent messages get the transport's linger time).
    public func close() { transport.close() }

    /// Runs until the server says the run is over.
    public func run() throws {
        try register()
        while true {
            let interval = welcome?.heartbeatIntervalSeconds ?? 1
            guard let frames = try transport.receive(timeout: .seconds(interval)) else {
                // A silent server is usually busy (a long solve on one thread), not gone: registering again
                // would make it resend the round and this worker recompute its block. Heartbeats go on; a
                // restarted server answers them with `unregistered`, and that makes this worker register.
                let timeout = welcome?.peerTimeoutSeconds ?? 30
                if ContinuousClock.now - lastHeard > .seconds(timeout), !warnedSilence {
                    log.warning("no word from the server for \(timeout) s (busy, or gone); still sending heartbeats")
                    warnedSilence = true
                }
                try send(Heartbeat(sentAt: Date().timeIntervalSince1970), round: 0)
                continue
            }
            lastHeard = .now
            warnedSilence = false
            var message: Message
            do { message = try Wire.decode(frames) } catch {
                log.warning("undecodable message from the server: \(error)")
                continue
            }
            if message.header.flags.contains(.chunk) {
                do {
                    guard let whole = try reassembler.accept(message, from: 0) else { continue }
                    message = whole
                } catch {
                    log.warning("bad chunk from the server: \(error)")
                    continue
                }
            }
            switch message.type {
            case .roundStart: try lane.run { try startRound(message) }
            case .candidates: try lane.run { try evaluateCandidates(message) }
            case .shutdown:
                log.info("server: \((try? message.payload(Shutdown.self).reason) ?? "shutdown")")
                return
            case .reject:
                let reject = try message.payload(Reject.self)
                log.warning("server refused a message: \(reject.code.rawValue): \(reject.reason)")
                if reject.code == .refused && reject.fatal { throw WorkerError.refused(reject.reason) }
                // A refused block may have been the one whose inputs the server was to keep: send them again.
                if reject.rejectedType == MessageType.block.rawValue { serverKeepsInputs = false }
                if reject.code == .unregistered || reject.code == .wrongRun { try register() }
            case .welcome:
                welcome = try message.payload(Welcome.self)
            default:
                break
            }
        }
    }

    /// Announces the shard and waits for the server's welcome (retrying, e.g. while the server restarts).
    func register() throws {
        var info = Register(workerName: settings.name, sampleCount: shard.inputs.rows, inputDimension: shard.inputs.columns,
                            outputCount: shard.targets.columns, dataFingerprint: fingerprint, heldOutCount: heldOut?.inputs.rows ?? 0,
                            blockDTypes: [.f32, .f16, .bf16])
        info.featureMoments = moments
        _ = reassembler.evict(sender: 0)   // parts of messages from before (e.g. a server that restarted)
        while true {
            try transport.send(try Message(info).encoded())
            let deadline = ContinuousClock.now + .seconds(3)
            while ContinuousClock.now < deadline {
                guard let frames = try transport.receive(timeout: deadline - .now),
                      let message = try? Wire.decode(frames) else { continue }
                if message.type == .welcome {
                    let w = try message.payload(Welcome.self)
                    welcome = w
                    runID = RunID.of(name: w.runName)
                    lastHeard = .now
                    log.info("registered with run \(w.runName) as worker \(w.workerID)")
                    return
                }
                if message.type == .reject, let r = try? message.payload(Reject.self), r.fatal {
                    throw WorkerError.refused(r.reason)
                }
            }
            log.info("no welcome yet; registering again")
        }
    }

    private func send<P: WirePayload>(_ payload: P, round: UInt64) throws {
        let message = try Message(payload, workerID: welcome?.workerID ?? 0, runID: runID, round: round)
        for part in try Wire.chunk(message, maxBytes: welcome?.maxMessageBytes ?? WireLimits.default.maxMessageBytes) {
            try transport.send(part.encoded())
        }
    }

    /// θ arrives: report the held-out split, and at a refresh compute and upload the block.
    private func startRound(_ message: Message) throws {
        guard let model = welcome?.model else { return }
        let start = try message.payload(RoundStart.self)
        let round = message.header.round
        try adopt(start.body.featureStandardization)
        let theta = try start.theta(model: model, as: Float.self)
        roundStart = (round, theta)
        if start.body.evaluate, let heldOut {
            try send(EvaluationReport(heldOut: try lossSummary(model, theta, heldOut)), round: round)
        }
        if let local = welcome?.localTraining {
            let update = try localUpdate(local, model: model, start: start, theta: theta, round: round,
                                         loss: welcome?.loss ?? .mse, workerID: welcome?.workerID ?? 0)
            try beforeUpload?(Int(round))
            try send(update, round: round)
            return
        }
        guard start.body.refresh else { return }
        let computeStarted = ContinuousClock.now
        let jacobian = try model.jacobian(shard.inputs, parameters: theta)
        var block: Block
        // Blocks are computed in Float32; f64 would add bytes and no digits.
        let dtype = start.body.blockDType == .f64 ? .f32 : start.body.blockDType
        switch start.body.blockFormat {
        case .factored:
            guard let factored = jacobian as? FactoredJacobian<Float> else {
                throw WorkerError.protocolViolation("the server asked for factored blocks of \(model), which has only dense ones")
            }
            block = try Block(factored: factored, targets: shard.targets, dtype: dtype)
        case .dense: block = try Block(dense: jacobian.denseBlock(), targets: shard.targets, dtype: dtype)
        }
        let elapsed = ContinuousClock.now - computeStarted
        block.body.computeSeconds = Double(elapsed.components.seconds) + Double(elapsed.components.attoseconds) * 1e-18
        if serverKeepsInputs { block.omitInputs() }
        try beforeUpload?(Int(round))
        try send(block, round: round)
        blocksSent += 1
        if block.body.format == .factored, welcome?.keepsInputs == true { serverKeepsInputs = true }
        log.debug("round \(round): block sent (\(shard.inputs.rows) samples, \(start.body.blockFormat.rawValue))")
    }

    /// Candidate weights arrive: the real network's loss on the shard for each.
    private func evaluateCandidates(_ message: Message) throws {
        guard let model = welcome?.model else { return }
        let candidates = try message.payload(Candidates.self)
        let base = roundStart.flatMap { $0.round == message.header.round ? $0.parameters : nil }
        let losses = try candidates.flatParameters(parameterCount: model.parameterCount, roundStart: base, as: Float.self).map { p in
            try lossSummary(model, p, shard)
        }
        try send(CandidateLosses(losses: losses), round: message.header.round)
    }

    /// Summed loss (mse: `½‖y − f‖²` per sample; xent: cross-entropy) and correct count of the model at θ on samples.
    func lossSummary(_ model: ModelArchitecture, _ theta: [Float], _ samples: (inputs: Matrix<Float>, targets: Matrix<Float>)) throws -> LossSummary {
        let outputs = try model.outputs(samples.inputs, parameters: theta).elements.map(Double.init)
        let e = Evaluation(outputs: outputs, targets: samples.targets.elements.map(Double.init),
                           outputCount: samples.targets.columns, loss: welcome?.loss ?? .mse)
        let m = samples.inputs.rows
        // One output is a regression: nothing is "correct".
        let correct = samples.targets.columns > 1 ? Int((e.accuracy * Double(m)).rounded()) : nil
        return LossSummary(lossSum: e.loss * Double(m), sampleCount: m, correctCount: correct)
    }
}

extension FeatureStatistics {
    /// The sums as the protocol carries them.
    var moments: FeatureMoments { FeatureMoments(count: count, sum: sum, sumSquares: sumSquares) }
}

/// Why a worker stopped.
public enum WorkerError: Error, CustomStringConvertible {
    case refused(String)
    case protocolViolation(String)
    public var description: String {
        switch self {
        case .refused(let r): return "the server refused this worker: \(r)"
        case .protocolViolation(let r): return "the server broke the protocol: \(r)"
        }
    }
}
