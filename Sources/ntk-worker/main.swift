import ArgumentParser
import Foundation
import Logging
import NTKConfig
import NTKCore
import NTKTransport
import NTKWorker

/// `ntk-worker --config FILE --name NAME`: one data node of the federation.
struct WorkerCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "ntk-worker",
        abstract: "Federated NTK worker: loads its private shard, computes Jacobian blocks at the server's θ, evaluates candidates.")

    @Option(name: .long, help: "Run configuration (YAML) with a 'workers' entry of this name.")
    var config: String

    @Option(name: .long, help: "This worker's name in the configuration.")
    var name: String

    func run() throws {
        let configuration = try RunConfiguration.load(URL(fileURLWithPath: config))
        guard let settings = configuration.workers.first(where: { $0.name == name }) else {
            throw ValidationError("\(config): no worker named \"\(name)\" (known: \(configuration.workers.map(\.name).joined(separator: ", ")))")
        }
        let transport = try ZMQWorkerTransport.forWorker(settings, maxMessageBytes: configuration.server.maxMessageBytes)
        let worker = try FederatedWorker(settings: settings, transport: transport, logger: Logger(label: "ntk-worker.\(name)"))
        try worker.run()
        transport.close()
    }
}

ProcessStartup.bootstrapLogging()
Logger(label: "ntk-worker").info("\(ProcessStartup.prepare())")
WorkerCommand.main()
