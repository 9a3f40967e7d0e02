import Foundation

/// CURVE settings of the server: its key pair and which clients it admits.
public struct CurveServerSecurity: Sendable {
    /// Which clients may connect.
    public enum Clients: Sendable {
        /// Only these public keys (checked by a `ZAPAuthenticator`). The normal choice.
        case only(Set<CurvePublicKey>)
        /// Any client that knows the server's public key: encrypted, but *not* authenticated.
        case anyone
    }

    /// The server's long-term key pair (workers are configured with its public key).
    public var keyPair: CurveKeyPair
    /// The admission policy.
    public var clients: Clients
    /// Called on the ZAP thread for every decision (log refusals here); must be quick and thread-safe.
    public var onDecision: (@Sendable (ZAPDecision) -> Void)?

    /// A CURVE server with `keyPair` admitting `clients`.
    public init(keyPair: CurveKeyPair, clients: Clients, onDecision: (@Sendable (ZAPDecision) -> Void)? = nil) {
        self.keyPair = keyPair
        self.clients = clients
        self.onDecision = onDecision
    }
}

/// CURVE settings of a worker: the server it trusts and its own key pair.
public struct CurveClientSecurity: Sendable {
    /// The server's public key: a server without the matching secret key cannot complete the handshake.
    public var serverPublicKey: CurvePublicKey
    /// The worker's own key pair (its public key must be on the server's list).
    public var keyPair: CurveKeyPair

    /// A CURVE client trusting `serverPublicKey` and authenticating with `keyPair`.
    public init(serverPublicKey: CurvePublicKey, keyPair: CurveKeyPair) {
        self.serverPublicKey = serverPublicKey
        self.keyPair = keyPair
    }
}

extension ZMQSocket {
    /// Makes this socket a CURVE server (before `bind`). `zapDomain` is passed to the ZAP handler.
    public func makeCurveServer(secretKey: CurveSecretKey, zapDomain: String = "ntk") throws {
        guard ZMQLibrary.hasCurve else { throw TransportError.curveUnavailable }
        try set(.zapDomain, Data(zapDomain.utf8))
        try set(.curveServer, 1)
        try set(.curveSecretKey, secretKey.binary)
    }

    /// Makes this socket a CURVE client of the server with `serverPublicKey` (before `connect`).
    public func makeCurveClient(serverPublicKey: CurvePublicKey, keyPair: CurveKeyPair) throws {
        guard ZMQLibrary.hasCurve else { throw TransportError.curveUnavailable }
        try set(.curveServerKey, serverPublicKey.binary)
        try set(.curvePublicKey, keyPair.publicKey.binary)
        try set(.curveSecretKey, keyPair.secretKey.binary)
    }
}
