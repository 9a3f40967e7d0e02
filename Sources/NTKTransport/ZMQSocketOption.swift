import CZeroMQ
import Foundation

// Raw socket options, typed by their C representation. `ZMQTransportOptions` builds on these to
// configure a socket in one call; this layer stays available for anything it does not cover.

extension ZMQSocket {
    /// A socket option whose C value is an `int`.
    public struct IntOption: Sendable {
        let code: Int32
        let name: String

        /// Milliseconds unsent messages are kept after `close` (-1 forever: can hang context termination).
        public static let linger = IntOption(code: ZMQ_LINGER, name: "ZMQ_LINGER")
        /// Most whole messages queued for sending per peer before `send` blocks (0: unlimited).
        public static let sendHighWaterMark = IntOption(code: ZMQ_SNDHWM, name: "ZMQ_SNDHWM")
        /// Most whole messages queued on receipt per peer before libzmq stops reading that peer.
        public static let receiveHighWaterMark = IntOption(code: ZMQ_RCVHWM, name: "ZMQ_RCVHWM")
        /// ROUTER: fail with EHOSTUNREACH instead of silently dropping messages to unknown identities.
        public static let routerMandatory = IntOption(code: ZMQ_ROUTER_MANDATORY, name: "ZMQ_ROUTER_MANDATORY")
        /// ROUTER: a new connection with an identity already in use takes it over (a restarted worker).
        public static let routerHandover = IntOption(code: ZMQ_ROUTER_HANDOVER, name: "ZMQ_ROUTER_HANDOVER")
        /// Milliseconds between ZMTP PING commands on an otherwise quiet connection (0: off).
        public static let heartbeatInterval = IntOption(code: ZMQ_HEARTBEAT_IVL, name: "ZMQ_HEARTBEAT_IVL")
        /// Milliseconds without any incoming message after a PING before the connection is dropped.
        public static let heartbeatTimeout = IntOption(code: ZMQ_HEARTBEAT_TIMEOUT, name: "ZMQ_HEARTBEAT_TIMEOUT")
        /// Milliseconds the *peer* may stay silent before dropping us (sent in our PINGs; 100 ms resolution).
        public static let heartbeatTTL = IntOption(code: ZMQ_HEARTBEAT_TTL, name: "ZMQ_HEARTBEAT_TTL")
        /// Milliseconds before the first reconnection attempt after a connection is lost or refused.
        public static let reconnectInterval = IntOption(code: ZMQ_RECONNECT_IVL, name: "ZMQ_RECONNECT_IVL")
        /// Upper bound of the exponential reconnection back-off, in milliseconds (0: no back-off).
        public static let reconnectIntervalMax = IntOption(code: ZMQ_RECONNECT_IVL_MAX, name: "ZMQ_RECONNECT_IVL_MAX")
        /// Milliseconds a connection may take for the ZMTP (and CURVE) handshake.
        public static let handshakeInterval = IntOption(code: ZMQ_HANDSHAKE_IVL, name: "ZMQ_HANDSHAKE_IVL")
        /// SO_KEEPALIVE: 1 on, 0 off, -1 the OS default.
        public static let tcpKeepalive = IntOption(code: ZMQ_TCP_KEEPALIVE, name: "ZMQ_TCP_KEEPALIVE")
        /// TCP_KEEPIDLE in seconds (-1: OS default).
        public static let tcpKeepaliveIdle = IntOption(code: ZMQ_TCP_KEEPALIVE_IDLE, name: "ZMQ_TCP_KEEPALIVE_IDLE")
        /// TCP_KEEPINTVL in seconds (-1: OS default).
        public static let tcpKeepaliveInterval = IntOption(code: ZMQ_TCP_KEEPALIVE_INTVL, name: "ZMQ_TCP_KEEPALIVE_INTVL")
        /// TCP_KEEPCNT (-1: OS default).
        public static let tcpKeepaliveCount = IntOption(code: ZMQ_TCP_KEEPALIVE_CNT, name: "ZMQ_TCP_KEEPALIVE_CNT")
        /// 1 makes this socket the CURVE server (it needs its secret key).
        public static let curveServer = IntOption(code: ZMQ_CURVE_SERVER, name: "ZMQ_CURVE_SERVER")
        /// 1 queues messages only on completed connections (0, the default, also on pending ones).
        public static let immediate = IntOption(code: ZMQ_IMMEDIATE, name: "ZMQ_IMMEDIATE")
        /// 1 refuses CURVE/PLAIN clients when no ZAP handler is bound, instead of admitting them all.
        /// zmq.h lists it among the draft options (code 93), but libzmq 4.3 honours it in every build.
        public static let zapEnforceDomain = IntOption(code: 93, name: "ZMQ_ZAP_ENFORCE_DOMAIN")
        /// The security mechanism negotiated (read-only): 0 NULL, 1 PLAIN, 2 CURVE.
        public static let mechanism = IntOption(code: ZMQ_MECHANISM, name: "ZMQ_MECHANISM")
    }

