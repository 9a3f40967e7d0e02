import Foundation
import NTKConfig
import NTKTransport

extension ZMQWorkerTransport {
    /// A worker's DEALER, named after the worker, with CURVE when its settings have keys.
    /// Clients of one process pass one `context` (one I/O thread for all their sockets).
    public static func forWorker(_ settings: WorkerSettings, maxMessageBytes: Int, context: ZMQContext? = nil) throws -> ZMQWorkerTransport {
        var options = ZMQTransportOptions()
        options.maxFrameSize = Int64(maxMessageBytes)
        options.linger = .seconds(30)   // a last block must not be dropped by an early exit
        var curve: CurveClientSecurity?
        if let c = settings.curve, let serverKey = c.serverPublicKeyFile {
            curve = CurveClientSecurity(serverPublicKey: try CurvePublicKey(contentsOf: URL(fileURLWithPath: serverKey)),
                                        keyPair: try CurveKeyPair.read(secretFile: URL(fileURLWithPath: c.secretKeyFile)))
        }
        return try ZMQWorkerTransport(connect: settings.server, identity: settings.name, context: context, options: options, curve: curve)
    }
}
