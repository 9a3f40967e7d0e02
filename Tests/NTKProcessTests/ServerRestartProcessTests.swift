import Foundation
import NTKConfig
import NTKCore
import NTKServer
import XCTest

/// The server SIGKILLed after a checkpoint and restarted with `--resume`: the same worker processes
/// reconnect by themselves and the run ends with the uninterrupted run's weights.
final class ServerRestartProcessTests: ProcessTestCase {
    func testServerKilledAfterACheckpointResumesToTheUninterruptedWeights() throws {
        var yaml = DigitsYAML()
        yaml.runID = "resume"
        yaml.workers = ["w0", "w1"]
        yaml.rounds = 4

        // The reference: the same configuration, never interrupted.
        let plain = makeRun("plain")
        try plain.write(config: yaml.text(endpoint: plain.endpoint, output: plain.output))
        let plainServer = try plain.startServer()
        let plainWorkers = try yaml.workers.map { try plain.startWorker($0) }
        assertExits(plainServer, in: plain, timeout: 60)
        for w in plainWorkers { assertExits(w, in: plain, timeout: 15) }
        let uninterrupted = try plain.weights()

        let run = makeRun("resume")
        try run.write(config: yaml.text(endpoint: run.endpoint, output: run.output))
        let first = try run.startServer()
        let workers = try yaml.workers.map { try run.startWorker($0) }
        guard waitUntil(timeout: 60, interval: 0.002, { (run.checkpointRound() ?? 0) >= 1 }) else {
            return XCTFail("no checkpoint\n\(run.logs)")
        }
        first.killNow()
        let k = try XCTUnwrap(run.checkpointRound())
        // Killed right after the checkpoint appeared: sometimes before the round's rounds.jsonl line was appended.
        // Make that worst case certain (drop the line if it made it): the resumed server must restore it.
        let loggedAtKill = run.rounds().map(\.round)
        let log = run.output.appendingPathComponent("rounds.jsonl")
        let lines = try String(contentsOf: log, encoding: .utf8).split(separator: "\n").filter { !$0.contains("\"round\":\(k),") }
        try (lines.map { $0 + "\n" }.joined()).write(to: log, atomically: true, encoding: .utf8)
        XCTAssertEqual(run.rounds().map(\.round), Array(1..<k))
        XCTAssertLessThan(k, yaml.rounds, "the server was killed before the end of the run")
        XCTAssertEqual(first.process.terminationReason, .uncaughtSignal)
        // Down for a while: the workers keep running and keep trying.
        usleep(700_000)
        XCTAssertTrue(workers.allSatisfy(\.isRunning), run.logs)

        let second = try run.startServer(resume: true)
        assertExits(second, in: run, timeout: 60)
        for w in workers { assertExits(w, in: run, timeout: 15) }
        XCTAssertTrue(second.output.contains("resuming resume after round \(k)"), second.tail)
        XCTAssertEqual(run.rounds().map(\.round), [1, 2, 3, 4], "rounds.jsonl: each round once\n\(run.logs)")
        XCTAssertEqual(run.rounds().last?.workers, ["w0", "w1"])
        XCTAssertEqual(run.checkpointRound(), 4)

        let resumed = try run.weights()
        let error = relativeDistance(resumed.flattened, uninterrupted.flattened)
        XCTAssertLessThanOrEqual(error, 1e-6, "resumed after round \(k) vs uninterrupted")
        print("server killed after round \(k)'s checkpoint (rounds.jsonl then: \(loggedAtKill)) and resumed: "
              + "relative difference to the uninterrupted run \(error)"
              + (resumed == uninterrupted ? " (bit-identical)" : ""))
    }
}
