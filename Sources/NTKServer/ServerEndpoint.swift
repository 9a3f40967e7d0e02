import Foundation
import NTKConfig
import NTKTransport

extension ZMQServerTransport {
    /// The server's ROUTER for a run: bound on the configured endpoint, with CURVE and an allow-list of
    /// worker keys when the configuration has a `curve` section, and the configured frame size limit.
    public static func forRun(_ config: RunConfiguration, onRefusal: (@Sendable (String) -> Void)? = nil) throws -> ZMQServerTransport {
        var options = ZMQTransportOptions()
        options.maxFrameSize = Int64(config.server.maxMessageBytes)
        var curve: CurveServerSecurity?
        if let c = config.server.curve {
            let keys = try c.authorizedKeyFiles.map { try CurvePublicKey(contentsOf: URL(fileURLWithPath: $0)) }
            curve = CurveServerSecurity(keyPair: try CurveKeyPair.read(secretFile: URL(fileURLWithPath: c.secretKeyFile)),
                                        clients: .only(Set(keys)),
                                        onDecision: { decision in if !decision.accepted { onRefusal?("\(decision)") } })
        }
        return try ZMQServerTransport(bind: config.server.endpoint, options: options, curve: curve)
    }
}
