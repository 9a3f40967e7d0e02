import Foundation
import NTKConfig
import NTKCore
import NTKServer
import NTKWorker
import XCTest

/// FedProx (Li et al., 2020): FedAvg whose local objective adds `(μ/2)‖θ − θ_r‖²`.
final class FedProxFederationTests: XCTestCase {
    private func run(_ training: String, rounds: Int = 2) throws -> (server: FederatedServer, workers: [FederatedWorker]) {
        let out = temporaryDirectory()
        defer { try? FileManager.default.removeItem(at: out) }
        return try runInProcess(try digitsConfig(workers: 2, rounds: rounds, extra: training, output: out))
    }

    private func fedprox(mu: Double) -> String {
        "  strategy: fedprox\n  fedprox: {mu: \(mu), local_epochs: 2, learning_rate: 10, batch_size: 16}"
    }

    /// μ = 0 adds nothing to any step: the same θ as FedAvg, bit for bit, after two rounds.
    func testMuZeroIsFedAvgBitForBit() throws {
        let fedavg = try run("  strategy: fedavg\n  fedavg: {local_epochs: 2, learning_rate: 10, batch_size: 16}").server
        let mu0 = try run(fedprox(mu: 0)).server
        XCTAssertEqual(mu0.parameters, fedavg.parameters, "FedProx with μ = 0 is FedAvg")
        XCTAssertEqual(mu0.history.map(\.solver), ["fedprox (μ = 0.0)", "fedprox (μ = 0.0)"])
        XCTAssertEqual(fedavg.history.map(\.solver), ["fedavg", "fedavg"])
    }

    /// The proximal term pulls every local model towards θ_r: each worker's ‖y − θ_r‖ shrinks as μ grows
    /// (learning rate 10: ημ = 0, 0.1, 0.4), and the run still learns. The price is a shorter step per round:
    /// 52%, 39%, 20% test accuracy after round 1 (measured).
    func testLargerMuKeepsEveryLocalModelNearerTheRoundWeights() throws {
        let runs = try [0, 0.01, 0.04].map { try run(fedprox(mu: $0), rounds: 1) }
        let steps = runs.map { $0.workers.map { $0.lastLocalStep ?? .nan } }
        print("FedProx: ‖y − θ_r‖/‖θ_r‖ per worker for μ = 0, 0.01, 0.04: \(steps); test accuracy \(runs.map { $0.server.history.last?.testAccuracy ?? .nan })")
        for w in 0..<2 {
            XCTAssertLessThan(steps[1][w], steps[0][w], "worker \(w): μ = 0.01 moves less than μ = 0")
            XCTAssertLessThan(steps[2][w], steps[1][w], "worker \(w): μ = 0.04 moves less than μ = 0.01")
            XCTAssertGreaterThan(steps[2][w], 0, "the local models still move")
        }
        XCTAssertGreaterThan(runs[2].server.history.last!.testAccuracy!, 0.15, "better than chance (0.1) after one round")
    }

    /// A worker whose local training diverges stops with the reason, and the in-process run fails with it at once
    /// (it used to hang: the server waited for the dead workers to register again).
    func testDivergedLocalTrainingFailsTheRunWithTheWorkersReason() throws {
        let started = Date()
        XCTAssertThrowsError(try run("  strategy: fedavg\n  fedavg: {local_epochs: 1, learning_rate: 1e6, batch_size: 16}", rounds: 1)) { error in
            XCTAssertTrue("\(error)".contains("non-finite weights"), "\(error)")
        }
        XCTAssertLessThan(Date().timeIntervalSince(started), 60)
    }

    func testFedProxConfigErrors() throws {
        let out = temporaryDirectory()
        defer { try? FileManager.default.removeItem(at: out) }
        let message = configError(training:)
        XCTAssertTrue(message("  strategy: fedprox\n  fedprox: {local_epochs: 2}").contains("'mu'"))
        XCTAssertTrue(message("  strategy: fedprox\n  fedprox: {mu: -1}").contains("≥ 0"))
        XCTAssertTrue(message("  strategy: fedprox\n  fedprox: {mu: 0.5, learning_rate: 10}").contains("must be < 2"))
        XCTAssertTrue(message("  strategy: fedprox\n  fedavg: {mu: 1}").contains("strategy is fedprox"))
        XCTAssertTrue(message("  fedprox: {mu: 1}").contains("strategy: fedprox"))
        XCTAssertTrue(message("  strategy: fedprox\n  fedprox: {mu: 0.1, global_learning_rate: 1}").contains("global_learning_rate"))
        XCTAssertTrue(message("  strategy: fedsgd").contains("ntk, fedavg, fedprox, scaffold"))
        let config = try digitsConfig(workers: 2, extra: fedprox(mu: 0.01), output: out)
        XCTAssertEqual(config.localTraining?.resolvedMethod, .fedProx)
        XCTAssertEqual(config.localTraining?.proximalMu, 0.01)
    }
}