    /// A socket option whose C value is an `int64_t`.
    public struct Int64Option: Sendable {
        let code: Int32
        let name: String

        /// Largest inbound *frame* (not whole message) in bytes; a peer sending more is disconnected. -1: no limit.
        public static let maxMessageSize = Int64Option(code: ZMQ_MAXMSGSIZE, name: "ZMQ_MAXMSGSIZE")
    }

    /// A socket option whose C value is a byte string.
    public struct BytesOption: Sendable {
        let code: Int32
        let name: String

        /// DEALER: the identity the ROUTER will see (1–255 bytes, not starting with a zero byte); set before `connect`.
        public static let routingID = BytesOption(code: ZMQ_ROUTING_ID, name: "ZMQ_ROUTING_ID")
        /// This socket's long-term CURVE public key (32 bytes).
        public static let curvePublicKey = BytesOption(code: ZMQ_CURVE_PUBLICKEY, name: "ZMQ_CURVE_PUBLICKEY")
        /// This socket's long-term CURVE secret key (32 bytes).
        public static let curveSecretKey = BytesOption(code: ZMQ_CURVE_SECRETKEY, name: "ZMQ_CURVE_SECRETKEY")
        /// Client: the server's public key it expects (32 bytes).
        public static let curveServerKey = BytesOption(code: ZMQ_CURVE_SERVERKEY, name: "ZMQ_CURVE_SERVERKEY")
        /// The ZAP domain passed to the authentication handler.
        public static let zapDomain = BytesOption(code: ZMQ_ZAP_DOMAIN, name: "ZMQ_ZAP_DOMAIN")
        /// The endpoint last bound or connected, with `*` ports resolved (read-only, NUL-terminated text).
        public static let lastEndpoint = BytesOption(code: ZMQ_LAST_ENDPOINT, name: "ZMQ_LAST_ENDPOINT")
    }

    /// Sets an `int` option.
    public func set(_ option: IntOption, _ value: Int32) throws {
        try access.run("set") {
            var value = value
            if zmq_setsockopt(try openHandle(option.name), option.code, &value, MemoryLayout<Int32>.size) != 0 {
                throw TransportError.last("zmq_setsockopt(\(option.name))")
            }
        }
    }

    /// Reads an `int` option.
    public func get(_ option: IntOption) throws -> Int32 {
        try access.run("get") {
            var value: Int32 = 0
            var size = MemoryLayout<Int32>.size
            if zmq_getsockopt(try openHandle(option.name), option.code, &value, &size) != 0 {
                throw TransportError.last("zmq_getsockopt(\(option.name))")
            }
            return value
        }
    }

    /// Sets an `int64_t` option.
    public func set(_ option: Int64Option, _ value: Int64) throws {
        try access.run("set") {
            var value = value
            if zmq_setsockopt(try openHandle(option.name), option.code, &value, MemoryLayout<Int64>.size) != 0 {
                throw TransportError.last("zmq_setsockopt(\(option.name))")
            }
        }
    }

    /// Reads an `int64_t` option.
    public func get(_ option: Int64Option) throws -> Int64 {
        try access.run("get") {
            var value: Int64 = 0
            var size = MemoryLayout<Int64>.size
            if zmq_getsockopt(try openHandle(option.name), option.code, &value, &size) != 0 {
                throw TransportError.last("zmq_getsockopt(\(option.name))")
            }
            return value
        }
    }

    /// Sets a byte-string option.
    public func set(_ option: BytesOption, _ value: Data) throws {
        try access.run("set") {
            let socket = try openHandle(option.name)
            let rc = value.withUnsafeBytes { zmq_setsockopt(socket, option.code, $0.baseAddress, $0.count) }
            if rc != 0 { throw TransportError.last("zmq_setsockopt(\(option.name))") }
        }
    }

    /// Reads a byte-string option (at most 256 bytes, enough for identities, keys and endpoints).
    public func get(_ option: BytesOption) throws -> Data {
        try access.run("get") {
            var buffer = [UInt8](repeating: 0, count: 256)
            var size = buffer.count
            if zmq_getsockopt(try openHandle(option.name), option.code, &buffer, &size) != 0 {
                throw TransportError.last("zmq_getsockopt(\(option.name))")
            }
            return Data(buffer[0..<size])
        }
    }

    /// The endpoint actually bound or connected last, e.g. `tcp://127.0.0.1:41234` after binding `…:*`.
    public var lastEndpoint: String {
        get throws {
            let bytes = try get(.lastEndpoint)
            return String(decoding: bytes.prefix { $0 != 0 }, as: UTF8.self)
        }
    }

    /// Sets the identity a ROUTER will know this DEALER by (call before `connect`).
    ///
    /// ZeroMQ identities are 1–255 bytes and must not start with a zero byte (libzmq reserves
    /// those for identities it generates itself).
    public func setRoutingID(_ identity: Data) throws {
        guard (1...255).contains(identity.count), identity.first != 0 else {
            throw TransportError.invalidArgument("a routing identity has 1 to 255 bytes and does not start with 0x00")
        }
        try set(.routingID, identity)
    }
}
