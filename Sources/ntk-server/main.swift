import ArgumentParser
import Foundation
import Logging
import NTKConfig
import NTKCore
import NTKServer
import NTKTransport

/// `ntk-server --config FILE [--resume]`: the federation's server daemon.
struct ServerCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "ntk-server",
        abstract: "Federated NTK server: owns θ and the schedule, joins the workers' Jacobian blocks, integrates in closed form.",
        discussion: "Writes rounds.jsonl, checkpoint.json and weights.npz to the run's output_dir. The server never loads a worker's data, but the blocks reveal it: see the README.")

    @Option(name: .long, help: "Run configuration (YAML), see configs/.")
    var config: String

    @Flag(name: .long, help: "Continue from the checkpoint in the output directory (same run id and configuration).")
    var resume = false

    func run() throws {
        let log = Logger(label: "ntk-server")
        let configuration = try RunConfiguration.load(URL(fileURLWithPath: config))
        let transport = try ZMQServerTransport.forRun(configuration, onRefusal: { log.warning("CURVE: refused \($0)") })
        log.info("listening on \(transport.endpoint)\(configuration.server.curve == nil ? "" : " (CURVE, \(configuration.server.curve!.authorizedKeyFiles.count) authorized keys)")")
        let server = try FederatedServer(config: configuration, transport: transport, resume: resume, logger: log)
        try server.run()
        transport.close()
    }
}

ProcessStartup.bootstrapLogging()
Logger(label: "ntk-server").info("\(ProcessStartup.prepare())")
ServerCommand.main()
