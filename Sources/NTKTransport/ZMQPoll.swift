import CZeroMQ
import Foundation

/// What `zmq_poll` can wait for on a socket: a message to read, room to write.
public struct ZMQPollEvents: OptionSet, Sendable {
    public let rawValue: Int16
    public init(rawValue: Int16) { self.rawValue = rawValue }
    /// At least one whole message can be received without blocking.
    public static let readable = ZMQPollEvents(rawValue: Int16(ZMQ_POLLIN))
    /// At least one message can be sent without blocking (for a ROUTER: to *some* peer).
    public static let writable = ZMQPollEvents(rawValue: Int16(ZMQ_POLLOUT))
}

/// Waits on several sockets at once with `zmq_poll` (for owners of more than one socket).
public enum ZMQPoll {
    /// Waits until one of `sockets` has one of its requested events or `timeout` passes
    /// (`nil`: forever); returns the events that occurred, in the order of `sockets`.
    ///
    /// The caller must own every socket passed (see `ZMQSocket`'s ownership rule).
    /// `EINTR` is retried with the time that is left.
    public static func wait(_ sockets: [(socket: ZMQSocket, events: ZMQPollEvents)],
                            timeout: Duration?) throws -> [ZMQPollEvents] {
        var items = try sockets.map { entry in
            zmq_pollitem_t(socket: try entry.socket.openHandle("zmq_poll"), fd: 0,
                           events: entry.events.rawValue, revents: 0)
        }
        try pollItems(&items, deadline: Deadline(timeout))
        return items.map { ZMQPollEvents(rawValue: $0.revents) }
    }

    /// `zmq_poll` until something happens or the deadline passes, retrying `EINTR`.
    static func pollItems(_ items: inout [zmq_pollitem_t], deadline: Deadline) throws {
        while true {
            let rc = items.withUnsafeMutableBufferPointer {
                zmq_poll($0.baseAddress, Int32($0.count), deadline.remainingMilliseconds)
            }
            if rc >= 0 { return }
            let code = zmq_errno()
            if code == EINTR {
                if deadline.hasPassed { return }
                continue
            }
            throw TransportError.from(code: code, operation: "zmq_poll")
        }
    }
}
