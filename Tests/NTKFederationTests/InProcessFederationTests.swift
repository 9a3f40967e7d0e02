import Foundation
import NTKConfig
import NTKCore
import NTKServer
import NTKTransport
import NTKWire
import NTKWorker
import XCTest

/// The federation over the in-process transport: the round logic without sockets.
final class InProcessFederationTests: XCTestCase {
    func testFourWorkersGiveTheSingleProcessWeights() throws {
        let out = temporaryDirectory()
        defer { try? FileManager.default.removeItem(at: out) }
        let config = try digitsConfig(workers: 4, rounds: 2, output: out)
        let hub = InProcessHub()
        let server = try FederatedServer(config: config, transport: hub.bindServer(), logger: quietLogger)
        // Workers start in reverse order and at different times: arrival order must not matter.
        let workers = try config.workers.reversed().map { try FederatedWorker(settings: $0, transport: hub.connectWorker($0.name), logger: quietLogger) }
        let threads = workers.enumerated().map { i, w in Background { usleep(UInt32(i) * 20_000); try w.run() } }
        try server.run()
        for t in threads { try t.join() }

        let reference = try CentralizedReference.train(config, workers: config.workers.map(\.name))
        let err = relativeDistance(server.parameters, reference)
        XCTAssertLessThan(err, 1e-5, "federated θ vs single-process θ")
        XCTAssertEqual(server.history.count, 2)
        XCTAssertEqual(server.history.map(\.workers), [["w0", "w1", "w2", "w3"], ["w0", "w1", "w2", "w3"]])
        XCTAssertGreaterThan(server.history.last!.testAccuracy!, 0.85)
        XCTAssertNotNil(server.history.last!.kernelDrift, "drift is measured at the second refresh")
        // Files: rounds.jsonl (2 lines), checkpoint, final weights.
        let lines = try String(contentsOf: out.appendingPathComponent("rounds.jsonl"), encoding: .utf8).split(separator: "\n")
        XCTAssertEqual(lines.count, 2)
        XCTAssertEqual(try Checkpoint.read(from: out.appendingPathComponent("checkpoint.json")).round, 2)
        let saved = try MLPParameters<Float>(archive: NumpyArchive(contentsOf: out.appendingPathComponent("weights.npz")), architecture: config.model.mlp!)
        XCTAssertEqual(saved.flattened, server.parameters)
    }

    func testHalfPrecisionBlocksHalveTheUploadAndKeepTheWeights() throws {
        var bytes: [String: Int] = [:], weights: [String: [Float]] = [:]
        for dtype in ["f32", "bf16"] {
            let out = temporaryDirectory()
            defer { try? FileManager.default.removeItem(at: out) }
            let (server, _) = try runInProcess(try digitsConfig(workers: 2, rounds: 2, server: "  block_dtype: \(dtype)", output: out))
            bytes[dtype] = server.history.map { $0.bytesReceived.values.reduce(0, +) }.reduce(0, +)
            weights[dtype] = server.parameters
            XCTAssertGreaterThan(server.history.last!.testAccuracy!, 0.85, dtype)
        }
        XCTAssertLessThan(Double(bytes["bf16"]!), 0.6 * Double(bytes["f32"]!), "factors are most of an upload")
        XCTAssertLessThan(relativeDistance(weights["bf16"]!, weights["f32"]!), 1e-2)
    }

