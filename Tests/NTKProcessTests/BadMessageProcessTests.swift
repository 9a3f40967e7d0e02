import Foundation
import NTKConfig
import NTKCore
import NTKServer
import NTKTransport
import NTKWire
import XCTest

/// A real `ntk-server` fed bad messages by a raw DEALER (`RawPeer`) while a real `ntk-worker` takes part:
/// each is answered with a `reject` of the right code, and the run still ends with the right θ.
final class BadMessageProcessTests: ProcessTestCase {
    private func setUp(_ label: String, yaml: DigitsYAML) throws -> (run: ProcessRun, config: RunConfiguration) {
        let run = makeRun(label)
        try run.write(config: yaml.text(endpoint: run.endpoint, output: run.output))
        return (run, try run.configuration())
    }

    private func assertReject(_ peer: RawPeer, _ code: RejectCode, type: MessageType? = nil, round: UInt64? = nil, _ what: String,
                              file: StaticString = #filePath, line: UInt = #line) throws {
        let reject = try peer.nextReject()
        XCTAssertEqual(reject.code, code, "\(what): \(reject.reason)", file: file, line: line)
        XCTAssertFalse(reject.reason.isEmpty, file: file, line: line)
        if let type { XCTAssertEqual(reject.rejectedType, type.rawValue, "\(what): rejectedType", file: file, line: line) }
        if let round { XCTAssertEqual(reject.rejectedRound, round, "\(what): rejectedRound", file: file, line: line) }
    }

    /// A copy of a block's message with one array replaced.
    private func blockMessage(_ block: Block, replacing name: String, with array: TypedArray, peer: RawPeer, round: UInt64) throws -> Message {
        try Message(type: .block, body: block.body, arrays: block.arrays.map { $0.name == name ? array : $0 },
                    workerID: peer.welcome?.workerID ?? 0, runID: peer.runID, round: round)
    }

