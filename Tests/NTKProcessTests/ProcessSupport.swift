import Foundation
import NTKConfig
import NTKCore
import NTKServer
import NTKWire
import XCTest

// Support for the tests that run `ntk-server` and `ntk-worker` as real OS processes over tcp loopback.
// Every wait has a deadline, and every process a test starts is killed (SIGKILL, by pid) when the test
// ends, so a failing test never leaves a process behind or hangs the suite.

let repoRoot = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent().deletingLastPathComponent()
let digitsCSV = repoRoot.appendingPathComponent("data/digits.csv").path

/// The directory of the test bundle, where SwiftPM puts the executables too.
let binaryDirectory = URL(fileURLWithPath: CommandLine.arguments[0]).deletingLastPathComponent()

/// A tcp port nobody listens on right now: bind port 0 on loopback, read the port, close.
func freeTCPPort() -> Int {
    let fd = socket(AF_INET, Int32(SOCK_STREAM.rawValue), 0)
    precondition(fd >= 0, "socket() failed")
    defer { close(fd) }
    var address = sockaddr_in()
    address.sin_family = sa_family_t(AF_INET)
    address.sin_port = 0
    address.sin_addr.s_addr = inet_addr("127.0.0.1")
    var length = socklen_t(MemoryLayout<sockaddr_in>.size)
    let bound = withUnsafeMutablePointer(to: &address) { p in
        p.withMemoryRebound(to: sockaddr.self, capacity: 1) { bind(fd, $0, length) == 0 && getsockname(fd, $0, &length) == 0 }
    }
    precondition(bound, "bind/getsockname failed")
    return Int(UInt16(bigEndian: address.sin_port))
}

struct ProcessTestError: Error, CustomStringConvertible {
    let description: String
    init(_ description: String) { self.description = description }
}

/// Polls `condition` every `interval` until it holds; `false` after `timeout` seconds.
@discardableResult
func waitUntil(timeout: Double, interval: Double = 0.01, _ condition: () throws -> Bool) rethrows -> Bool {
    let deadline = Date().addingTimeInterval(timeout)
    while true {
        if try condition() { return true }
        if Date() >= deadline { return false }
        usleep(UInt32(interval * 1e6))
    }
}

/// One child process (`ntk-server`, `ntk-worker`, `ntk`), its output in a log file.
final class Child {
    let name: String
    let process = Process()
    let log: URL

    /// `blasThreads`: OPENBLAS_NUM_THREADS for the child unless the environment sets it (`nil`: OpenBLAS's default).
    init(_ tool: String, _ arguments: [String], name: String, log: URL, blasThreads: Int? = 1) throws {
        self.name = name
        self.log = log
        let executable = binaryDirectory.appendingPathComponent(tool)
        guard FileManager.default.isExecutableFile(atPath: executable.path) else {
            throw ProcessTestError("\(tool) not found next to the test bundle in \(binaryDirectory.path): build all products first")
        }
        process.executableURL = executable
        process.arguments = arguments
        var environment = ProcessInfo.processInfo.environment
        // Several processes on a few cores: workers get one BLAS thread each, so that they do not fight over
        // the cores; the server, which alone works while the workers wait for it, keeps OpenBLAS's default.
        if let blasThreads, environment["OPENBLAS_NUM_THREADS"] == nil { environment["OPENBLAS_NUM_THREADS"] = "\(blasThreads)" }
        process.environment = environment
        _ = FileManager.default.createFile(atPath: log.path, contents: nil)
        let handle = try FileHandle(forWritingTo: log)
        process.standardOutput = handle
        process.standardError = handle
        process.standardInput = FileHandle.nullDevice
        try process.run()
    }

    var pid: Int32 { process.processIdentifier }
    var isRunning: Bool { process.isRunning }

    /// Everything the process wrote so far.
    var output: String { (try? String(contentsOf: log, encoding: .utf8)) ?? "" }

    /// The last lines of the output, for failure messages.
    var tail: String { "--- \(name) (\(log.lastPathComponent)) ---\n" + output.split(separator: "\n").suffix(25).joined(separator: "\n") }

