import Foundation
import NTKWire

/// A worker's `WorkerTransport` over a ZeroMQ DEALER socket that reconnects by itself.
///
/// The DEALER's routing identity is set explicitly (the worker's name), so that the server
/// recognises the same worker across reconnections and restarts; libzmq would otherwise invent a
/// new random identity for every connection.
///
/// While the server is unreachable, `send` queues messages (up to the high-water mark) and
/// libzmq delivers them once reconnected; a message already handed to a connection that then
/// breaks is lost, which is why the protocol acknowledges uploads.
public final class ZMQWorkerTransport: WorkerTransport, @unchecked Sendable {
    /// The DEALER socket, for options this type does not cover. Same ownership rule.
    public let socket: ZMQSocket
    /// The identity the server sees.
    public let identity: PeerID
    /// The server endpoint connected to.
    public let endpoint: String
    /// The options the socket was configured with.
    public let options: ZMQTransportOptions

    /// Connects a DEALER named `identity` to `endpoint` (returns at once; the connection is made in the background).
    public init(connect endpoint: String, identity: PeerID, context: ZMQContext? = nil,
                options: ZMQTransportOptions = ZMQTransportOptions(),
                curve: CurveClientSecurity? = nil) throws {
        let context = try context ?? ZMQContext()
        let socket = try ZMQSocket(context: context, kind: .dealer)
        try options.apply(to: socket)
        try socket.setRoutingID(identity.bytes)
        if let curve {
            try socket.makeCurveClient(serverPublicKey: curve.serverPublicKey, keyPair: curve.keyPair)
        }
        try socket.connect(endpoint)
        self.socket = socket
        self.identity = identity
        self.endpoint = endpoint
        self.options = options
    }

    /// Convenience for a worker named by a string.
    public convenience init(connect endpoint: String, identity: String, context: ZMQContext? = nil,
                            options: ZMQTransportOptions = ZMQTransportOptions(),
                            curve: CurveClientSecurity? = nil) throws {
        try self.init(connect: endpoint, identity: PeerID(identity), context: context, options: options, curve: curve)
    }

    deinit { close() }

    /// Sends to the server, waiting at most `options.sendTimeout` for room in the queue.
    public func send(_ frames: [Frame]) throws {
        try socket.send(frames: frames, timeout: options.sendTimeout)
    }

    /// Sends to the server with an explicit timeout (`nil`: forever), e.g. for a long block upload.
    public func send(_ frames: [Frame], timeout: Duration?) throws {
        try socket.send(frames: frames, timeout: timeout)
    }

    /// The next message from the server, or `nil` after `timeout`.
    public func receive(timeout: Duration?) throws -> [Frame]? {
        try socket.receive(timeout: timeout)?.frames
    }

    /// Closes the DEALER; queued messages still get up to `options.linger` to leave.
    public func close() {
        socket.close()
    }
}