    func testBadMessagesAreRejectedAndTheRunStillEndsRight() throws {
        var yaml = DigitsYAML()
        yaml.runID = "bad-messages"
        yaml.workers = ["w0", "probe"]
        yaml.policy = "wait"
        yaml.maxMessageBytes = 65536   // blocks (~110 kB) travel in chunks both from ntk-worker and from the probe
        let (run, config) = try setUp("bad", yaml: yaml)
        let server = try run.startServer()
        let probe = try RawPeer(endpoint: run.endpoint, identity: "probe", settings: config.workers[1], config: config)
        defer { probe.close() }
        let theta0 = MLPParameters<Float>(initializing: config.model.mlp!, seed: config.seed)
        let register = try Message(probe.register).encoded()

        // Before registering. Garbage: one frame; then two frames whose "header" is noise.
        try probe.send([Frame(copying: Array("definitely not NTK1".utf8))])
        try assertReject(probe, .malformed, "a single garbage frame")
        try probe.send([Frame(copying: (0..<48).map { UInt8(truncatingIfNeeded: $0 &* 37) }), Frame(copying: Array("{}".utf8))])
        try assertReject(probe, .malformed, "a garbage header")
        // Truncated: a valid register whose metadata lost its last bytes; a header cut short.
        try probe.send([register[0], Frame(copying: Array(register[1].bytes.dropLast(9)))])
        try assertReject(probe, .malformed, type: .register, round: 0, "a truncated metadata frame")
        try probe.send([Frame(copying: Array(register[0].bytes.prefix(40))), register[1]])
        try assertReject(probe, .malformed, "a truncated header")
        // Too large: frames that each fit ZeroMQ's per-frame limit but add up to more than the message limit.
        let heartbeat = try Message(Heartbeat(), runID: probe.runID).encoded()
        try probe.send(heartbeat + [Frame(copying: [UInt8](repeating: 1, count: 40_000)), Frame(copying: [UInt8](repeating: 2, count: 40_000))])
        try assertReject(probe, .tooLarge, "80 kB of frames over a 64 KiB limit")
        // Another run's id: a heartbeat, and a registration (its header names the run it was configured for).
        try probe.send(Message(Heartbeat(), runID: RunID.of(name: "another-run")).encoded())
        try assertReject(probe, .wrongRun, type: .heartbeat, "a heartbeat of another run")
        try probe.send(Message(probe.register, runID: RunID.of(name: "another-run")).encoded())
        try assertReject(probe, .wrongRun, type: .register, "a registration for another run")
        // A valid block (chunked, even) from a peer that never registered.
        try probe.send(probe.block(at: theta0), round: 1)
        try assertReject(probe, .unregistered, type: .block, "a block from an unregistered peer")

        // Now register properly; round 1 starts when ntk-worker w0 has registered too.
        let welcome = try probe.registerAndWait()
        XCTAssertEqual(welcome.runName, "bad-messages")
        let w0 = try run.startWorker("w0")
        let start = try probe.next(.roundStart, timeout: 30)
        XCTAssertEqual(start.header.round, 1)
        let theta1 = try start.payload(RoundStart.self).parameters(architecture: config.model.mlp!, as: Float.self)
        XCTAssertEqual(theta1, theta0)
        let block = try probe.block(at: theta1)
        XCTAssertGreaterThan(try Message(block).byteCount, 65536, "the probe's blocks are sent in chunks")

        // Registered, in round 1: a NaN in u (the block is chunked: the check runs on the rebuilt message).
        var u = try block.outputs.elements(as: Float.self)
        u[7] = .nan
        try probe.send(blockMessage(block, replacing: "u", with: TypedArray(name: "u", u, shape: block.outputs.shape), peer: probe, round: 1))
        try assertReject(probe, .nonFinite, type: .block, round: 1, "a block holding NaN")
        // +∞ in a single unchunked message.
        try probe.send(Message(type: .block, body: block.body, arrays: [TypedArray(name: "u", [Float.infinity], shape: [1])],
                               workerID: welcome.workerID, runID: probe.runID, round: 1).encoded())
        try assertReject(probe, .nonFinite, type: .block, round: 1, "a small message holding ∞")
        // Wrong shape: X0 one column short of the 64 inputs.
        let x0 = try block.layerInputs[0].matrix(as: Float.self)
        let narrow = Matrix<Float>(rows: x0.rows, columns: 63, elements: (0..<x0.rows).flatMap { i in x0.elements[(i * 64)..<(i * 64 + 63)] })
        try probe.send(blockMessage(block, replacing: "X0", with: TypedArray(name: "X0", narrow), peer: probe, round: 1))
        try assertReject(probe, .shapeMismatch, type: .block, round: 1, "a block of the wrong shape")
        // Wrong round: a valid block for a round that has not started, and one for round 0.
        try probe.send(block, round: 7)
        try assertReject(probe, .wrongRound, type: .block, round: 7, "a block for round 7")
        try probe.send(block, round: 0)
        try assertReject(probe, .wrongRound, type: .block, round: 0, "a block for round 0")
        // Not expected now: candidate losses while the server collects blocks.
        try probe.send(CandidateLosses(losses: [LossSummary(lossSum: 1, sampleCount: 1)]), round: 1)
        try assertReject(probe, .unexpected, type: .candidateLosses, round: 1, "candidate losses during the block phase")
        // Garbage once more, mid-round.
        try probe.send([Frame(copying: [0, 1, 2]), Frame(copying: [3])])
        try assertReject(probe, .malformed, "garbage in the middle of a round")

        // The server kept serving: the probe now plays honestly and the run ends normally.
        XCTAssertEqual(try probe.playRound(start), 1)
        XCTAssertEqual(try probe.playRound(probe.next(.roundStart, timeout: 30)), 2)
        _ = try probe.next(.shutdown, timeout: 30)
        assertExits(server, in: run, timeout: 30)
        assertExits(w0, in: run, timeout: 15)

        let rounds = run.rounds()
        XCTAssertEqual(rounds.map(\.round), [1, 2], run.logs)
        for r in rounds { XCTAssertEqual(r.workers, ["w0", "probe"], "round \(r.round)") }
        let reference = try CentralizedReference.train(config, workers: ["w0", "probe"])
        XCTAssertLessThan(relativeDistance(try run.weights().flattened, reference), 1e-5)
        XCTAssertGreaterThanOrEqual(server.output.components(separatedBy: "refused message from probe").count - 1, 15,
                                    "every refusal is logged with its reason\n\(server.tail)")
    }