    /// The exit status, or `nil` if it is still running after `timeout` seconds (it is then left running).
    func wait(timeout: Double) -> Int32? {
        guard waitUntil(timeout: timeout, interval: 0.02, { !process.isRunning }) else { return nil }
        process.waitUntilExit()
        return process.terminationStatus
    }

    func signal(_ sig: Int32) {
        if process.isRunning { kill(pid, sig) }
    }

    /// SIGKILL and reap.
    func killNow() {
        guard process.isRunning else { return }
        kill(pid, SIGKILL)
        _ = waitUntil(timeout: 5, interval: 0.01) { !process.isRunning }
    }
}

/// One federated run of the tests: a temp directory with the config file, the run's output and the logs,
/// and the processes started for it.
final class ProcessRun {
    let directory: URL
    let output: URL
    let configURL: URL
    let port: Int
    private(set) var children: [Child] = []
    private var launches: [String: Int] = [:]

    init(_ label: String, port: Int = freeTCPPort()) {
        directory = FileManager.default.temporaryDirectory.appendingPathComponent("ntk-proc-\(label)-\(UUID().uuidString.prefix(8))")
        try? FileManager.default.createDirectory(at: directory, withIntermediateDirectories: true)
        output = directory.appendingPathComponent("out")
        configURL = directory.appendingPathComponent("run.yaml")
        self.port = port
    }

    var endpoint: String { "tcp://127.0.0.1:\(port)" }

    func write(config yaml: String) throws {
        try yaml.write(to: configURL, atomically: true, encoding: .utf8)
    }

    /// The configuration as the processes read it.
    func configuration() throws -> RunConfiguration { try RunConfiguration.load(configURL) }

    private func logURL(_ name: String) -> URL {
        let n = launches[name, default: 0]
        launches[name] = n + 1
        return directory.appendingPathComponent(n == 0 ? "\(name).log" : "\(name).\(n).log")
    }

    @discardableResult
    func startServer(resume: Bool = false, config: URL? = nil) throws -> Child {
        let child = try Child("ntk-server", ["--config", (config ?? configURL).path] + (resume ? ["--resume"] : []),
                              name: "server", log: logURL("server"), blasThreads: nil)
        children.append(child)
        return child
    }

    @discardableResult
    func startWorker(_ name: String) throws -> Child {
        let child = try Child("ntk-worker", ["--config", configURL.path, "--name", name], name: name, log: logURL(name))
        children.append(child)
        return child
    }

    /// The records of `rounds.jsonl` (complete lines only).
    func rounds() -> [RoundRecord] {
        guard let text = try? String(contentsOf: output.appendingPathComponent("rounds.jsonl"), encoding: .utf8) else { return [] }
        return text.split(separator: "\n").compactMap { try? JSONDecoder().decode(RoundRecord.self, from: Data($0.utf8)) }
    }

    /// The last round checkpointed, if any.
    func checkpointRound() -> Int? {
        try? Checkpoint.read(from: output.appendingPathComponent("checkpoint.json")).round
    }

    /// The final weights the server wrote.
    func weights() throws -> MLPParameters<Float> {
        try MLPParameters<Float>(archive: NumpyArchive(contentsOf: output.appendingPathComponent("weights.npz")),
                                 architecture: configuration().model.mlp!)
    }

    /// Every process's last lines, for failure messages.
    var logs: String { children.map(\.tail).joined(separator: "\n") }

    /// Kills whatever is still running and removes the directory (kept when `keep` is set, for a look after a failure).
    func tearDown(keep: Bool) {
        for c in children { c.killNow() }
        if !keep { try? FileManager.default.removeItem(at: directory) }
    }
}

/// A base class that tears runs down after each test (kills their processes, keeps the files of failed
/// tests, or of every test with `NTK_KEEP_PROCESS_RUNS=1`).
class ProcessTestCase: XCTestCase {
    private var runs: [ProcessRun] = []

    func makeRun(_ label: String) -> ProcessRun {
        let run = ProcessRun(label)
        runs.append(run)
        return run
    }

