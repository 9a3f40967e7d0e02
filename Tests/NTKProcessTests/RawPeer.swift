import Foundation
import NTKConfig
import NTKCore
import NTKTransport
import NTKWire

/// A worker driven by hand from the test: a raw DEALER that sends whatever frames the test builds and
/// reads the server's answers. It can also do a worker's honest work (blocks, candidate losses) on its
/// shard, so that a run with it in it has a known correct result.
final class RawPeer {
    let transport: ZMQWorkerTransport
    let runID: UInt64
    let architecture: MLPArchitecture
    let shard: (inputs: Matrix<Float>, targets: Matrix<Float>)
    let settings: WorkerSettings
    /// The server's message limit (from the configuration: also before the welcome announces it).
    let maxMessageBytes: Int
    private var reassembler = Reassembler<Int>()
    /// Messages received while waiting for another type, in arrival order.
    private var pending: [Message] = []
    private(set) var welcome: Welcome?

    init(endpoint: String, identity: String, settings: WorkerSettings, config: RunConfiguration) throws {
        var options = ZMQTransportOptions()
        options.linger = .zero
        options.sendTimeout = .seconds(10)
        transport = try ZMQWorkerTransport(connect: endpoint, identity: identity, options: options)
        runID = RunID.of(name: config.runID)
        architecture = config.model.mlp!
        self.settings = settings
        maxMessageBytes = config.server.maxMessageBytes
        let data = try settings.data.load()
        shard = (data.inputs.converted(), data.targets.converted())
    }

    func close() { transport.close() }

    var register: Register {
        Register(workerName: settings.name, sampleCount: shard.inputs.rows, inputDimension: shard.inputs.columns,
                 outputCount: shard.targets.columns, dataFingerprint: DataFingerprint.sha256(inputs: shard.inputs, targets: shard.targets),
                 software: "ntk process tests")
    }

    func send(_ frames: [Frame]) throws { try transport.send(frames) }

    /// A message, chunked to the server's limit when it is larger.
    func send(_ message: Message) throws {
        for part in try Wire.chunk(message, maxBytes: maxMessageBytes) {
            try transport.send(part.encoded())
        }
    }

    /// A payload addressed as this worker (its id once welcomed, the run's id).
    func send<P: WirePayload>(_ payload: P, round: UInt64, runID: UInt64? = nil) throws {
        try send(Message(payload, workerID: welcome?.workerID ?? 0, runID: runID ?? self.runID, round: round))
    }

    /// The next message of `type` (others are kept for later; heartbeats are dropped); throws after `timeout` s.
    func next(_ type: MessageType, timeout: Double = 15) throws -> Message {
        if let i = pending.firstIndex(where: { $0.type == type }) { return pending.remove(at: i) }
        let deadline = ContinuousClock.now + .milliseconds(Int(timeout * 1000))
        while ContinuousClock.now < deadline {
            guard let frames = try transport.receive(timeout: deadline - .now) else { break }
            var message = try Wire.decode(frames)
            if message.header.flags.contains(.chunk) {
                guard let whole = try reassembler.accept(message, from: 0) else { continue }
                message = whole
            }
            if message.type == type { return message }
            if message.type == .welcome { welcome = try message.payload(Welcome.self) }
            if message.type != .heartbeat { pending.append(message) }
        }
        throw ProcessTestError("no \(type) from the server within \(timeout) s (pending: \(pending.map(\.type)))")
    }

    /// The server's answer to a refused message.
    func nextReject(timeout: Double = 15) throws -> Reject {
        try next(.reject, timeout: timeout).payload(Reject.self)
    }

    /// Registers properly and waits for the welcome.
    @discardableResult
    func registerAndWait() throws -> Welcome {
        try send(Message(register).encoded())
        let w = try next(.welcome).payload(Welcome.self)
        welcome = w
        return w
    }

    /// The honest block at θ.
    func block(at theta: MLPParameters<Float>) throws -> Block {
        let network = try MLP(architecture: architecture, parameters: theta)
        return try Block(factored: FactoredJacobian(network: network, inputs: shard.inputs), targets: shard.targets)
    }

    /// The honest candidate losses (as `ntk-worker` computes them: mse sums over the shard); candidates that
    /// are steps are added to the round's weights `roundStart`.
    func losses(for candidates: Candidates, roundStart: MLPParameters<Float>) throws -> CandidateLosses {
        let m = shard.inputs.rows, k = architecture.outputCount
        return CandidateLosses(losses: try candidates.parameters(architecture: architecture, roundStart: roundStart, as: Float.self).map { p in
            let out = try MLP(architecture: architecture, parameters: p)(shard.inputs).elements.map(Double.init)
            let e = Evaluation(outputs: out, targets: shard.targets.elements.map(Double.init), outputCount: k, loss: .mse)
            return LossSummary(lossSum: e.loss * Double(m), sampleCount: m, correctCount: Int((e.accuracy * Double(m)).rounded()))
        })
    }

    /// Answers a `roundStart` honestly (block if asked), then the round's `candidates`; returns the round.
    @discardableResult
    func playRound(_ start: Message) throws -> UInt64 {
        let round = start.header.round
        let payload = try start.payload(RoundStart.self)
        let theta = try payload.parameters(architecture: architecture, as: Float.self)
        if payload.body.refresh { try send(block(at: theta), round: round) }
        let candidates = try next(.candidates)
        precondition(candidates.header.round == round)
        try send(losses(for: candidates.payload(Candidates.self), roundStart: theta), round: round)
        return round
    }
}