    /// With `wait`, a worker that drops out after its block, while the server collects candidate losses,
    /// and registers again, must be sent the round's candidates again: otherwise the server waits forever.
    func testWorkerRejoiningDuringTheCandidatePhaseGetsTheCandidatesAgain() throws {
        var yaml = DigitsYAML()
        yaml.runID = "rejoin-candidates"
        yaml.workers = ["w0", "probe"]
        yaml.policy = "wait"
        yaml.deadline = 0.5
        yaml.rounds = 1
        let (run, config) = try setUp("rejoin-cand", yaml: yaml)
        let server = try run.startServer()
        let w0 = try run.startWorker("w0")
        var probe = try RawPeer(endpoint: run.endpoint, identity: "probe", settings: config.workers[1], config: config)
        try probe.registerAndWait()
        let start = try probe.next(.roundStart, timeout: 30)
        try probe.send(probe.block(at: start.payload(RoundStart.self).parameters(architecture: config.model.mlp!, as: Float.self)), round: 1)
        _ = try probe.next(.candidates)
        // Gone before answering, like a worker killed while it evaluates the candidates; back with a new socket.
        probe.close()
        try waitForOutput(server, "still waiting for candidateLosses from probe", in: run, timeout: 10)
        probe = try RawPeer(endpoint: run.endpoint, identity: "probe", settings: config.workers[1], config: config)
        defer { probe.close() }
        try probe.registerAndWait()
        let again = try probe.next(.roundStart)
        XCTAssertEqual(again.header.round, 1)
        do {
            try probe.playRound(again)
        } catch {
            XCTFail("the rejoined worker never got round 1's candidates: \(error)\n\(run.logs)")
            return
        }
        _ = try probe.next(.shutdown, timeout: 30)
        assertExits(server, in: run, timeout: 30)
        assertExits(w0, in: run, timeout: 15)
        XCTAssertEqual(run.rounds().first?.workers, ["w0", "probe"])
        let reference = try CentralizedReference.train(config, workers: ["w0", "probe"])
        XCTAssertLessThan(relativeDistance(try run.weights().flattened, reference), 1e-5)
    }

    /// A small message limit: blocks go up in chunks and the weights (θ and the candidates) come down in
    /// chunks; an `ntk-worker` must reassemble what the server chunks.
    func testWeightsLargerThanTheMessageLimitReachTheWorkersInChunks() throws {
        var yaml = DigitsYAML()
        yaml.runID = "chunked"
        yaml.workers = ["w0", "w1"]
        yaml.rounds = 1
        yaml.maxMessageBytes = 65536
        let run = makeRun("chunked")
        // 64-300-10: θ has 22 510 parameters = 90 kB, over the 64 KiB limit.
        try run.write(config: yaml.text(endpoint: run.endpoint, output: run.output)
                        .replacingOccurrences(of: "widths: [64, 48, 10]", with: "widths: [64, 300, 10]"))
        let server = try run.startServer()
        let workers = try yaml.workers.map { try run.startWorker($0) }
        assertExits(server, in: run, timeout: 60)
        for w in workers { assertExits(w, in: run, timeout: 15) }
        XCTAssertEqual(run.rounds().first?.workers, ["w0", "w1"], run.logs)
        let reference = try CentralizedReference.train(run.configuration(), workers: ["w0", "w1"])
        XCTAssertLessThan(relativeDistance(try run.weights().flattened, reference), 1e-5)
    }
}
