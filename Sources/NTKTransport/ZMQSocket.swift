import CZeroMQ
import Foundation
import NTKWire

/// One ZeroMQ socket (ROUTER on the server, DEALER on a worker) sending and receiving multipart messages of `Frame`s.
///
/// **Ownership rule.** A ZeroMQ socket is not thread-safe: exactly one thread (or actor, or serial
/// queue) uses it at a time. Moving it to another owner is fine; two concurrent calls are a
/// programming error and trap (see `ExclusiveAccess`). To stop an owner blocked in `receive`
/// from elsewhere, call `ZMQContext.shutdown()`, never `close()` from another thread.
///
/// **Messages.** A message is a list of frames delivered all or nothing (libzmq's multipart
/// atomicity). A ROUTER prefixes every message with the sender's routing identity; this wrapper
/// strips it into `identity` on receive and takes it as the `to` argument on send, so frames
/// are always the application's own. A DEALER has no identity frame.
///
/// **Copies.** Frames of at least `zeroCopyThreshold` bytes are sent by reference
/// (`zmq_msg_init_data`); received frames point into the `zmq_msg_t` libzmq filled, without copy.
///
/// **Blocking.** `send` and `receive` take a timeout (`nil`: wait forever); `EINTR` is retried
/// with the time left, and a timeout is reported as `nil` (receive) or `TransportError.timedOut` (send).
public final class ZMQSocket: @unchecked Sendable {
    /// A socket pattern, as libzmq numbers them.
    public struct Kind: Equatable, Sendable, CustomStringConvertible {
        let code: Int32
        public let description: String

        /// The server side: many peers, each message tagged with its sender's identity.
        public static let router = Kind(code: ZMQ_ROUTER, description: "ROUTER")
        /// The worker side: one logical peer (the server), asynchronous in both directions.
        public static let dealer = Kind(code: ZMQ_DEALER, description: "DEALER")
        /// Strict request/reply responder (the ZAP handler uses it).
        static let reply = Kind(code: ZMQ_REP, description: "REP")
        /// One-to-one pipe (socket monitors use it).
        static let pair = Kind(code: ZMQ_PAIR, description: "PAIR")
    }

    /// The socket pattern.
    public let kind: Kind
    /// The context whose I/O threads serve this socket (kept alive by the socket).
    public let context: ZMQContext
    /// Frames at least this long are sent zero-copy; shorter ones are copied into the message.
    public var zeroCopyThreshold: Int = 64 * 1024

    private var handle: UnsafeMutableRawPointer?
    let access: ExclusiveAccess
    /// The ZMQ_SNDTIMEO currently set, so that `send` changes it only when the deadline differs.
    private var currentSendTimeout: Int32 = -1

    /// Creates an unconnected socket of the given kind.
    public init(context: ZMQContext, kind: Kind) throws {
        guard let handle = zmq_socket(context.handle, kind.code) else {
            throw TransportError.last("zmq_socket(\(kind))")
        }
        self.kind = kind
        self.context = context
        self.handle = handle
        self.access = ExclusiveAccess(name: "ZMQSocket(\(kind))")
    }

    deinit {
        if let handle { zmq_close(handle) }
    }

    // MARK: Endpoints

    /// Listens on `endpoint` (e.g. `tcp://0.0.0.0:5555`, or `tcp://127.0.0.1:*` for a free port:
    /// read the one chosen from `lastEndpoint`).
    public func bind(_ endpoint: String) throws {
        try access.run("bind") {
            let socket = try openHandle("zmq_bind")
            if zmq_bind(socket, endpoint) != 0 { throw TransportError.last("zmq_bind(\(endpoint))") }
        }
    }

    /// Connects to `endpoint`. Returns at once: libzmq connects in the background and keeps
    /// reconnecting (`ZMQ_RECONNECT_IVL` … `_MAX`) whenever the connection is lost.
    public func connect(_ endpoint: String) throws {
        try access.run("connect") {
            let socket = try openHandle("zmq_connect")
            if zmq_connect(socket, endpoint) != 0 { throw TransportError.last("zmq_connect(\(endpoint))") }
        }
    }

