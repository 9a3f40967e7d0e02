import Foundation

/// The socket settings a federated run needs, with defaults chosen for Jacobian blocks of tens to hundreds of MiB.
///
/// Each field documents what goes wrong when it is set badly; `apply(to:)` writes them all to a socket.
public struct ZMQTransportOptions: Sendable {
    /// ZMTP heartbeats: PING/PONG commands inside the connection that detect a dead peer
    /// (host down, cable pulled) which TCP alone would notice only after minutes.
    public struct Heartbeat: Sendable {
        /// Time between PINGs when the connection is otherwise quiet.
        public var interval: Duration
        /// Time without any complete incoming message after a PING before the connection is dropped.
        ///
        /// libzmq resets this timer on each *complete* frame received, not on partial reads: it
        /// must exceed the time the largest frame takes to arrive (a 1 GiB frame at 0.4 GB/s
        /// with CURVE takes 2.7 s), or large transfers are cut in the middle.
        public var timeout: Duration
        /// Time the peer may wait for our traffic before it drops us (told to it inside our PINGs).
        public var ttl: Duration

        /// Heartbeats with the given interval, timeout and time-to-live.
        public init(interval: Duration = .seconds(1), timeout: Duration = .seconds(15), ttl: Duration = .seconds(15)) {
            self.interval = interval
            self.timeout = timeout
            self.ttl = ttl
        }
    }

    /// Automatic reconnection of a connecting socket: the first retry after `initial`, doubling up to `maximum`.
    public struct Reconnect: Sendable {
        /// Delay before the first reconnection attempt.
        public var initial: Duration
        /// Ceiling of the exponential back-off (equal to `initial`: no back-off).
        public var maximum: Duration

        /// Reconnection starting after `initial` and backing off up to `maximum`.
        public init(initial: Duration = .milliseconds(100), maximum: Duration = .seconds(5)) {
            self.initial = initial
            self.maximum = maximum
        }
    }

    /// TCP keep-alive probes, for middleboxes (NAT, firewalls) that forget idle connections.
    public struct TCPKeepalive: Sendable {
        /// Idle time before the first probe.
        public var idle: Duration
        /// Time between probes.
        public var interval: Duration
        /// Unanswered probes before the OS drops the connection.
        public var count: Int32

        /// Keep-alive after `idle`, probing every `interval`, giving up after `count` probes.
        public init(idle: Duration = .seconds(60), interval: Duration = .seconds(10), count: Int32 = 6) {
            self.idle = idle
            self.interval = interval
            self.count = count
        }
    }

    /// How long `close` keeps trying to deliver queued messages. A worker that closes right
    /// after sending its last block loses it if this is shorter than the transfer; infinite
    /// (`nil`) would make process exit hang when the server is gone.
    public var linger: Duration? = .seconds(2)
    /// Messages (not bytes) queued per peer for sending before `send` blocks. With zero-copy,
    /// every queued frame keeps its memory alive: 8 × a 512 MiB block is 4 GiB held.
    public var sendHighWaterMark: Int32 = 8
    /// Messages queued per peer on receipt before libzmq stops reading from that peer (back-pressure).
    public var receiveHighWaterMark: Int32 = 8
    /// Largest frame accepted from a peer, in bytes (`nil`: no limit). libzmq checks each frame,
    /// not the sum of a multipart message, and disconnects the peer that exceeds it: the
    /// offending message is lost, and the sender only sees its connection restart.
    public var maxFrameSize: Int64? = 1 << 30
    /// ZMTP heartbeats (`nil`: off, the default).
    ///
    /// Off because they mistake back-pressure for death: a server busy computing stops reading, the
    /// high-water marks fill, the peer's PING stays unread in TCP's buffers, and after the timeout
    /// (or the TTL) libzmq drops a healthy connection. The reconnecting worker takes its identity over
    /// (ROUTER_HANDOVER) and whatever was still queued in the old pipe reaches the server under a
    /// generated routing id: a block lost in the middle (`BusyServerTests`). The protocol's own
    /// heartbeats (docs/protocol.md §10) are read with the other messages and judge liveness instead;
    /// TCP keep-alive covers connections that die silently.
    public var heartbeat: Heartbeat? = nil
    /// Automatic reconnection of DEALERs.
    public var reconnect: Reconnect = Reconnect()
    /// TCP keep-alive (`nil`: the OS default).
    public var tcpKeepalive: TCPKeepalive? = TCPKeepalive()
    /// How long a connection may take to complete its handshake (CURVE included).
    public var handshakeTimeout: Duration = .seconds(10)
    /// Frames at least this long travel zero-copy; shorter frames are copied (cheaper for small ones).
    public var zeroCopyThreshold: Int = 64 * 1024
    /// Default wait of the transports' `send` when the peer's queue is full (`nil`: forever).
    public var sendTimeout: Duration? = .seconds(30)

    /// The defaults documented on each field.
    public init() {}

    /// Writes every option to `socket`; call before `bind`/`connect` (libzmq applies most
    /// options to connections made afterwards only).
    public func apply(to socket: ZMQSocket) throws {
        try socket.set(.linger, linger.map { $0.zmqMilliseconds } ?? -1)
        try socket.set(.sendHighWaterMark, sendHighWaterMark)
        try socket.set(.receiveHighWaterMark, receiveHighWaterMark)
        try socket.set(.maxMessageSize, maxFrameSize ?? -1)
        if let heartbeat {
            try socket.set(.heartbeatInterval, heartbeat.interval.zmqMilliseconds)
            try socket.set(.heartbeatTimeout, heartbeat.timeout.zmqMilliseconds)
            try socket.set(.heartbeatTTL, heartbeat.ttl.zmqMilliseconds)
        }
        try socket.set(.reconnectInterval, reconnect.initial.zmqMilliseconds)
        try socket.set(.reconnectIntervalMax, reconnect.maximum.zmqMilliseconds)
        if let keepalive = tcpKeepalive {
            try socket.set(.tcpKeepalive, 1)
            try socket.set(.tcpKeepaliveIdle, Int32(clamping: Int(keepalive.idle.seconds.rounded(.up))))
            try socket.set(.tcpKeepaliveInterval, Int32(clamping: Int(keepalive.interval.seconds.rounded(.up))))
            try socket.set(.tcpKeepaliveCount, keepalive.count)
        }
        try socket.set(.handshakeInterval, handshakeTimeout.zmqMilliseconds)
        socket.zeroCopyThreshold = zeroCopyThreshold
    }
}
