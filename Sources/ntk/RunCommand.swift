import ArgumentParser
import Foundation
import NTKConfig
import NTKCore
import NTKServer

/// `ntk run CONFIG`: the whole federation on this machine, as separate processes over tcp loopback.
struct RunCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "run",
        abstract: "Start ntk-server and every configured ntk-worker as separate processes and follow the rounds.",
        discussion: """
        Prints one line per finished round (round, t, train loss and accuracy, test loss and \
        accuracy, workers present, MB received and sent, seconds) and a summary at the end. \
        The server logs to <output_dir>/logs/server.log (its warnings and errors are also \
        shown here; --verbose shows all of it), each worker to <output_dir>/logs/<name>.log. \
        Ctrl-C stops every process. Exits non-zero if any role failed. The run directory \
        holds rounds.jsonl, checkpoint.json and weights.npz.
        """)

    @Argument(help: "Run configuration (YAML), e.g. configs/digits-4workers.yaml.")
    var config: String

    @Flag(name: .long, help: "Resume the server from its checkpoint.")
    var resume = false

    @Option(name: .long, help: "Test accuracy (0…1) whose first round, bytes and seconds the summary reports, e.g. 0.97.")
    var target: Double?

    @Flag(name: .long, help: "Show the server's whole log, not only its warnings and errors.")
    var verbose = false

    func validate() throws {
        if let target, !(0...1).contains(target) { throw ValidationError("--target \(target) must be an accuracy in 0…1") }
    }

    func run() throws {
        let started = Date()
        let configuration = try RunConfiguration.load(URL(fileURLWithPath: config))
        let binaries = URL(fileURLWithPath: CommandLine.arguments[0]).resolvingSymlinksInPath().deletingLastPathComponent()
        for tool in ["ntk-server", "ntk-worker"] where !FileManager.default.isExecutableFile(atPath: binaries.appendingPathComponent(tool).path) {
            throw ValidationError("\(tool) not found next to ntk in \(binaries.path): build all products (swift build -c release)")
        }
        let logs = URL(fileURLWithPath: configuration.outputDirectory).appendingPathComponent("logs")
        try FileManager.default.createDirectory(at: logs, withIntermediateDirectories: true)

        let output = URL(fileURLWithPath: configuration.outputDirectory)
        // A fresh run's server empties rounds.jsonl; a resumed one keeps the rounds up to its checkpoint.
        let alreadyLogged = resume ? ((try? Checkpoint.read(from: output.appendingPathComponent("checkpoint.json")))?.round ?? 0) : 0
        var progress = RunProgress(url: output.appendingPathComponent("rounds.jsonl"), alreadyLogged: alreadyLogged,
                                   startedAt: started, target: target)

        var children: [(name: String, process: Process)] = []
        func launch(_ tool: String, _ arguments: [String], log: URL, environment: [String: String] = ProcessInfo.processInfo.environment,
                    echo: ((String) -> Void)? = nil) throws -> Process {
            let p = Process()
            p.executableURL = binaries.appendingPathComponent(tool)
            p.arguments = arguments
            _ = FileManager.default.createFile(atPath: log.path, contents: nil)
            let handle = try FileHandle(forWritingTo: log)
            if let echo {
                let pipe = Pipe()
                pipe.fileHandleForReading.readabilityHandler = { reader in
                    let data = reader.availableData
                    handle.write(data)
                    String(decoding: data, as: UTF8.self).split(separator: "\n").forEach { echo(String($0)) }
                }
                p.standardError = pipe
                p.standardOutput = pipe
            } else {
                p.standardError = handle
                p.standardOutput = handle
            }
            p.environment = environment
            try p.run()
            return p
        }
        let verbose = self.verbose
        let server = try launch("ntk-server", ["--config", config] + (resume ? ["--resume"] : []),
                                log: logs.appendingPathComponent("server.log")) { line in
            if verbose || Self.isWarningOrError(line) { FileHandle.standardError.write(Data((line + "\n").utf8)) }
        }
        children.append(("server", server))
        let processes = Self.workerProcesses(configuration.workers)
        let workerEnvironment = Self.workerEnvironment(workers: processes.count)
        for p in processes {
            children.append((p.name, try launch("ntk-worker", ["--config", config] + p.arguments,
                                                log: logs.appendingPathComponent("\(p.name).log"), environment: workerEnvironment)))
        }
        let clients = configuration.workers.count
        print("started ntk-server and \(processes.count) worker process\(processes.count == 1 ? "" : "es")"
              + (clients == processes.count ? "" : " hosting \(clients) clients") + " (logs in \(logs.path))")
        print(progress.header)

        // Ctrl-C / SIGTERM: stop every child, then exit.
        let stop = { (signal: Int32) in
            for c in children where c.process.isRunning { kill(c.process.processIdentifier, SIGTERM) }
        }
        RunCommand.onSignal = stop
        signal(SIGINT) { RunCommand.onSignal?($0) }
        signal(SIGTERM) { RunCommand.onSignal?($0) }

        var peakMB = [String: Double]()
        func samplePeakMemory() {
            for c in children where c.process.isRunning {
                if let mb = ProcessMemory.peakResidentMB(pid: c.process.processIdentifier) { peakMB[c.name] = max(peakMB[c.name] ?? 0, mb) }
            }
        }
        while server.isRunning {
            samplePeakMemory()
            progress.newRows().forEach { print($0) }
            fflush(stdout)
            usleep(200_000)
        }
        progress.newRows().forEach { print($0) }
        // Workers leave on the server's shutdown message; give them a moment, then stop stragglers.
        let deadline = Date().addingTimeInterval(10)
        while children.dropFirst().contains(where: { $0.process.isRunning }) && Date() < deadline { usleep(100_000) }
        // Bounded waits only: `waitUntilExit` can block forever on a child whose exit Foundation missed (seen
        // after a process-group SIGTERM: the worker stayed a zombie and `ntk run` hung).
        for c in children.dropFirst() where c.process.isRunning { kill(c.process.processIdentifier, SIGTERM) }
        let killDeadline = Date().addingTimeInterval(5)
        while children.dropFirst().contains(where: { $0.process.isRunning }) && Date() < killDeadline { usleep(100_000) }
        for c in children.dropFirst() where c.process.isRunning {
            kill(c.process.processIdentifier, SIGKILL)
            var status: Int32 = 0
            _ = waitpid(c.process.processIdentifier, &status, WNOHANG)
        }
        // `terminationStatus` traps on a process Foundation still thinks is running.
        let failed = children.filter { $0.process.isRunning || $0.process.terminationStatus != 0 }
        if !failed.isEmpty {
            throw ValidationError("failed: " + failed.map { c in
                c.process.isRunning ? "\(c.name) (killed: did not exit)" : "\(c.name) (status \(c.process.terminationStatus))"
            }.joined(separator: ", "))
        }
        print(progress.summary(runID: configuration.runID, wallSeconds: Date().timeIntervalSince(started)))
        if let server = peakMB["server"] {
            let workers = peakMB.filter { $0.key != "server" }
            let largest = workers.max { $0.value < $1.value }
            print(String(format: "peak memory: server %.0f MB; worker processes %.0f MB together", server, workers.values.reduce(0, +))
                  + (largest.map { String(format: ", largest %.0f MB (%@)", $0.value, $0.key) } ?? ""))
        }
        print("run directory: \(configuration.outputDirectory) (rounds.jsonl, weights.npz; `ntk report` draws it)")
    }

    /// The worker processes to start: one per `process` group (`--process P`), one per client without one (`--name N`).
    static func workerProcesses(_ workers: [WorkerSettings]) -> [(name: String, arguments: [String])] {
        var seen = Set<String>()
        return workers.compactMap { w in
            guard let p = w.process else { return (w.name, ["--name", w.name]) }
            return seen.insert(p).inserted ? (p, ["--process", p]) : nil
        }
    }

    /// The workers' environment on a shared machine. All workers compute their blocks at the same moment, so
    /// each gets `cores / workers` OpenBLAS threads (at least one) instead of every core: W workers × all cores
    /// threads would oversubscribe the machine. The server keeps every core: it computes alone, while the
    /// workers wait. A value set by the environment is kept.
    static func workerEnvironment(workers: Int) -> [String: String] {
        var environment = ProcessInfo.processInfo.environment
        if environment["OPENBLAS_NUM_THREADS"] == nil {
            environment["OPENBLAS_NUM_THREADS"] = String(max(1, ProcessInfo.processInfo.activeProcessorCount / max(1, workers)))
        }
        return environment
    }

    /// A swift-log line (`<time> <level> <label>: …`) at warning level or above.
    static func isWarningOrError(_ line: String) -> Bool {
        let level = line.split(separator: " ", maxSplits: 2).dropFirst().first
        return level.map { ["warning", "error", "critical"].contains($0) } ?? false
    }

    nonisolated(unsafe) static var onSignal: ((Int32) -> Void)?
}
