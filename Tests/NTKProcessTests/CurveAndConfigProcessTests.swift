import Foundation
import NTKConfig
import NTKCore
import NTKServer
import XCTest

/// CURVE between real processes with keys from `ntk keygen`; and configuration errors at start.
final class CurveAndConfigProcessTests: ProcessTestCase {
    private func keygen(_ base: URL, in run: ProcessRun) throws {
        let child = try Child("ntk", ["keygen", base.path], name: "keygen-\(base.lastPathComponent)",
                              log: run.directory.appendingPathComponent("keygen-\(base.lastPathComponent).log"))
        XCTAssertEqual(child.wait(timeout: 30), 0, child.tail)
        XCTAssertTrue(FileManager.default.fileExists(atPath: base.path + ".key"))
        XCTAssertTrue(FileManager.default.fileExists(atPath: base.path + ".key_secret"))
    }

    /// The server authorizes worker A's key only. Worker B (valid keys, in the worker list, but its public
    /// key is not authorized) is started first and never gets to register; A's run completes.
    func testOnlyTheAuthorizedCurveKeyTakesPart() throws {
        let run = makeRun("curve")
        let keys = run.directory.appendingPathComponent("keys")
        for name in ["server", "a", "b"] { try keygen(keys.appendingPathComponent(name), in: run) }
        var yaml = DigitsYAML()
        yaml.runID = "curve"
        yaml.workers = ["wa", "wb"]
        yaml.expectedWorkers = 1
        yaml.serverExtra = "  curve: {secret_key: \(keys.path)/server.key_secret, authorized_keys: [\(keys.path)/a.key]}"
        for (w, k) in [("wa", "a"), ("wb", "b")] {
            yaml.workerExtra[w] = "curve: {secret_key: \(keys.path)/\(k).key_secret, server_public_key: \(keys.path)/server.key}"
        }
        try run.write(config: yaml.text(endpoint: run.endpoint, output: run.output))

        let server = try run.startServer()
        let intruder = try run.startWorker("wb")
        try waitForOutput(server, "CURVE: refused", in: run, timeout: 30)
        XCTAssertTrue(run.rounds().isEmpty, "no round may start with an unauthorized worker")
        let authorized = try run.startWorker("wa")
        assertExits(server, in: run, timeout: 60)
        assertExits(authorized, in: run, timeout: 15)

        XCTAssertFalse(server.output.contains("worker wb registered"), server.tail)
        XCTAssertTrue(intruder.isRunning, "the refused worker keeps retrying (it was never told anything)\n\(intruder.tail)")
        let rounds = run.rounds()
        XCTAssertEqual(rounds.map(\.round), [1, 2], run.logs)
        for r in rounds { XCTAssertEqual(r.workers, ["wa"], "round \(r.round)") }
        // Over CURVE the numbers are those of one process on A's shard.
        let reference = try CentralizedReference.train(run.configuration(), workers: ["wa"])
        XCTAssertLessThan(relativeDistance(try run.weights().flattened, reference), 1e-5)
    }

    /// Bad configurations: `ntk-server` exits non-zero at once, naming the file, the key (with its line) and
    /// the problem, before binding or writing anything. `ntk-worker` refuses the same file the same way.
    func testBadConfigurationsFailAtStartNamingFileKeyAndProblem() throws {
        let run = makeRun("badconfig")
        let good = DigitsYAML().text(endpoint: run.endpoint, output: run.output)
        let cases: [(label: String, from: String, to: String, key: String, problem: String)] = [
            ("misspelt", "  learning_rate: 1.0", "  learning_rte: 1.0", "training.learning_rte", "unknown key"),
            ("negative-rate", "  learning_rate: 1.0", "  learning_rate: -0.5", "training.learning_rate", "must be > 0"),
            ("policy", "missing_worker_policy: proceed", "missing_worker_policy: sometimes", "server.missing_worker_policy",
             "\"sometimes\" is not one of: proceed, wait"),
            ("min-workers", "min_workers: 1", "min_workers: 9", "server.min_workers", "must be between 1 and the clients of a round (4)"),
        ]
        for c in cases {
            XCTAssertTrue(good.contains(c.from), c.label)
            let text = good.replacingOccurrences(of: c.from, with: c.to)
            let file = run.directory.appendingPathComponent("bad-\(c.label).yaml")
            try text.write(to: file, atomically: true, encoding: .utf8)
            let line = text.components(separatedBy: "\n").firstIndex { $0.contains(c.to.trimmingCharacters(in: .whitespaces)) }! + 1

            let server = try Child("ntk-server", ["--config", file.path], name: "server-\(c.label)",
                                   log: run.directory.appendingPathComponent("server-\(c.label).log"))
            let status = server.wait(timeout: 30)
            XCTAssertNotNil(status, "\(c.label): ntk-server did not exit")
            XCTAssertNotEqual(status ?? 0, 0, "\(c.label): exit status")
            let message = server.output
            XCTAssertTrue(message.contains("\(file.path):\(line): \(c.key): \(c.problem)"),
                          "\(c.label): expected \(file.path):\(line): \(c.key): \(c.problem)\n\(message)")
            XCTAssertFalse(FileManager.default.fileExists(atPath: run.output.path), "\(c.label): nothing written")

            let worker = try Child("ntk-worker", ["--config", file.path, "--name", "w0"], name: "worker-\(c.label)",
                                   log: run.directory.appendingPathComponent("worker-\(c.label).log"))
            XCTAssertNotEqual(worker.wait(timeout: 30) ?? 0, 0, "\(c.label): ntk-worker exit status")
            XCTAssertTrue(worker.output.contains("\(file.path):\(line): \(c.key)"), "\(c.label): \(worker.output)")
        }
    }
}
