import Foundation
import NTKWire

/// An in-memory network of one server endpoint and any number of worker endpoints, behaving like a ROUTER with DEALERs.
///
/// It exists so that the server's round logic can be tested without sockets, and so that those
/// tests mean something for the real system: the endpoints implement `ServerTransport` and
/// `WorkerTransport` with the same observable rules as the ZeroMQ ones —
/// - messages are delivered whole, in order per sender, and frames are passed by reference;
/// - sending to an identity that is not connected throws `unknownPeer`;
/// - each queue holds at most `capacity` messages (the high-water mark): `send` waits for room,
///   then throws `timedOut`;
/// - a worker connecting with an identity already in use takes it over (ROUTER_HANDOVER): the
///   old endpoint is closed and its unread messages dropped;
/// - the server can be closed and bound again (a restart): messages already delivered to the
///   old server are lost, messages sent while no server is bound wait for the next one, and
///   workers stay connected (ZeroMQ's automatic reconnection).
///
/// All endpoints may be used from different threads; one lock and one condition variable guard
/// the whole hub, which is plenty for tests.
public final class InProcessHub: @unchecked Sendable {
    /// Queue sizes and waiting times.
    public struct Options: Sendable {
        /// Messages per queue (per worker in each direction). A ZeroMQ message waits in the sender's
        /// queue (send HWM) and then the receiver's (receive HWM), so the default, 16, matches the
        /// 8 + 8 of `ZMQTransportOptions` (ZeroMQ also has kernel socket buffers on top).
        public var capacity: Int
        /// Default wait of `send` for room in a full queue (`nil`: forever).
        public var sendTimeout: Duration?

        /// Options with the given capacity and send timeout.
        public init(capacity: Int = 16, sendTimeout: Duration? = .seconds(30)) {
            self.capacity = capacity
            self.sendTimeout = sendTimeout
        }
    }

    private struct Envelope {
        let peer: PeerID
        let frames: [Frame]
    }

    private struct WorkerSlot {
        let generation: Int
        var inbox: [[Frame]] = []
    }

    /// The queue and delivery rules.
    public let options: Options
    private let condition = NSCondition()
    private var serverGeneration: Int?
    private var toServer: [Envelope] = []
    private var workers: [PeerID: WorkerSlot] = [:]
    private var nextGeneration = 0

    /// An empty hub: bind the server and connect workers, in any order.
    public init(options: Options = Options()) {
        self.options = options
    }

    /// Creates the server endpoint. Only one can be bound at a time (like a TCP port).
    public func bindServer() throws -> InProcessServerTransport {
        try condition.locked {
            guard serverGeneration == nil else {
                throw TransportError.zmq(operation: "bindServer", code: EADDRINUSE, message: "the hub already has a server")
            }
            nextGeneration += 1
            serverGeneration = nextGeneration
            return InProcessServerTransport(hub: self, generation: nextGeneration)
        }
    }

    /// Connects a worker named `identity`; an existing worker of that name is replaced.
    public func connectWorker(_ identity: PeerID) -> InProcessWorkerTransport {
        condition.locked {
            nextGeneration += 1
            workers[identity] = WorkerSlot(generation: nextGeneration)
            condition.broadcast()  // wakes an old endpoint's receive so that it sees it was closed
            return InProcessWorkerTransport(hub: self, identity: identity, generation: nextGeneration)
        }
    }

    /// Convenience for a worker named by a string.
    public func connectWorker(_ name: String) -> InProcessWorkerTransport { connectWorker(PeerID(name)) }

    /// The identities currently connected, sorted by their bytes.
    public var connectedWorkers: [PeerID] {
        condition.locked { workers.keys.sorted { $0.bytes.lexicographicallyPrecedes($1.bytes) } }
    }

    // MARK: Operations of the endpoints (all under the lock)

    fileprivate func serverSend(_ frames: [Frame], to peer: PeerID, generation: Int, timeout: Duration?) throws {
        guard !frames.isEmpty else { throw TransportError.invalidArgument("a message needs at least one frame") }
        let deadline = Deadline(timeout)
        try condition.locked {
            while true {
                guard serverGeneration == generation else { throw TransportError.closed("in-process server endpoint") }
                guard var slot = workers[peer] else { throw TransportError.unknownPeer(peer) }
                if slot.inbox.count < options.capacity {
                    slot.inbox.append(frames)
                    workers[peer] = slot
                    condition.broadcast()
                    return
                }
                if !condition.wait(until: deadline.date) && deadline.hasPassed {
                    throw TransportError.timedOut(operation: "send to \(peer)")
                }
            }
        }
    }

