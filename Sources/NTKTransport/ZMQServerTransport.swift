import Foundation
import NTKWire

/// The server's `ServerTransport` over a ZeroMQ ROUTER socket, optionally with CURVE and an allow-list of worker keys.
///
/// The ROUTER is configured for a federated server:
/// - ROUTER_MANDATORY, so that a message to a worker that is not connected fails with
///   `unknownPeer` instead of vanishing;
/// - with an allow-list of CURVE keys, ZAP_ENFORCE_DOMAIN, so that a missing ZAP handler
///   refuses clients instead of admitting all of them (libzmq's default);
/// - ROUTER_HANDOVER, so that a restarted worker, reconnecting with the same identity before the
///   server has noticed its old connection die, takes the identity over (without it libzmq
///   ignores the newcomer until the old connection times out).
///
/// Like every socket, it has one owner at a time (the server's round loop).
public final class ZMQServerTransport: ServerTransport, @unchecked Sendable {
    /// The ROUTER socket, for options this type does not cover. Same ownership rule.
    public let socket: ZMQSocket
    /// The endpoint actually bound, with a `*` port resolved (e.g. `tcp://127.0.0.1:41234`).
    public let endpoint: String
    /// The ZAP handler when the server admits only listed keys: read refusals and counts here.
    public let authenticator: ZAPAuthenticator?
    /// The options the socket was configured with.
    public let options: ZMQTransportOptions

    /// Binds a ROUTER on `endpoint` in `context` (a fresh one-I/O-thread context if `nil`).
    public init(bind endpoint: String, context: ZMQContext? = nil,
                options: ZMQTransportOptions = ZMQTransportOptions(),
                curve: CurveServerSecurity? = nil) throws {
        let context = try context ?? ZMQContext()
        let socket = try ZMQSocket(context: context, kind: .router)
        try options.apply(to: socket)
        try socket.set(.routerMandatory, 1)
        try socket.set(.routerHandover, 1)

        var authenticator: ZAPAuthenticator?
        if let curve {
            // The handler must exist before the first handshake, so before bind.
            if case let .only(keys) = curve.clients {
                authenticator = try ZAPAuthenticator(context: context, allowedKeys: keys, onDecision: curve.onDecision)
                // Fail closed: by default libzmq admits every client when no handler is bound (if the
                // handler were stopped early, or its thread died). A libzmq that does not know the
                // option still gets the protection of closing the socket before stopping the handler.
                do { try socket.set(.zapEnforceDomain, 1) } catch TransportError.zmq(_, EINVAL, _) {}
            }
            try socket.makeCurveServer(secretKey: curve.keyPair.secretKey)
        }
        do {
            try socket.bind(endpoint)
            self.endpoint = try socket.lastEndpoint
        } catch {
            socket.close(linger: .zero)
            authenticator?.stop()
            throw error
        }
        self.socket = socket
        self.authenticator = authenticator
        self.options = options
    }

    deinit { close() }

    /// Sends to the worker `peer`, waiting at most `options.sendTimeout` for room in its queue.
    public func send(_ frames: [Frame], to peer: PeerID) throws {
        try socket.send(frames: frames, to: peer.bytes, timeout: options.sendTimeout)
    }

    /// Sends to `peer` with an explicit timeout (`nil`: forever).
    public func send(_ frames: [Frame], to peer: PeerID, timeout: Duration?) throws {
        try socket.send(frames: frames, to: peer.bytes, timeout: timeout)
    }

    /// The next message from any worker, or `nil` after `timeout`.
    public func receive(timeout: Duration?) throws -> (peer: PeerID, frames: [Frame])? {
        guard let message = try socket.receive(timeout: timeout) else { return nil }
        return (PeerID(message.identity ?? Data()), message.frames)
    }

    /// Closes the ROUTER, *then* stops the ZAP handler (the other order would let unknown keys in meanwhile).
    public func close() {
        socket.close()
        authenticator?.stop()
    }
}
