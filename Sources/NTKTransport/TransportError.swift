import CZeroMQ
import Foundation

/// Everything that can go wrong while moving frames, with the C library's own words where it has some.
///
/// libzmq reports failures through `errno`; we turn each one into a case the caller can act on
/// (`timedOut`: try again or give up; `unknownPeer`: the worker is not connected; `closed`: stop)
/// and keep the rest as `.zmq` with the text of `zmq_strerror`, which knows libzmq's own codes
/// (`ETERM`, `EFSM`, …) that the C library's `strerror` does not.
public enum TransportError: Error, Equatable, CustomStringConvertible {
    /// A libzmq call failed: which call, the errno value and `zmq_strerror`'s text for it.
    case zmq(operation: String, code: Int32, message: String)
    /// Nothing could be sent or received before the deadline.
    case timedOut(operation: String)
    /// A ROUTER was asked to send to an identity that is not connected (`EHOSTUNREACH`).
    case unknownPeer(PeerID)
    /// The socket or endpoint was closed, or its context shut down (`ETERM`).
    case closed(String)
    /// The caller asked for something that cannot work (an empty message, a bad identity, …).
    case invalidArgument(String)
    /// A key file could not be read, written or trusted.
    case keyFile(path: String, reason: String)
    /// This libzmq was built without CURVE (libsodium).
    case curveUnavailable

    public var description: String {
        switch self {
        case let .zmq(operation, code, message): return "\(operation) failed: \(message) (errno \(code))"
        case let .timedOut(operation): return "\(operation) timed out"
        case let .unknownPeer(peer): return "peer \(peer) is not connected"
        case let .closed(what): return "closed: \(what)"
        case let .invalidArgument(why): return "invalid argument: \(why)"
        case let .keyFile(path, reason): return "key file \(path): \(reason)"
        case .curveUnavailable: return "this libzmq has no CURVE support (built without libsodium)"
        }
    }

    /// The error libzmq just reported for `operation` (reads `zmq_errno()` at once: call it first).
    static func last(_ operation: String) -> TransportError {
        from(code: zmq_errno(), operation: operation)
    }

    /// Maps an errno value to the most useful case.
    static func from(code: Int32, operation: String) -> TransportError {
        if code == ETERM { return .closed("\(operation): the ZeroMQ context was terminated") }
        if code == ENOTSOCK { return .closed("\(operation): the socket is closed") }
        if code == EAGAIN { return .timedOut(operation: operation) }
        return .zmq(operation: operation, code: code, message: String(cString: zmq_strerror(code)))
    }
}
