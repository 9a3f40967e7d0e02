import Foundation
import NTKConfig
import NTKCore
import NTKServer
import XCTest

/// `ntk-server` and `ntk-worker` as separate processes over tcp loopback: the federated result, and
/// workers killed (SIGKILL) in the middle of a round, with and without coming back.
final class FederationProcessTests: ProcessTestCase {
    /// Bytes of a factored Float32 block of `m` samples for widths `w` (u, y, X0…, D1…), without headers.
    /// Bytes of a factored Float32 block's arrays; with `inputsKept` (the server kept X0 from the worker's first block) without X0.
    private func factoredBlockBytes(m: Int, widths w: [Int], inputsKept: Bool) -> Int {
        let k = w.last!
        var floats = 2 * m * k
        for l in 1..<w.count { floats += (inputsKept && l == 1 ? 0 : m * w[l - 1]) + m * k * w[l] }
        return 4 * floats
    }

    func testFourWorkerProcessesGiveTheSingleProcessWeights() throws {
        let run = makeRun("four")
        var yaml = DigitsYAML()
        yaml.rounds = 2
        try run.write(config: yaml.text(endpoint: run.endpoint, output: run.output))
        let config = try run.configuration()
        let started = Date()
        let server = try run.startServer()
        // Started in reverse order: the result must not depend on who registers or delivers first.
        let workers = try yaml.workers.reversed().map { try run.startWorker($0) }
        assertExits(server, in: run, timeout: 60)
        for w in workers { assertExits(w, in: run, timeout: 15) }
        let wall = Date().timeIntervalSince(started)

        let reference = try CentralizedReference.train(config, workers: yaml.workers)
        let error = relativeDistance(try run.weights().flattened, reference)
        XCTAssertLessThan(error, 1e-5, "weights.npz of the 4-process run vs one process on the union of the shards")

        let rounds = run.rounds()
        XCTAssertEqual(rounds.map(\.round), [1, 2], run.logs)
        let sizes = try config.workers.map { try $0.data.load().inputs.rows }
        for r in rounds {
            XCTAssertEqual(r.workers, yaml.workers, "round \(r.round): every worker's block, in the configured order")
            XCTAssertEqual(r.missingWorkers, [])
            XCTAssertTrue(r.refreshed, "round \(r.round): schedule every-round, so every round re-linearizes")
            XCTAssertEqual(Set(r.bytesReceived.keys), Set(yaml.workers))
            for (w, m) in zip(yaml.workers, sizes) {
                let block = factoredBlockBytes(m: m, widths: [64, 48, 10], inputsKept: r.round > 1)
                XCTAssertGreaterThanOrEqual(r.bytesReceived[w] ?? 0, block, "round \(r.round): \(w)'s block travelled")
                if r.round > 1 {
                    XCTAssertLessThan(r.bytesReceived[w] ?? 0, block + 4 * m * 64, "round \(r.round): \(w)'s block left X0 out (the server kept it)")
                }
            }
            XCTAssertNotNil(r.testAccuracy)
        }
        XCTAssertGreaterThan(rounds.last?.testAccuracy ?? 0, 0.75, "90 training samples, 2 rounds: 84% measured")
        let perRound = rounds.map { r in String(format: "round %d: %.3f s (blocks %.3f s), %d B in, %d B out", r.round, r.totalSeconds,
                                                r.seconds.blocks, r.bytesReceived.values.reduce(0, +), r.bytesSent) }
        print("4 worker processes + server: \(String(format: "%.2f", wall)) s wall, relative error vs one process \(error)\n  "
              + perRound.joined(separator: "\n  "))
    }

    /// Starts the server and three workers so that round 1 begins while `w2` is stopped (SIGSTOP after it
    /// registered, before the others do): the server is then certainly waiting for w2's block when w2 is
    /// SIGKILLed. Returns the server and the two healthy workers.
    private func startWithVictimKilledMidRound(_ run: ProcessRun) throws -> (server: Child, healthy: [Child]) {
        let server = try run.startServer()
        let victim = try run.startWorker("w2")
        try waitForOutput(server, "worker w2 registered", in: run, timeout: 30)
        victim.signal(SIGSTOP)
        let healthy = [try run.startWorker("w0"), try run.startWorker("w1")]
        try waitForOutput(server, "worker w0 registered", in: run, timeout: 30)
        try waitForOutput(server, "worker w1 registered", in: run, timeout: 30)
        // Everyone registered: round 1 has begun, and w2 cannot answer.
        usleep(300_000)
        XCTAssertTrue(run.rounds().isEmpty, "round 1 cannot have finished without w2's block or the deadline")
        victim.killNow()
        return (server, healthy)
    }

