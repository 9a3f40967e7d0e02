import Foundation
import NTKConfig
import NTKCore
import NTKServer
import NTKTransport
import NTKWire
import NTKWorker
import XCTest

/// SCAFFOLD (Karimireddy et al., 2020, Algorithm 1 with option II) in the same system.
final class ScaffoldFederationTests: XCTestCase {
    private let local = "local_epochs: 2, learning_rate: 10, batch_size: 16"

    private func run(_ training: String, workers: Int = 3, rounds: Int) throws -> (server: FederatedServer, workers: [FederatedWorker]) {
        let out = temporaryDirectory()
        defer { try? FileManager.default.removeItem(at: out) }
        return try runInProcess(try digitsConfig(workers: workers, rounds: rounds, extra: training, output: out))
    }

    /// `c = (1/N) Σ_i c_i` after every round: the server's Δc bookkeeping matches what the clients hold.
    func testServerControlIsTheMeanOfTheClientControls() throws {
        let (server, workers) = try run("  strategy: scaffold\n  scaffold: {\(local)}", workers: 3, rounds: 3)
        let c = try XCTUnwrap(server.serverControl).values
        let clients = try workers.map { try XCTUnwrap($0.clientControl).values }
        var worst = 0.0, size = 0.0
        for j in 0..<c.count {
            let mean = clients.reduce(0.0) { $0 + Double($1[j]) } / Double(clients.count)
            worst = max(worst, abs(Double(c[j]) - mean))
            size = max(size, abs(mean))
        }
        print("SCAFFOLD: max |c − mean c_i| = \(worst) (max |c| = \(size)); test accuracy \(server.history.compactMap(\.testAccuracy))")
        XCTAssertLessThan(worst, 1e-6)
        XCTAssertGreaterThan(size, 1e-4, "the control variates moved away from zero")
        XCTAssertEqual(server.history.map(\.solver), ["scaffold", "scaffold", "scaffold"])
        XCTAssertEqual(server.history.map(\.workers), Array(repeating: ["w0", "w1", "w2"], count: 3))
        XCTAssertEqual(workers.map(\.blocksSent), [0, 0, 0])
        XCTAssertGreaterThan(server.history.last!.testAccuracy!, 0.6)
    }

    /// A client whose update misses the round deadline has already moved its c_i: the server drops the stale
    /// weights but adds its Δc_i to c when the update arrives, so c stays the mean of all c_i.
    func testLateClientsControlDeltaStillEntersTheServerControl() throws {
        let out = temporaryDirectory()
        defer { try? FileManager.default.removeItem(at: out) }
        var config = try digitsConfig(workers: 4, rounds: 4, extra: "  strategy: scaffold\n  scaffold: {\(local)}", output: out)
        config.server.roundDeadline = 2
        config.server.minWorkers = 3
        // w2 holds its first update until round 1 is over: late by construction.
        let (server, workers) = try runInProcess(config) { $0[2].beforeUpload = { round in if round == 1 { waitUntilLogged(round: 1, in: out) } } }
        XCTAssertEqual(server.history[0].missingWorkers, ["w2"], "w2's first update must miss the deadline for this test to mean anything")
        let c = try XCTUnwrap(server.serverControl).values
        let clients = try workers.map { try XCTUnwrap($0.clientControl).values }
        var worst = 0.0
        for j in 0..<c.count {
            let mean = clients.reduce(0.0) { $0 + Double($1[j]) } / Double(clients.count)
            worst = max(worst, abs(Double(c[j]) - mean))
        }
        XCTAssertLessThan(worst, 1e-6, "c drifted from the mean of the clients' c_i")
    }

