import Foundation
import NTKWire

/// One authentication decision of the ZAP handler: who tried to connect, and whether they were let in.
public struct ZAPDecision: Sendable, CustomStringConvertible {
    /// The client's CURVE public key (nil for a non-CURVE mechanism).
    public let publicKey: CurvePublicKey?
    /// The client's IP address as libzmq saw it.
    public let address: String
    /// The security mechanism the client used ("CURVE", "NULL", "PLAIN").
    public let mechanism: String
    /// Whether the connection was accepted ("200") or refused ("400").
    public let accepted: Bool
    /// When the decision was made.
    public let date: Date

    public var description: String {
        "\(accepted ? "accepted" : "refused") \(mechanism) client \(publicKey?.z85 ?? "-") from \(address)"
    }
}

/// The ZAP handler (ZeroMQ RFC 27) that admits only clients whose CURVE public key is on a list.
///
/// **How ZAP works.** When a CURVE client completes its handshake with a socket of this
/// context, libzmq asks whoever is bound to `inproc://zeromq.zap.01` — in the same context —
/// whether to accept it, sending the client's public key; the reply's status code decides
/// ("200" accepted, "400" refused). A refused client's connection never delivers a message to
/// the server socket; the client itself just keeps retrying its connection.
///
/// **Lifecycle — the part that is easy to get wrong.**
/// - Create the authenticator *before* the server socket binds: libzmq only asks ZAP if a
///   handler is bound when a handshake happens.
/// - Stop it only *after* closing the server socket. With no handler bound, libzmq 4.3 lets
///   every CURVE client in (encryption without authentication; measured), unless the server
///   socket sets `ZMQ_ZAP_ENFORCE_DOMAIN`. `ZMQServerTransport` does both for you.
/// - There can be only one handler per context (the inproc endpoint is exclusive).
/// - The handler runs on its own thread (named "ntk-zap"); `onDecision` is called there and must
///   be quick and thread-safe (typically: write a log line).
public final class ZAPAuthenticator: @unchecked Sendable {
    /// The well-known endpoint libzmq sends authentication requests to.
    public static let endpoint = "inproc://zeromq.zap.01"

    /// State shared by the handler thread and the owner, guarded by `lock`.
    private final class Shared: @unchecked Sendable {
        let lock = NSLock()
        var allowed: Set<Data>
        var acceptedCount = 0
        var refusedCount = 0
        var refusals: [ZAPDecision] = []
        var stopping = false
        let onDecision: (@Sendable (ZAPDecision) -> Void)?
        init(allowed: Set<Data>, onDecision: (@Sendable (ZAPDecision) -> Void)?) {
            self.allowed = allowed
            self.onDecision = onDecision
        }
    }

    /// The context whose CURVE servers this handler authenticates.
    public let context: ZMQContext
    private let shared: Shared
    private let finished = DispatchSemaphore(value: 0)
    private var running = true
    private let stopLock = NSLock()
    /// How many recent refusals `refusals` keeps.
    private static let refusalMemory = 100

    /// Binds the handler in `context` and starts its thread; clients whose public key is in
    /// `allowedKeys` are accepted, every other one refused.
    public init(context: ZMQContext, allowedKeys: some Sequence<CurvePublicKey>,
                onDecision: (@Sendable (ZAPDecision) -> Void)? = nil) throws {
        self.context = context
        self.shared = Shared(allowed: Set(allowedKeys.map(\.binary)), onDecision: onDecision)
        // Bind here, on the caller's thread, so that the handler exists when init returns
        // (a server socket bound right after must find it); the thread then owns the socket.
        let socket = try ZMQSocket(context: context, kind: .reply)
        try socket.set(.linger, 0)
        try socket.bind(Self.endpoint)
        let shared = self.shared
        let finished = self.finished
        let thread = Thread { Self.serve(socket: socket, shared: shared); finished.signal() }
        thread.name = "ntk-zap"
        thread.start()
    }

