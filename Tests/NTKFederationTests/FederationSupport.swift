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
    private let done = DispatchSemaphore(value: 0)
    private var error: Error?
    init(_ body: @escaping () throws -> Void) {
        let t = Thread { [self] in
            do { try body() } catch { self.error = error }
            done.signal()
        }
        t.stackSize = 8 << 20
        t.start()
    }
    func join(timeout: Double = 120) throws {
        guard done.wait(timeout: .now() + timeout) == .success else { throw CancellationError() }
        if let error { throw error }
    }
}

let quietLogger: Logger = {
    var l = Logger(label: "test")
    l.logLevel = .error
    return l
}()

/// Runs a whole federation in this process over the in-process hub, each worker on its own thread.
func runInProcess(_ config: RunConfiguration) throws -> (server: FederatedServer, workers: [FederatedWorker]) {
    let hub = InProcessHub()
    let server = try FederatedServer(config: config, transport: hub.bindServer(), logger: quietLogger)
    let workers = try config.workers.map { try FederatedWorker(settings: $0, transport: hub.connectWorker($0.name), logger: quietLogger) }
    let threads = workers.map { w in Background { try w.run() } }
    try server.run()
    for t in threads { try t.join() }
    return (server, workers)
}