    /// Stops listening on `endpoint` (as given to `bind`, or as resolved by `lastEndpoint`).
    public func unbind(_ endpoint: String) throws {
        try access.run("unbind") {
            let socket = try openHandle("zmq_unbind")
            if zmq_unbind(socket, endpoint) != 0 { throw TransportError.last("zmq_unbind(\(endpoint))") }
        }
    }

    /// Drops the connection to `endpoint` and stops reconnecting to it.
    public func disconnect(_ endpoint: String) throws {
        try access.run("disconnect") {
            let socket = try openHandle("zmq_disconnect")
            if zmq_disconnect(socket, endpoint) != 0 { throw TransportError.last("zmq_disconnect(\(endpoint))") }
        }
    }

    /// Closes the socket. Unsent messages are still delivered in the background for up to the
    /// linger time (`linger` overrides the socket's ZMQ_LINGER for this close); the context's
    /// termination waits for them. Closing twice is harmless.
    public func close(linger: Duration? = nil) {
        access.run("close") {
            guard let socket = handle else { return }
            if let linger {
                var value = linger.zmqMilliseconds
                zmq_setsockopt(socket, ZMQ_LINGER, &value, MemoryLayout<Int32>.size)
            }
            zmq_close(socket)
            handle = nil
        }
    }

    /// Whether `close()` has been called.
    public var isClosed: Bool { access.run("isClosed") { handle == nil } }

    /// The live libzmq handle, or `.closed` (callers hold `access`, or own the socket per the rule).
    func openHandle(_ operation: String) throws -> UnsafeMutableRawPointer {
        guard let handle else { throw TransportError.closed("\(operation) on a closed \(kind) socket") }
        return handle
    }

    // MARK: Sending

    /// Sends one multipart message. For a ROUTER, `identity` names the peer (required); a DEALER
    /// must pass `nil`. Waits at most `timeout` for room in the peer's queue (its high-water
    /// mark), or forever if `nil`.
    ///
    /// Returning means libzmq has taken the message, not that it reached the peer: zero-copy
    /// frames are released later, from an I/O thread, once written. A ROUTER with
    /// ROUTER_MANDATORY throws `unknownPeer` for an identity that is not connected (without it,
    /// libzmq would drop the message silently).
    public func send(frames: [Frame], to identity: Data? = nil, timeout: Duration? = nil) throws {
        try access.run("send") {
            let socket = try openHandle("send")
            if kind == .router {
                guard let identity else { throw TransportError.invalidArgument("a ROUTER send needs the peer's identity") }
                guard !identity.isEmpty else { throw TransportError.invalidArgument("empty peer identity") }
            } else if identity != nil {
                throw TransportError.invalidArgument("only a ROUTER addresses peers by identity")
            }
            guard !frames.isEmpty else { throw TransportError.invalidArgument("a message needs at least one frame") }

            // Build every part before sending any: a failure while building (out of memory) then
            // leaves no half-sent message behind, which would otherwise glue itself to the next send.
            let count = frames.count + (identity == nil ? 0 : 1)
            let parts = UnsafeMutablePointer<zmq_msg_t>.allocate(capacity: count)
            parts.initialize(repeating: zmq_msg_t(), count: count)
            var built = 0
            defer {
                // Sent parts are already empty; closing unsent ones releases their retained frames.
                for index in 0..<built { zmq_msg_close(parts + index) }
                parts.deallocate()
            }
            if let identity {
                try initializeOutgoing(parts, copying: identity)
                built += 1
            }
            for frame in frames {
                try initializeOutgoing(parts + built, with: frame, zeroCopyThreshold: zeroCopyThreshold)
                built += 1
            }

            let deadline = Deadline(timeout)
            for index in 0..<count {
                try sendPart(parts + index, socket: socket, more: index + 1 < count, deadline: deadline, peer: identity)
            }
        }
    }

