import Foundation
import Logging
import NTKConfig
import NTKCore
import NTKServer
import NTKTransport
import NTKWorker

let repoRoot = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent().deletingLastPathComponent()

/// A small digits federation: `workers` IID shards of the 80% split, the server evaluating on the 20%.
func digitsConfig(workers: Int, rounds: Int = 2, extra: String = "", server: String = "", output: URL,
                  model: String = "{widths: [64, 48, 10], activation: relu, bias_scale: 0.1, seed: 5}") throws -> RunConfiguration {
    let list = (0..<workers).map { i in
        "  - {name: w\(i), data: {file: data/digits.csv, feature_scale: 0.0625, classes: 10, split: train, train_fraction: 0.1, shard: {index: \(i), count: \(workers), seed: 3}}}"
    }.joined(separator: "\n")
    let yaml = """
    run: {id: test-run, output_dir: \(output.path), rounds: \(rounds)}
    model: \(model)
    training:
      learning_rate: 1.0
      time: {candidates: [100, 1000, 10000, 100000]}
    \(extra)
    server:
      expected_workers: \(workers)
      round_deadline_seconds: 20
      heartbeat_seconds: 0.2
      evaluation: {file: data/digits.csv, feature_scale: 0.0625, classes: 10, split: test, train_fraction: 0.1}
    \(server)
    workers:
    \(list)
    """
    return try RunConfiguration.parse(yaml: yaml, file: "test.yaml", baseDirectory: repoRoot)
}

func temporaryDirectory() -> URL {
    let url = FileManager.default.temporaryDirectory.appendingPathComponent("ntk-fed-\(UUID().uuidString)")
    try? FileManager.default.createDirectory(at: url, withIntermediateDirectories: true)
    return url
}

/// Runs a closure on its own thread; `join` waits for it and rethrows its error.
final class Background: @unchecked Sendable {
    private let condition = NSCondition()
    private var finished = false
    private var error: Error?
    init(_ body: @escaping () throws -> Void) {
        let t = Thread { [self] in
            var failure: Error?
            do { try body() } catch { failure = error }
            condition.lock()
            error = failure
            finished = true
            condition.broadcast()
            condition.unlock()
        }
        t.stackSize = 8 << 20
        t.start()
    }

    /// The error the closure threw, once it has finished; `nil` while it runs or after it returned.
    var failure: Error? {
        condition.lock()
        defer { condition.unlock() }
        return error
    }

    /// Waits at most `timeout` seconds for the closure to finish; whether it did.
    func wait(timeout: Double) -> Bool {
        let deadline = Date(timeIntervalSinceNow: timeout)
        condition.lock()
        defer { condition.unlock() }
        while !finished { if !condition.wait(until: deadline) { break } }
        return finished
    }

    func join(timeout: Double = 120) throws {
        guard wait(timeout: timeout) else { throw CancellationError() }
        if let failure { throw failure }
    }
}

/// A federation run in this process that did not finish.
struct FederationHang: Error, CustomStringConvertible {
    let seconds: Double
    var description: String { "the in-process federation did not finish within \(seconds) s (server closed)" }
}

let quietLogger: Logger = {
    var l = Logger(label: "test")
    l.logLevel = .error
    return l
}()

/// Runs a whole federation in this process over the in-process hub, the server and each worker on its own thread.
///
/// A worker that fails (its `run` throws, e.g. local training that diverged) fails the call with its error at
/// once: the server would wait for it to register again — right for a deployment, where a crashed worker is
/// restarted, but in a test nobody restarts it, and the test would hang. The endpoints are closed to stop the
/// other threads, as they are when the whole run takes longer than `timeout` seconds.
/// `prepare` sees the workers before they start (e.g. to install fault-injection hooks).
func runInProcess(_ config: RunConfiguration, timeout: Double = 600,
                  prepare: ([FederatedWorker]) -> Void = { _ in }) throws -> (server: FederatedServer, workers: [FederatedWorker]) {
    let hub = InProcessHub()
    let serverTransport = try hub.bindServer()
    let server = try FederatedServer(config: config, transport: serverTransport, logger: quietLogger)
    let transports = config.workers.map { hub.connectWorker($0.name) }
    let workers = try zip(config.workers, transports).map { try FederatedWorker(settings: $0, transport: $1, logger: quietLogger) }
    prepare(workers)
    let threads = workers.map { w in Background { try w.run() } }
    let serverThread = Background { try server.run() }
    let deadline = Date(timeIntervalSinceNow: timeout)
    while !serverThread.wait(timeout: 0.05) {
        let failure = threads.lazy.compactMap(\.failure).first
        guard failure != nil || Date() > deadline else { continue }
        serverTransport.close()
        for t in transports { t.close() }
        _ = serverThread.wait(timeout: 60)
        throw failure ?? FederationHang(seconds: timeout)
    }
    try serverThread.join()
    for t in threads { try t.join() }
    return (server, workers)
}

/// Blocks until the server has logged `round` in `directory/rounds.jsonl` (or `timeout` seconds pass): a fault-injection
/// hook that makes a worker late for that round by construction, not by timing.
func waitUntilLogged(round: Int, in directory: URL, timeout: Double = 60) {
    let url = directory.appendingPathComponent("rounds.jsonl")
    let deadline = Date(timeIntervalSinceNow: timeout)
    while Date() < deadline {
        if let text = try? String(contentsOf: url, encoding: .utf8), text.contains("\"round\":\(round),") { return }
        usleep(10_000)
    }
}

/// The error a two-worker digits configuration with these `training:` lines is refused with ("" if none).
func configError(training: String) -> String {
    let out = temporaryDirectory()
    defer { try? FileManager.default.removeItem(at: out) }
    do { _ = try digitsConfig(workers: 2, extra: training, output: out); return "" } catch { return "\(error)" }
}