    deinit { stop() }

    /// Adds a client key to the allowed set (takes effect for the next handshake).
    public func allow(_ key: CurvePublicKey) {
        shared.lock.withLock { _ = shared.allowed.insert(key.binary) }
    }

    /// Removes a client key (connections already established stay up).
    public func revoke(_ key: CurvePublicKey) {
        shared.lock.withLock { _ = shared.allowed.remove(key.binary) }
    }

    /// Number of handshakes accepted so far.
    public var acceptedCount: Int { shared.lock.withLock { shared.acceptedCount } }
    /// Number of handshakes refused so far.
    public var refusedCount: Int { shared.lock.withLock { shared.refusedCount } }
    /// The most recent refusals (at most 100), oldest first.
    public var refusals: [ZAPDecision] { shared.lock.withLock { shared.refusals } }

    /// Stops the handler thread and unbinds it; waits for the thread to finish (at most ~50 ms).
    /// Close the server sockets of this context first (see the lifecycle notes above).
    public func stop() {
        let wasRunning = stopLock.withLock { () -> Bool in
            defer { running = false }
            return running
        }
        guard wasRunning else { return }
        shared.lock.withLock { shared.stopping = true }
        finished.wait()
    }

    /// The handler loop: wait briefly for a request, answer it, check whether to stop.
    /// The short poll keeps `stop()` prompt without a second wake-up socket.
    private static func serve(socket: ZMQSocket, shared: Shared) {
        defer { socket.close(linger: .zero) }
        while !shared.lock.withLock({ shared.stopping }) {
            let request: (identity: Data?, frames: [Frame])?
            do { request = try socket.receive(timeout: .milliseconds(50)) } catch { return }  // context terminated
            guard let frames = request?.frames else { continue }
            let reply = answer(frames, shared: shared)
            do { try socket.send(frames: reply) } catch { return }
        }
    }

    /// The reply to one ZAP request:
    /// request  = version "1.0", request id, domain, address, identity, mechanism, credentials…
    /// reply    = version "1.0", request id, status code, status text, user id, metadata.
    private static func answer(_ frames: [Frame], shared: Shared) -> [Frame] {
        func text(_ index: Int) -> String {
            index < frames.count ? String(decoding: frames[index].bytes, as: UTF8.self) : ""
        }
        let requestID = frames.count > 1 ? Data(frames[1].bytes) : Data()
        guard frames.count >= 6, text(0) == "1.0" else {
            return zapReply(requestID: requestID, status: "500", text: "malformed ZAP request")
        }
        let mechanism = text(5)
        var key: CurvePublicKey?
        if mechanism == "CURVE", frames.count >= 7, frames[6].count == 32 {
            key = try? CurvePublicKey(binary: Data(frames[6].bytes))
        }
        let decision: ZAPDecision = shared.lock.withLock {
            let accepted = key.map { shared.allowed.contains($0.binary) } ?? false
            let decision = ZAPDecision(publicKey: key, address: text(3), mechanism: mechanism, accepted: accepted, date: Date())
            if accepted {
                shared.acceptedCount += 1
            } else {
                shared.refusedCount += 1
                shared.refusals.append(decision)
                if shared.refusals.count > refusalMemory { shared.refusals.removeFirst() }
            }
            return decision
        }
        shared.onDecision?(decision)
        return decision.accepted
            ? zapReply(requestID: requestID, status: "200", text: "OK", userID: key?.z85 ?? "")
            : zapReply(requestID: requestID, status: "400", text: "public key not allowed")
    }

    private static func zapReply(requestID: Data, status: String, text: String, userID: String = "") -> [Frame] {
        [Frame(copying: Array("1.0".utf8)), Frame(copying: requestID), Frame(copying: Array(status.utf8)),
         Frame(copying: Array(text.utf8)), Frame(copying: Array(userID.utf8)), Frame(copying: [UInt8]())]
    }
}