    /// Sends one initialized part, retrying `EINTR` with the time left.
    ///
    /// The first part is where libzmq routes and checks the high-water mark; once it is accepted,
    /// the rest of the message is accepted without blocking (HWM counts whole messages), so only
    /// the first part can time out or find its peer missing.
    private func sendPart(_ message: UnsafeMutablePointer<zmq_msg_t>, socket: UnsafeMutableRawPointer,
                          more: Bool, deadline: Deadline, peer: Data?) throws {
        while true {
            try setSendTimeout(Int32(clamping: deadline.remainingMilliseconds), socket: socket)
            if zmq_msg_send(message, socket, more ? ZMQ_SNDMORE : 0) >= 0 { return }
            let code = zmq_errno()
            switch code {
            case EINTR:
                continue  // a signal interrupted the wait: go on with the time that is left
            case EAGAIN:
                throw TransportError.timedOut(operation: "send to \(peer.map { PeerID($0).description } ?? "server")")
            case EHOSTUNREACH:
                throw TransportError.unknownPeer(PeerID(peer ?? Data()))
            default:
                throw TransportError.from(code: code, operation: "zmq_msg_send")
            }
        }
    }

    private func setSendTimeout(_ milliseconds: Int32, socket: UnsafeMutableRawPointer) throws {
        guard milliseconds != currentSendTimeout else { return }
        var value = milliseconds
        if zmq_setsockopt(socket, ZMQ_SNDTIMEO, &value, MemoryLayout<Int32>.size) != 0 {
            throw TransportError.last("zmq_setsockopt(ZMQ_SNDTIMEO)")
        }
        currentSendTimeout = milliseconds
    }

    // MARK: Receiving

    /// Receives one whole multipart message, waiting at most `timeout` (`nil`: forever).
    /// Returns `nil` if none arrived in time. For a ROUTER, `identity` is the sender's routing id;
    /// for a DEALER it is `nil`. The frames point into libzmq's buffers: no copy.
    public func receive(timeout: Duration?) throws -> (identity: Data?, frames: [Frame])? {
        try access.run("receive") {
            let socket = try openHandle("receive")
            let deadline = Deadline(timeout)

            // First part: try at once (cheap when messages are queued), otherwise poll and try again.
            // A poll can report readable and the read still find nothing (another event raced it),
            // so the loop re-polls with the time that is left rather than trusting the poll.
            let first = ZMQMessageBox()
            while true {
                if zmq_msg_recv(first.message, socket, ZMQ_DONTWAIT) >= 0 { break }
                let code = zmq_errno()
                if code == EINTR { continue }
                guard code == EAGAIN else { throw TransportError.from(code: code, operation: "zmq_msg_recv") }
                if deadline.hasPassed { return nil }
                var item = [zmq_pollitem_t(socket: socket, fd: 0, events: Int16(ZMQ_POLLIN), revents: 0)]
                try ZMQPoll.pollItems(&item, deadline: deadline)
                if item[0].revents == 0 && deadline.hasPassed { return nil }
            }

            // The other parts are already here (multipart atomicity): blocking reads return at once.
            var parts = [first]
            var last = first
            while last.hasMore {
                let next = ZMQMessageBox()
                while zmq_msg_recv(next.message, socket, 0) < 0 {
                    let code = zmq_errno()
                    if code != EINTR { throw TransportError.from(code: code, operation: "zmq_msg_recv") }
                }
                parts.append(next)
                last = next
            }

            if kind == .router {
                // Copy the identity while its box is certainly alive: the bytes of a short message live
                // inside the zmq_msg_t itself, and Swift may free a temporary right after `.bytes`.
                let box = parts.removeFirst()
                let identity = withExtendedLifetime(box) { Data(box.bytes) }
                return (identity, parts.map { $0.frame() })
            }
            return (nil, parts.map { $0.frame() })
        }
    }

    /// Waits until the socket can receive (`.readable`) or send (`.writable`), or until `timeout`;
    /// returns the events that are ready (empty on timeout).
    public func poll(_ events: ZMQPollEvents, timeout: Duration?) throws -> ZMQPollEvents {
        try access.run("poll") {
            var item = [zmq_pollitem_t(socket: try openHandle("zmq_poll"), fd: 0, events: events.rawValue, revents: 0)]
            try ZMQPoll.pollItems(&item, deadline: Deadline(timeout))
            return ZMQPollEvents(rawValue: item[0].revents)
        }
    }
}