    /// The server keeps each worker's inputs X0 from its first block; later blocks leave them out. Same weights,
    /// and from round 2 on every worker uploads m·n₀ Float32 values less.
    func testKeptInputsLeaveLaterBlocksWithoutX0AndGiveTheSameWeights() throws {
        var rounds: [Bool: [RoundRecord]] = [:], weights: [Bool: [Float]] = [:]
        var config: RunConfiguration?
        for keep in [true, false] {
            let out = temporaryDirectory()
            defer { try? FileManager.default.removeItem(at: out) }
            config = try digitsConfig(workers: 3, rounds: 3, server: "  keep_inputs: \(keep)", output: out)
            let (server, workers) = try runInProcess(config!)
            rounds[keep] = server.history
            weights[keep] = server.parameters
            XCTAssertEqual(workers.map(\.serverKeepsInputs), [keep, keep, keep])
        }
        XCTAssertEqual(weights[true], weights[false], "the kept inputs are the ones the blocks carried")
        for (i, w) in config!.workers.enumerated() {
            let m = try w.data.load().inputs.rows
            let saved = [0, 1, 2].map { r in rounds[false]![r].bytesReceived[w.name]! - rounds[true]![r].bytesReceived[w.name]! }
            // Round 1 carries X0 either way; rounds 2 and 3 save m × 64 inputs × 4 bytes (give or take a heartbeat).
            XCTAssertLessThan(abs(saved[0]), 1_000, "worker \(i), round 1")
            for r in 1...2 { XCTAssertEqual(Double(saved[r]), Double(m * 64 * 4), accuracy: 1_000, "worker \(i), round \(r + 1)") }
        }
    }

    func testDenseBlocksOverTheMemoryBudgetAreMemoryMappedAndGiveTheSameWeights() throws {
        var weights: [[Float]] = []
        for budget in ["", "  memory_budget_mb: 1"] {
            let out = temporaryDirectory()
            defer { try? FileManager.default.removeItem(at: out) }
            let config = try digitsConfig(workers: 2, rounds: 2, server: "  block_format: dense\n\(budget)", output: out)
            let (server, _) = try runInProcess(config)
            weights.append(server.parameters)
            let plan = server.history[0].solverPlan ?? ""
            XCTAssertEqual(plan.contains("memory-mapped"), !budget.isEmpty, plan)
        }
        XCTAssertLessThan(relativeDistance(weights[1], weights[0]), 1e-6)
    }

    func testRefreshEveryOtherRoundKeepsIntegratingOnTheLastKernel() throws {
        let out = temporaryDirectory()
        defer { try? FileManager.default.removeItem(at: out) }
        let config = try digitsConfig(workers: 2, rounds: 3, extra: "  refresh: {schedule: every, rounds: 2}", output: out)
        let (server, workers) = try runInProcess(config)
        XCTAssertEqual(workers.map(\.blocksSent), [2, 2], "blocks at rounds 1 and 3 only")
        XCTAssertEqual(server.history.map { $0.seconds.blocks > 0 }, [true, false, true])
        // Training continued in round 2 on round 1's kernel: the loss kept falling.
        let losses = server.history.compactMap(\.trainLoss)
        XCTAssertLessThan(losses[1], losses[0])
    }
}

func relativeDistance(_ a: [Float], _ b: [Float]) -> Double {
    var d = 0.0, n = 0.0
    for (x, y) in zip(a, b) { d += Double(x - y) * Double(x - y); n += Double(y) * Double(y) }
    return (d / n).squareRoot()
}

/// FedAvg in the same system: local SGD on each worker, weights averaged by sample count.
final class FedAvgFederationTests: XCTestCase {
    func testFedAvgRoundsAverageLocalTrainingAndLearn() throws {
        let out = temporaryDirectory()
        defer { try? FileManager.default.removeItem(at: out) }
        let config = try digitsConfig(workers: 2, rounds: 3, extra: "  strategy: fedavg\n  fedavg: {local_epochs: 2, learning_rate: 10, batch_size: 16}", output: out)
        XCTAssertNotNil(config.localTraining)
        let (server, workers) = try runInProcess(config)
        XCTAssertEqual(workers.map(\.blocksSent), [0, 0], "FedAvg sends weights, never Jacobian blocks")
        XCTAssertEqual(server.history.map(\.workers), Array(repeating: ["w0", "w1"], count: 3))
        let accuracies = server.history.compactMap(\.testAccuracy)
        XCTAssertGreaterThan(accuracies.last!, 0.6, "\(accuracies)")
        XCTAssertLessThan(server.history.last!.trainLoss!, server.history.first!.trainLoss!)
    }
}