    override func tearDown() {
        let failed = (testRun?.failureCount ?? 0) + (testRun?.unexpectedExceptionCount ?? 0) > 0
        let keep = failed || ProcessInfo.processInfo.environment["NTK_KEEP_PROCESS_RUNS"] == "1"
        for r in runs {
            r.tearDown(keep: keep)
            if keep { print("kept \(r.directory.path) for inspection") }
        }
        runs = []
        super.tearDown()
    }

    /// Waits for a process to exit and asserts its status (with every log in the failure message).
    func assertExits(_ child: Child, in run: ProcessRun, timeout: Double, status: Int32 = 0,
                     file: StaticString = #filePath, line: UInt = #line) {
        guard let code = child.wait(timeout: timeout) else {
            return XCTFail("\(child.name) still running after \(timeout) s\n\(run.logs)", file: file, line: line)
        }
        XCTAssertEqual(code, status, "\(child.name) exit status\n\(run.logs)", file: file, line: line)
    }

    /// Waits until `text` appears in a process's output.
    func waitForOutput(_ child: Child, _ text: String, in run: ProcessRun, timeout: Double,
                       file: StaticString = #filePath, line: UInt = #line) throws {
        guard waitUntil(timeout: timeout, interval: 0.01, { child.output.contains(text) }) else {
            throw ProcessTestError("\"\(text)\" did not appear in \(child.name)'s output within \(timeout) s\n\(run.logs)")
        }
    }
}

/// The YAML of a small digits federation: `workers` IID shards of a small training split (5% of the
/// 1797 digits: 90 samples, a 900 × 900 Gram), MLP 64-48-10; the server evaluates on the rest.
struct DigitsYAML {
    var runID = "proc-test"
    var trainFraction = 0.05
    var rounds = 2
    var workers: [String] = ["w0", "w1", "w2", "w3"]
    /// Shard count (defaults to the number of workers).
    var shardCount: Int?
    var expectedWorkers: Int?
    var minWorkers = 1
    var policy = "proceed"
    var deadline = 10.0
    var maxMessageBytes: Int?
    /// Extra lines in `server:` (indented by 2) and per worker (a flow-mapping fragment, e.g. `curve: {...}`).
    var serverExtra = ""
    var workerExtra: [String: String] = [:]

    func text(endpoint: String, output: URL) -> String {
        let shards = shardCount ?? workers.count
        let data = "file: \(digitsCSV), feature_scale: 0.0625, classes: 10, split: train, train_fraction: \(trainFraction)"
        let list = workers.enumerated().map { i, name in
            "  - {name: \(name), data: {\(data), shard: {index: \(i), count: \(shards), seed: 3}}\(workerExtra[name].map { ", " + $0 } ?? "")}"
        }.joined(separator: "\n")
        return """
        run: {id: \(runID), output_dir: \(output.path), rounds: \(rounds)}
        model: {widths: [64, 48, 10], activation: relu, bias_scale: 0.1, seed: 5}
        training:
          learning_rate: 1.0
          time: {candidates: [100, 1000, 10000, 100000]}
        server:
          endpoint: \(endpoint)
          expected_workers: \(expectedWorkers ?? workers.count)
          min_workers: \(minWorkers)
          missing_worker_policy: \(policy)
          round_deadline_seconds: \(deadline)
          registration_timeout_seconds: 60
          heartbeat_seconds: 0.2
        \(maxMessageBytes.map { "  max_message_bytes: \($0)" } ?? "")
          evaluation: {file: \(digitsCSV), feature_scale: 0.0625, classes: 10, split: test, train_fraction: \(trainFraction)}
        \(serverExtra)
        workers:
        \(list)

        """
    }
}


/// ‖a − b‖ / ‖b‖.
func relativeDistance(_ a: [Float], _ b: [Float]) -> Double {
    precondition(a.count == b.count)
    var d = 0.0, n = 0.0
    for (x, y) in zip(a, b) { d += Double(x - y) * Double(x - y); n += Double(y) * Double(y) }
    return (d / n).squareRoot()
}
