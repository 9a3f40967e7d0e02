import ArgumentParser
import Foundation
import NTKTransport

/// `ntk keygen NAME`: a CURVE key pair for a server or a worker.
struct KeygenCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "keygen",
        abstract: "Write a CURVE key pair: NAME.key (public, give it to the other side) and NAME.key_secret (mode 0600).",
        discussion: "List workers' NAME.key files under server.curve.authorized_keys; give workers the server's NAME.key as curve.server_public_key.")

    @Argument(help: "Base path of the key files, e.g. keys/worker-0.")
    var name: String

    func run() throws {
        let pair = try CurveKeyPair.generate()
        let dir = URL(fileURLWithPath: name).deletingLastPathComponent()
        try FileManager.default.createDirectory(at: dir, withIntermediateDirectories: true)
        try pair.write(basePath: name, name: URL(fileURLWithPath: name).lastPathComponent)
        print("wrote \(name).key (public: \(pair.publicKey.z85)) and \(name).key_secret")
    }
}
