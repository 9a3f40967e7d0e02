import Foundation
import NTKWire

// NTKTransport, read from the bottom up:
//   1. libzmq, wrapped: `ZMQContext` (I/O threads), `ZMQSocket` (ROUTER/DEALER, multipart send
//      and receive of `Frame`s without copies; options in ZMQSocketOption.swift, message
//      ownership in ZMQMessage.swift), `ZMQPoll`, `ZMQSocketMonitor`, `TransportError`.
//   2. Security on those sockets: `CurveKeyPair` and key files, `CurveServerSecurity` /
//      `CurveClientSecurity`, and the `ZAPAuthenticator` that admits listed worker keys only.
//   3. `ZMQTransportOptions`: every setting a federated run needs, with reasons, in one place.
//   4. This file: the protocols the server and worker logic are written against, implemented by
//      `ZMQServerTransport` / `ZMQWorkerTransport` and, without sockets, by `InProcessHub`.
//   5. `TransferBenchmark`: how fast blocks move.
//
// The transport abstraction: what the server's round loop and the worker's loop need from the
// network, and nothing more. Two implementations exist — ZeroMQ sockets (`ZMQServerTransport`,
// `ZMQWorkerTransport`) and in-process queues (`InProcessHub`) — and the round logic written
// against these protocols runs unchanged over either, so that it can be tested without sockets.
//
// Both implementations share the semantics the round logic may rely on:
// - a message is a list of frames, delivered whole or not at all, in order per sender;
// - `receive(timeout:)` returns `nil` when nothing arrived in time;
// - the server sends to a peer by identity and gets `TransportError.unknownPeer` if that peer
//   is not connected; a full queue makes `send` wait, then throw `TransportError.timedOut`;
// - a worker reconnects by itself; messages in flight when a connection drops can be lost,
//   so the protocol above must acknowledge and retry what matters;
// - after `close()`, calls throw `TransportError.closed`.

/// The identity of a worker as the server sees it (the DEALER's routing id: stable across reconnects).
public struct PeerID: Hashable, Sendable, CustomStringConvertible {
    /// The identity's bytes (1–255 for ZeroMQ).
    public let bytes: Data

    /// An identity from raw bytes.
    public init(_ bytes: Data) { self.bytes = bytes }

    /// An identity from a name such as `"worker-1"` (its UTF-8 bytes).
    public init(_ name: String) { self.bytes = Data(name.utf8) }

    /// The name if the bytes are printable UTF-8, otherwise `0x` and hex digits.
    public var description: String {
        if let text = String(data: bytes, encoding: .utf8), !text.isEmpty,
           text.unicodeScalars.allSatisfy({ $0.properties.isAlphabetic || $0.properties.numericType != nil || "-_.:@/+".unicodeScalars.contains($0) }) {
            return text
        }
        return "0x" + bytes.map { String(format: "%02x", $0) }.joined()
    }
}

/// The server's end: receives from any worker, sends to one worker by identity.
public protocol ServerTransport: AnyObject {
    /// Sends one message to `peer`; throws `unknownPeer` if it is not connected, `timedOut` if its queue stays full.
    func send(_ frames: [Frame], to peer: PeerID) throws
    /// The next message from any worker, or `nil` if none arrives within `timeout` (`nil`: wait forever).
    func receive(timeout: Duration?) throws -> (peer: PeerID, frames: [Frame])?
    /// Stops the endpoint; further calls throw `closed`.
    func close()
}

/// A worker's end: one conversation with the server.
public protocol WorkerTransport: AnyObject {
    /// The identity the server knows this worker by.
    var identity: PeerID { get }
    /// Sends one message to the server (queued while disconnected, up to the high-water mark).
    func send(_ frames: [Frame]) throws
    /// The next message from the server, or `nil` if none arrives within `timeout` (`nil`: wait forever).
    func receive(timeout: Duration?) throws -> [Frame]?
    /// Stops the endpoint; further calls throw `closed`.
    func close()
}
