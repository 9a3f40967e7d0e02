import Foundation
import NTKWire

/// Measures how fast blocks move from several DEALERs to one ROUTER over tcp loopback (for `ntk bench transfer`).
///
/// Each sender thread owns a DEALER in its own context (as a separate worker process would) and
/// sends the same block again and again, zero-copy, so that the figure is the transport's and not
/// the cost of filling memory. The server owns a ROUTER and counts bytes. Before the clock starts,
/// every sender says hello and waits for "go", so that connection set-up (and the CURVE
/// handshake) is not timed. The receiving side pays what a real server pays: one fresh
/// allocation per frame, filled by the kernel copy from the socket.
///
/// Measured on the 2-core development machine (release build, 4 senders, 64 MiB blocks, 32 per
/// sender plain and 8 with CURVE, three runs; the senders share the machine's two cores):
///
/// | server I/O threads | plain (zero-copy) | CURVE          |
/// |--------------------|-------------------|----------------|
/// | 1                  | 1.12–1.65 GB/s    | 0.36–0.48 GB/s |
/// | 2                  | 1.73–2.11 GB/s    | 0.52–0.56 GB/s |
///
/// DESIGN.md §4 expects 1.5–2.0 GB/s plain and 0.35–0.5 GB/s with CURVE. Runs vary by ±20%;
/// compare configurations within one run (`NTK_TRANSPORT_BENCH=1 swift test -c release --filter TransferBenchmarkTests`).
public enum TransferBenchmark {
    /// What to measure.
    public struct Configuration: Sendable {
        /// Number of sending threads (workers).
        public var senders = 4
        /// Bytes per block (one frame).
        public var blockBytes = 64 << 20
        /// Blocks each sender sends.
        public var blocksPerSender = 8
        /// Whether to encrypt with CURVE (with ZAP authentication of the senders' keys).
        public var curve = false
        /// I/O threads of the server's context.
        public var serverIOThreads = ZMQContext.recommendedIOThreads
        /// I/O threads of each sender's context.
        public var senderIOThreads = 1

        /// The defaults: 4 senders × 8 blocks of 64 MiB, no encryption, one I/O thread.
        public init() {}
    }

    /// What was measured.
    public struct Result: Sendable, CustomStringConvertible {
        /// The configuration measured.
        public let configuration: Configuration
        /// Payload bytes received by the server during the timed phase.
        public let bytes: Int
        /// Seconds from "go" to the last block received.
        public let seconds: Double
        /// Throughput in 10⁹ bytes per second.
        public var gigabytesPerSecond: Double { Double(bytes) / seconds / 1e9 }

        public var description: String {
            let c = configuration
            return String(format: "%d senders × %d blocks × %d MiB%@, server I/O threads %d: %.2f GB in %.3f s = %.2f GB/s",
                          c.senders, c.blocksPerSender, c.blockBytes >> 20, c.curve ? " (CURVE)" : "",
                          c.serverIOThreads, Double(bytes) / 1e9, seconds, gigabytesPerSecond)
        }
    }

    /// Runs one measurement (blocking; a few seconds for the defaults).
    public static func run(_ configuration: Configuration = Configuration()) throws -> Result {
        let options: ZMQTransportOptions = {
            var options = ZMQTransportOptions()
            options.maxFrameSize = Int64(configuration.blockBytes) + 1024
            options.linger = .zero
            return options
        }()

        let serverKeys = configuration.curve ? try CurveKeyPair.generate() : nil
        let senderKeys = configuration.curve ? try (0..<configuration.senders).map { _ in try CurveKeyPair.generate() } : []
        let server = try ZMQServerTransport(
            bind: "tcp://127.0.0.1:*", context: ZMQContext(ioThreads: configuration.serverIOThreads), options: options,
            curve: serverKeys.map { CurveServerSecurity(keyPair: $0, clients: .only(Set(senderKeys.map(\.publicKey)))) })
        defer { server.close() }

        // One block, shared read-only by every sender and every send.
        let storage = UnsafeMutableRawBufferPointer.allocate(byteCount: configuration.blockBytes, alignment: 64)
        for index in stride(from: 0, to: storage.count, by: 4096) { storage[index] = UInt8(truncatingIfNeeded: index >> 12) }
        let block = Frame(bytes: UnsafeRawBufferPointer(storage), owner: nil, release: { storage.deallocate() })

        let failures = FailureList()
        let group = DispatchGroup()
        for senderIndex in 0..<configuration.senders {
            group.enter()
            let thread = Thread {
                defer { group.leave() }
                do {
                    let worker = try ZMQWorkerTransport(
                        connect: server.endpoint, identity: "bench-\(senderIndex)",
                        context: ZMQContext(ioThreads: configuration.senderIOThreads), options: options,
                        curve: serverKeys.map { CurveClientSecurity(serverPublicKey: $0.publicKey, keyPair: senderKeys[senderIndex]) })
                    defer { worker.close() }
                    try worker.send([Frame(copying: Array("hello".utf8))])
                    guard try worker.receive(timeout: .seconds(30)) != nil else { throw TransportError.timedOut(operation: "wait for go") }
                    for _ in 0..<configuration.blocksPerSender {
                        try worker.send([block], timeout: .seconds(60))
                    }
                    // Wait for the server's "done" so that close() does not cut the last block (linger is 0).
                    _ = try worker.receive(timeout: .seconds(60))
                } catch {
                    failures.append(error)
                }
            }
            thread.name = "bench-sender-\(senderIndex)"
            thread.start()
        }

        var peers: [PeerID] = []
        while peers.count < configuration.senders {
            guard let hello = try server.receive(timeout: .seconds(30)) else {
                group.wait()
                throw failures.first ?? TransportError.timedOut(operation: "wait for senders' hello")
            }
            peers.append(hello.peer)
        }
        let start = ContinuousClock.now
        for peer in peers { try server.send([Frame(copying: Array("go".utf8))], to: peer) }
        var bytes = 0
        for _ in 0..<(configuration.senders * configuration.blocksPerSender) {
            guard let message = try server.receive(timeout: .seconds(60)) else {
                throw failures.first ?? TransportError.timedOut(operation: "wait for blocks")
            }
            bytes += message.frames.reduce(0) { $0 + $1.count }
        }
        let elapsed = ContinuousClock.now - start
        for peer in peers { try server.send([Frame(copying: Array("done".utf8))], to: peer) }
        group.wait()
        if let failure = failures.first { throw failure }
        return Result(configuration: configuration, bytes: bytes, seconds: elapsed.seconds)
    }
}

/// Errors collected from sender threads.
private final class FailureList: @unchecked Sendable {
    private let lock = NSLock()
    private var errors: [Error] = []
    func append(_ error: Error) { lock.withLock { errors.append(error) } }
    var first: Error? { lock.withLock { errors.first } }
}
