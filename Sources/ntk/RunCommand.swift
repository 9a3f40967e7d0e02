import ArgumentParser
import Foundation
import NTKConfig

/// `ntk run CONFIG`: the whole federation on this machine, as separate processes over tcp loopback.
struct RunCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "run",
        abstract: "Start ntk-server and every configured ntk-worker as separate processes and follow the rounds.",
        discussion: """
        The server's log (one line per round) is shown live; each worker logs to \
        <output_dir>/logs/<name>.log. Ctrl-C stops every process. Exits non-zero if any \
        role failed. The run directory holds rounds.jsonl, checkpoint.json and weights.npz.
        """)

    @Argument(help: "Run configuration (YAML), e.g. configs/digits-4workers.yaml.")
    var config: String

    @Flag(name: .long, help: "Resume the server from its checkpoint.")
    var resume = false

    func run() throws {
        let configuration = try RunConfiguration.load(URL(fileURLWithPath: config))
        let binaries = URL(fileURLWithPath: CommandLine.arguments[0]).resolvingSymlinksInPath().deletingLastPathComponent()
        for tool in ["ntk-server", "ntk-worker"] where !FileManager.default.isExecutableFile(atPath: binaries.appendingPathComponent(tool).path) {
            throw ValidationError("\(tool) not found next to ntk in \(binaries.path): build all products (swift build -c release)")
        }
        let logs = URL(fileURLWithPath: configuration.outputDirectory).appendingPathComponent("logs")
        try FileManager.default.createDirectory(at: logs, withIntermediateDirectories: true)

        var children: [(name: String, process: Process)] = []
        func launch(_ tool: String, _ arguments: [String], log: URL?) throws -> Process {
            let p = Process()
            p.executableURL = binaries.appendingPathComponent(tool)
            p.arguments = arguments
            if let log {
                FileManager.default.createFile(atPath: log.path, contents: nil)
                let handle = try FileHandle(forWritingTo: log)
                p.standardError = handle
                p.standardOutput = handle
            }
            try p.run()
            return p
        }
        let server = try launch("ntk-server", ["--config", config] + (resume ? ["--resume"] : []), log: nil)
        children.append(("server", server))
        for w in configuration.workers {
            children.append((w.name, try launch("ntk-worker", ["--config", config, "--name", w.name],
                                                log: logs.appendingPathComponent("\(w.name).log"))))
        }
        print("started ntk-server and \(configuration.workers.count) workers (logs in \(logs.path))")

        // Ctrl-C / SIGTERM: stop every child, then exit.
        let stop = { (signal: Int32) in
            for c in children where c.process.isRunning { kill(c.process.processIdentifier, SIGTERM) }
        }
        RunCommand.onSignal = stop
        signal(SIGINT) { RunCommand.onSignal?($0) }
        signal(SIGTERM) { RunCommand.onSignal?($0) }

        server.waitUntilExit()
        // Workers leave on the server's shutdown message; give them a moment, then stop stragglers.
        let deadline = Date().addingTimeInterval(10)
        while children.dropFirst().contains(where: { $0.process.isRunning }) && Date() < deadline { usleep(100_000) }
        for c in children.dropFirst() where c.process.isRunning { kill(c.process.processIdentifier, SIGTERM); c.process.waitUntilExit() }
        let failed = children.filter { $0.process.terminationStatus != 0 }
        if !failed.isEmpty {
            throw ValidationError("failed: \(failed.map { "\($0.name) (status \($0.process.terminationStatus))" }.joined(separator: ", "))")
        }
        print("run \(configuration.runID) finished: \(configuration.outputDirectory)/rounds.jsonl, weights.npz")
    }

    nonisolated(unsafe) static var onSignal: ((Int32) -> Void)?
}
