import ArgumentParser
import Foundation
import Logging
import NTKConfig
import NTKCore
import NTKTransport
import NTKWorker

/// `ntk-worker --config FILE --name NAME` (one client) or `--process P` (every client of process P).
struct WorkerCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "ntk-worker",
        abstract: "Federated NTK worker: hosts one or many clients; each loads its private shard, computes Jacobian blocks at the server's θ, evaluates candidates.",
        discussion: """
        A process may host many logical clients (`clients:` in the configuration, or `process:` on worker \
        entries): each has its own shard, fingerprint, state and connection; they compute one at a time. \
        The same clients can be spread over hosts by starting them in different processes.
        """)

    @Option(name: .long, help: "Run configuration (YAML).")
    var config: String

    @Option(name: .long, help: "A client (worker name) of the configuration to host; repeatable.")
    var name: [String] = []

    @Option(name: .long, help: "Host every client the configuration assigns to this process (clients.processes, or process: of worker entries).")
    var process: String?

    func validate() throws {
        if name.isEmpty && process == nil { throw ValidationError("give --name NAME (repeatable) or --process PROCESS") }
    }

    func run() throws {
        let configuration = try RunConfiguration.load(URL(fileURLWithPath: config))
        var hosted = [WorkerSettings]()
        for n in name {
            guard let settings = configuration.workers.first(where: { $0.name == n }) else {
                let known = configuration.workers.prefix(8).map(\.name).joined(separator: ", ")
                throw ValidationError("\(config): no worker named \"\(n)\" (known: \(known)\(configuration.workers.count > 8 ? ", …" : ""))")
            }
            hosted.append(settings)
        }
        if let process {
            let members = configuration.workers.filter { $0.process == process }
            guard !members.isEmpty else {
                let processes = Set(configuration.workers.compactMap(\.process)).sorted().joined(separator: ", ")
                throw ValidationError("\(config): no client is assigned to process \"\(process)\" (processes: \(processes.isEmpty ? "none" : processes))")
            }
            hosted += members.filter { m in !hosted.contains { $0.name == m.name } }
        }
        let context = try ZMQContext()
        let host = try ClientHost(settings: hosted, connect: {
            try ZMQWorkerTransport.forWorker($0, maxMessageBytes: configuration.server.maxMessageBytes, context: context)
        }, logger: { Logger(label: "ntk-worker.\($0.name)") })
        let log = Logger(label: "ntk-worker")
        if hosted.count > 1 { log.info("hosting \(hosted.count) clients: \(hosted.first!.name) … \(hosted.last!.name)") }
        defer {
            for client in host.clients { client.close() }
            log.info("\(String(format: "peak memory %.1f MB for %d client(s)", ProcessMemory.peakResidentMB(), hosted.count))")
        }
        try host.run()
    }
}

ProcessStartup.bootstrapLogging()
Logger(label: "ntk-worker").info("\(ProcessStartup.prepare())")
WorkerCommand.main()