    fileprivate func serverReceive(generation: Int, timeout: Duration?) throws -> (peer: PeerID, frames: [Frame])? {
        let deadline = Deadline(timeout)
        return try condition.locked {
            while true {
                guard serverGeneration == generation else { throw TransportError.closed("in-process server endpoint") }
                if !toServer.isEmpty {
                    let envelope = toServer.removeFirst()
                    condition.broadcast()  // room for a waiting sender
                    return (envelope.peer, envelope.frames)
                }
                if !condition.wait(until: deadline.date) && deadline.hasPassed { return nil }
            }
        }
    }

    fileprivate func serverClose(generation: Int) {
        condition.locked {
            guard serverGeneration == generation else { return }
            serverGeneration = nil
            toServer.removeAll()  // what the old server had received but not read dies with it
            condition.broadcast()
        }
    }

    fileprivate func workerSend(_ frames: [Frame], from peer: PeerID, generation: Int, timeout: Duration?) throws {
        guard !frames.isEmpty else { throw TransportError.invalidArgument("a message needs at least one frame") }
        let deadline = Deadline(timeout)
        try condition.locked {
            while true {
                guard workers[peer]?.generation == generation else { throw TransportError.closed("in-process worker endpoint \(peer)") }
                if toServer.lazy.filter({ $0.peer == peer }).count < options.capacity {
                    toServer.append(Envelope(peer: peer, frames: frames))
                    condition.broadcast()
                    return
                }
                if !condition.wait(until: deadline.date) && deadline.hasPassed {
                    throw TransportError.timedOut(operation: "send to server")
                }
            }
        }
    }

    fileprivate func workerReceive(_ peer: PeerID, generation: Int, timeout: Duration?) throws -> [Frame]? {
        let deadline = Deadline(timeout)
        return try condition.locked {
            while true {
                guard var slot = workers[peer], slot.generation == generation else {
                    throw TransportError.closed("in-process worker endpoint \(peer)")
                }
                if !slot.inbox.isEmpty {
                    let frames = slot.inbox.removeFirst()
                    workers[peer] = slot
                    condition.broadcast()
                    return frames
                }
                if !condition.wait(until: deadline.date) && deadline.hasPassed { return nil }
            }
        }
    }

    fileprivate func workerClose(_ peer: PeerID, generation: Int) {
        condition.locked {
            guard workers[peer]?.generation == generation else { return }
            workers[peer] = nil
            condition.broadcast()
        }
    }
}

/// The server's endpoint of an `InProcessHub`.
public final class InProcessServerTransport: ServerTransport, @unchecked Sendable {
    private let hub: InProcessHub
    private let generation: Int

    fileprivate init(hub: InProcessHub, generation: Int) {
        self.hub = hub
        self.generation = generation
    }

    /// Sends to `peer`, waiting at most the hub's `sendTimeout` for room.
    public func send(_ frames: [Frame], to peer: PeerID) throws {
        try hub.serverSend(frames, to: peer, generation: generation, timeout: hub.options.sendTimeout)
    }

    /// The next message from any worker, or `nil` after `timeout`.
    public func receive(timeout: Duration?) throws -> (peer: PeerID, frames: [Frame])? {
        try hub.serverReceive(generation: generation, timeout: timeout)
    }

    /// Unbinds the server; the hub can bind a new one.
    public func close() { hub.serverClose(generation: generation) }
}

/// A worker's endpoint of an `InProcessHub`.
public final class InProcessWorkerTransport: WorkerTransport, @unchecked Sendable {
    private let hub: InProcessHub
    private let generation: Int
    /// The identity the server sees.
    public let identity: PeerID

    fileprivate init(hub: InProcessHub, identity: PeerID, generation: Int) {
        self.hub = hub
        self.identity = identity
        self.generation = generation
    }

    /// Sends to the server (held until a server is bound), waiting at most the hub's `sendTimeout` for room.
    public func send(_ frames: [Frame]) throws {
        try hub.workerSend(frames, from: identity, generation: generation, timeout: hub.options.sendTimeout)
    }

    /// The next message from the server, or `nil` after `timeout`.
    public func receive(timeout: Duration?) throws -> [Frame]? {
        try hub.workerReceive(identity, generation: generation, timeout: timeout)
    }

    /// Disconnects the worker; the server's sends to it then fail with `unknownPeer`.
    public func close() { hub.workerClose(identity, generation: generation) }
}

extension NSCondition {
    /// Runs `body` holding the condition's lock.
    fileprivate func locked<T>(_ body: () throws -> T) rethrows -> T {
        lock()
        defer { unlock() }
        return try body()
    }
}