    /// Partial participation: 3 of 6 clients per round. The server divides by N = 6, all clients of the run, so c
    /// stays the mean over all of them — the ones not drawn yet count with c_i = 0.
    func testServerControlIsTheMeanOverAllClientsUnderPartialParticipation() throws {
        let out = temporaryDirectory()
        defer { try? FileManager.default.removeItem(at: out) }
        let config = try digitsConfig(workers: 6, rounds: 3, extra: "  strategy: scaffold\n  scaffold: {\(local)}",
                                      server: "  participation: {clients_per_round: 3, seed: 11}\n  min_workers: 2", output: out)
        let (server, workers) = try runInProcess(config)
        XCTAssertEqual(server.history.map { $0.sampled?.count }, [3, 3, 3])
        XCTAssertEqual(server.history.map(\.workers), server.history.map { $0.sampled ?? [] })
        let drawn = Set(server.history.flatMap { $0.sampled ?? [] })
        XCTAssertEqual(workers.filter { $0.clientControl != nil }.map(\.settings.name).sorted(), drawn.sorted(), "only drawn clients hold a c_i")
        let c = try XCTUnwrap(server.serverControl).values
        var worst = 0.0
        for j in 0..<c.count {
            let mean = workers.reduce(0.0) { $0 + Double($1.clientControl?.values[j] ?? 0) } / Double(workers.count)
            worst = max(worst, abs(Double(c[j]) - mean))
        }
        XCTAssertLessThan(worst, 1e-6)
    }

    /// In round 1 every control variate is zero, so the local steps are FedAvg's, and with η_g = 1 so is x.
    func testFirstRoundWithZeroControlsIsFedAvg() throws {
        let scaffold = try run("  strategy: scaffold\n  scaffold: {\(local), global_learning_rate: 1}", workers: 2, rounds: 1).server
        let fedavg = try run("  strategy: fedavg\n  fedavg: {\(local)}", workers: 2, rounds: 1).server
        XCTAssertEqual(scaffold.parameters, fedavg.parameters)
        XCTAssertNotEqual(scaffold.serverControl?.values.contains { $0 != 0 }, false, "round 1 already moved c")
    }

    /// η_g scales the server's step: x_1 = x_0 + η_g (x_1^FedAvg − x_0).
    func testGlobalLearningRateScalesTheServerStep() throws {
        let half = try run("  strategy: scaffold\n  scaffold: {\(local), global_learning_rate: 0.5}", workers: 2, rounds: 1).server
        let fedavg = try run("  strategy: fedavg\n  fedavg: {\(local)}", workers: 2, rounds: 1).server
        let x0: [Float] = try fedavg.config.model.initialParameters(seed: fedavg.config.seed)
        let expected = zip(x0, fedavg.parameters).map { $0 + 0.5 * ($1 - $0) }
        XCTAssertLessThan(relativeDistance(half.parameters, expected), 1e-6)
    }

    /// The checkpoint carries c, and a resumed server starts from it.
    func testCheckpointCarriesTheServerControl() throws {
        let out = temporaryDirectory()
        defer { try? FileManager.default.removeItem(at: out) }
        let config = try digitsConfig(workers: 2, rounds: 2, extra: "  strategy: scaffold\n  scaffold: {\(local)}", output: out)
        let server = try runInProcess(config).server
        let checkpoint = try Checkpoint.read(from: out.appendingPathComponent("checkpoint.json"))
        XCTAssertEqual(checkpoint.serverControl, server.serverControl?.values)
        let resumed = try FederatedServer(config: config, transport: InProcessHub().bindServer(), resume: true, logger: quietLogger)
        XCTAssertEqual(resumed.serverControl, server.serverControl)
        XCTAssertEqual(resumed.parameters, server.parameters)
    }