    private func threeWorkers(policy: String, deadline: Double, rounds: Int) -> DigitsYAML {
        var yaml = DigitsYAML()
        yaml.workers = ["w0", "w1", "w2"]
        yaml.rounds = rounds
        yaml.policy = policy
        yaml.minWorkers = 2
        yaml.deadline = deadline
        return yaml
    }

    /// `proceed`: after the deadline the round goes on with the blocks it has; the dead worker is recorded
    /// as missing in every later round, and the result is the single-process result without its shard.
    func testKilledWorkerIsRecordedMissingAndTheRunFinishes() throws {
        let run = makeRun("kill")
        let yaml = threeWorkers(policy: "proceed", deadline: 1.5, rounds: 2)
        try run.write(config: yaml.text(endpoint: run.endpoint, output: run.output))
        let (server, healthy) = try startWithVictimKilledMidRound(run)
        assertExits(server, in: run, timeout: 40)
        for w in healthy { assertExits(w, in: run, timeout: 15) }

        let rounds = run.rounds()
        XCTAssertEqual(rounds.map(\.round), [1, 2], run.logs)
        for r in rounds {
            XCTAssertEqual(r.workers, ["w0", "w1"], "round \(r.round)")
            XCTAssertEqual(r.missingWorkers, ["w2"], "round \(r.round)")
            XCTAssertNil(r.bytesReceived["w2"], "round \(r.round)")
        }
        XCTAssertTrue(server.output.contains("no block from w2"), run.logs)
        let reference = try CentralizedReference.train(run.configuration(), workers: ["w0", "w1"])
        XCTAssertLessThan(relativeDistance(try run.weights().flattened, reference), 1e-5,
                          "θ = one process on the shards that were used")
    }

    /// `proceed`, and the killed worker is started again after round 1: it registers under its name and
    /// takes part in the later rounds.
    func testKilledWorkerRestartsAndRejoins() throws {
        let run = makeRun("rejoin")
        let yaml = threeWorkers(policy: "proceed", deadline: 2, rounds: 3)
        try run.write(config: yaml.text(endpoint: run.endpoint, output: run.output))
        let (server, healthy) = try startWithVictimKilledMidRound(run)
        XCTAssertTrue(waitUntil(timeout: 30) { !run.rounds().isEmpty }, "round 1 never ended\n\(run.logs)")
        XCTAssertEqual(run.rounds().first?.missingWorkers, ["w2"])
        let restarted = try run.startWorker("w2")
        assertExits(server, in: run, timeout: 40)
        for w in healthy + [restarted] { assertExits(w, in: run, timeout: 15) }

        let rounds = run.rounds()
        XCTAssertEqual(rounds.map(\.round), [1, 2, 3], run.logs)
        XCTAssertEqual(rounds.first?.workers, ["w0", "w1"])
        XCTAssertEqual(rounds.last?.workers, ["w0", "w1", "w2"], "the restarted worker's block is used again\n\(run.logs)")
        XCTAssertEqual(rounds.last?.missingWorkers, [])
        XCTAssertGreaterThan(rounds.last?.bytesReceived["w2"] ?? 0, 0)
        XCTAssertEqual(server.output.components(separatedBy: "worker w2 registered").count - 1, 2, "w2 registered twice\n\(run.logs)")
    }

    /// `wait`: the server waits (past the deadline, logging it) for the killed worker; once it is restarted,
    /// it rejoins the round in progress and the run ends exactly as if nothing had happened.
    func testWaitPolicyWaitsForTheRestartedWorker() throws {
        let run = makeRun("wait")
        let yaml = threeWorkers(policy: "wait", deadline: 0.5, rounds: 2)
        try run.write(config: yaml.text(endpoint: run.endpoint, output: run.output))
        let (server, healthy) = try startWithVictimKilledMidRound(run)
        try waitForOutput(server, "still waiting for block from w2", in: run, timeout: 20)
        XCTAssertTrue(run.rounds().isEmpty, "round 1 must not end without w2")
        let restarted = try run.startWorker("w2")
        assertExits(server, in: run, timeout: 40)
        for w in healthy + [restarted] { assertExits(w, in: run, timeout: 15) }

        let rounds = run.rounds()
        XCTAssertEqual(rounds.map(\.round), [1, 2], run.logs)
        for r in rounds {
            XCTAssertEqual(r.workers, ["w0", "w1", "w2"], "round \(r.round)")
            XCTAssertEqual(r.missingWorkers, [])
        }
        let reference = try CentralizedReference.train(run.configuration(), workers: ["w0", "w1", "w2"])
        XCTAssertLessThan(relativeDistance(try run.weights().flattened, reference), 1e-5,
                          "θ as if no worker had been lost")
    }
}
