import CZeroMQ
import Foundation
import NTKWire

/// A connection event of a monitored socket: connected, disconnected, handshake refused, …
public struct ZMQSocketEvent: Sendable, CustomStringConvertible {
    /// Kinds of events, as libzmq numbers them (usable as a mask).
    public struct Kind: OptionSet, Sendable, Hashable {
        public let rawValue: UInt16
        public init(rawValue: UInt16) { self.rawValue = rawValue }
        /// A connection was established (TCP level).
        public static let connected = Kind(rawValue: UInt16(ZMQ_EVENT_CONNECTED))
        /// A connection attempt is in progress.
        public static let connectDelayed = Kind(rawValue: UInt16(ZMQ_EVENT_CONNECT_DELAYED))
        /// A reconnection was scheduled; `value` is the interval in ms.
        public static let connectRetried = Kind(rawValue: UInt16(ZMQ_EVENT_CONNECT_RETRIED))
        /// The socket listens on an endpoint.
        public static let listening = Kind(rawValue: UInt16(ZMQ_EVENT_LISTENING))
        /// A connection from a peer was accepted (TCP level).
        public static let accepted = Kind(rawValue: UInt16(ZMQ_EVENT_ACCEPTED))
        /// A connection was closed.
        public static let closed = Kind(rawValue: UInt16(ZMQ_EVENT_CLOSED))
        /// A connection was lost.
        public static let disconnected = Kind(rawValue: UInt16(ZMQ_EVENT_DISCONNECTED))
        /// The ZMTP/CURVE handshake completed: messages can flow.
        public static let handshakeSucceeded = Kind(rawValue: UInt16(ZMQ_EVENT_HANDSHAKE_SUCCEEDED))
        /// The handshake failed for an unspecified reason (e.g. a wrong server key).
        public static let handshakeFailedNoDetail = Kind(rawValue: UInt16(ZMQ_EVENT_HANDSHAKE_FAILED_NO_DETAIL))
        /// The peer broke the protocol during the handshake; `value` is libzmq's reason code.
        public static let handshakeFailedProtocol = Kind(rawValue: UInt16(ZMQ_EVENT_HANDSHAKE_FAILED_PROTOCOL))
        /// Authentication was refused; `value` is the ZAP status code (400 for an unknown key).
        public static let handshakeFailedAuth = Kind(rawValue: UInt16(ZMQ_EVENT_HANDSHAKE_FAILED_AUTH))
        /// Every event.
        public static let all = Kind(rawValue: UInt16(truncatingIfNeeded: ZMQ_EVENT_ALL))
    }

    /// What happened.
    public let kind: Kind
    /// Detail whose meaning depends on `kind` (a status code, an interval, a file descriptor).
    public let value: UInt32
    /// The endpoint concerned.
    public let endpoint: String

    public var description: String { "event 0x\(String(kind.rawValue, radix: 16)) value \(value) on \(endpoint)" }
}

/// Reads the connection events of one socket (`zmq_socket_monitor`), e.g. to let a worker report that the server refused its key.
///
/// libzmq publishes the events on an inproc PAIR socket; this type owns the reading end, so it
/// follows the same one-owner rule as any socket (normally the owner of the monitored socket).
public final class ZMQSocketMonitor: @unchecked Sendable {
    private let reader: ZMQSocket
    private static let counter = NSLock()
    nonisolated(unsafe) private static var nextID = 0

    /// Starts monitoring `socket` for `events`. Call it by the socket's owner, before `connect`
    /// or `bind` if the first events matter.
    public init(monitoring socket: ZMQSocket, events: ZMQSocketEvent.Kind = .all) throws {
        let id = Self.counter.withLock { () -> Int in Self.nextID += 1; return Self.nextID }
        let endpoint = "inproc://ntk-monitor-\(getpid())-\(id)"
        try socket.access.run("monitor") {
            if zmq_socket_monitor(try socket.openHandle("zmq_socket_monitor"), endpoint, Int32(events.rawValue)) != 0 {
                throw TransportError.last("zmq_socket_monitor")
            }
        }
        reader = try ZMQSocket(context: socket.context, kind: .pair)
        try reader.set(.linger, 0)
        try reader.connect(endpoint)
    }

    deinit { reader.close() }

    /// The next event, or `nil` if none occurs within `timeout`.
    public func next(timeout: Duration?) throws -> ZMQSocketEvent? {
        guard let message = try reader.receive(timeout: timeout), message.frames.count >= 2,
              message.frames[0].count >= 6 else { return nil }
        let header = message.frames[0].bytes
        let kind = header.loadUnaligned(fromByteOffset: 0, as: UInt16.self)
        let value = header.loadUnaligned(fromByteOffset: 2, as: UInt32.self)
        return ZMQSocketEvent(kind: ZMQSocketEvent.Kind(rawValue: kind), value: value,
                              endpoint: String(decoding: message.frames[1].bytes, as: UTF8.self))
    }

    /// Waits up to `timeout` for an event of one of the `kinds`, skipping others; `nil` if none came.
    public func wait(for kinds: ZMQSocketEvent.Kind, timeout: Duration) throws -> ZMQSocketEvent? {
        let deadline = ContinuousClock.now.advanced(by: timeout)
        while true {
            let left = deadline - ContinuousClock.now
            guard left > .zero, let event = try next(timeout: left) else { return nil }
            if !kinds.intersection(event.kind).isEmpty { return event }
        }
    }

    /// Stops reading events.
    public func close() { reader.close() }
}