    /// A Δc of the wrong length is refused with the reason, like any malformed payload, and leaves no trace: the
    /// same worker's corrected update is then accepted.
    func testServerRefusesAControlDeltaOfTheWrongLength() throws {
        let out = temporaryDirectory()
        defer { try? FileManager.default.removeItem(at: out) }
        let config = try digitsConfig(workers: 2, rounds: 1, extra: "  strategy: scaffold\n  scaffold: {\(local)}", output: out)
        let hub = InProcessHub()
        let server = try FederatedServer(config: config, transport: hub.bindServer(), logger: quietLogger)
        let honest = try FederatedWorker(settings: config.workers[0], transport: hub.connectWorker(config.workers[0].name), logger: quietLogger)
        let rogue = hub.connectWorker(config.workers[1].name)
        let threads = [Background { try honest.run() }, Background { try server.run() }]
        // The rogue worker registers, answers the round with a Δc one value short, then with a right one (zeros).
        let settings = config.workers[1]
        let data = try settings.data.load()
        try rogue.send(try Message(Register(workerName: settings.name, sampleCount: data.inputs.rows, inputDimension: data.inputs.columns,
                                            outputCount: data.targets.columns,
                                            dataFingerprint: DataFingerprint.sha256(inputs: data.inputs, targets: data.targets))).encoded())
        var welcome: Welcome?
        var pending: (round: UInt64, theta: [Float])?
        var reject: Reject?
        func answer(deltaCount: Int) throws {
            let w = try XCTUnwrap(welcome), p = try XCTUnwrap(pending)
            var update = try LocalUpdate(theta: p.theta, model: w.model, sampleCount: data.inputs.rows,
                                         loss: LossSummary(lossSum: 1, sampleCount: data.inputs.rows, correctCount: 0))
            update.attachControlDelta([Float](repeating: 0, count: deltaCount))
            try rogue.send(try Message(update, workerID: w.workerID, runID: RunID.of(name: w.runName), round: p.round).encoded())
        }
        let deadline = Date(timeIntervalSinceNow: 60)
        receiving: while Date() < deadline {
            guard let frames = try rogue.receive(timeout: .seconds(1)) else { continue }
            let message = try Wire.decode(frames)
            switch message.type {
            case .welcome: welcome = try message.payload(Welcome.self)
            case .roundStart:
                let start = try message.payload(RoundStart.self)
                let model = try XCTUnwrap(welcome).model
                pending = (message.header.round, try start.theta(model: model, as: Float.self))
                XCTAssertEqual(try start.serverControl(parameterCount: model.parameterCount)?.count, model.parameterCount)
                try answer(deltaCount: model.parameterCount - 1)
            case .reject:
                reject = try message.payload(Reject.self)
                try answer(deltaCount: try XCTUnwrap(welcome).model.parameterCount)
            case .shutdown: break receiving
            default: break
            }
        }
        for t in threads { try t.join() }
        let r = try XCTUnwrap(reject)
        XCTAssertEqual(r.code, .shapeMismatch)
        XCTAssertTrue(r.reason.contains("deltaC"), r.reason)
        XCTAssertEqual(server.history.map(\.workers), [["w0", "w1"]], "the corrected update was accepted")
        // The rogue's Δc was zero, so c is the honest worker's c_i over N = 2.
        let c = try XCTUnwrap(server.serverControl).values, ci = try XCTUnwrap(honest.clientControl).values
        XCTAssertLessThan(zip(c, ci).map { abs(Double($0) - Double($1) / 2) }.max()!, 1e-7)
    }

    func testScaffoldConfig() throws {
        let out = temporaryDirectory()
        defer { try? FileManager.default.removeItem(at: out) }
        let message = configError(training:)
        XCTAssertTrue(message("  strategy: scaffold\n  scaffold: {global_learning_rate: 0}").contains("global_learning_rate"))
        XCTAssertTrue(message("  strategy: scaffold\n  scaffold: {mu: 0.1}").contains("mu"))
        XCTAssertTrue(message("  scaffold: {local_epochs: 1}").contains("strategy: scaffold"))
        let config = try digitsConfig(workers: 2, extra: "  strategy: scaffold", output: out)
        XCTAssertEqual(config.localTraining?.resolvedMethod, .scaffold)
        XCTAssertEqual(config.localTraining?.globalLearningRate, 1)
    }
}
