import Foundation
import NTKTransport
import NTKWire
import XCTest

/// Options that make tests fast: immediate close, quick reconnection.
func fastOptions() -> ZMQTransportOptions {
    var options = ZMQTransportOptions()
    options.linger = .zero
    options.reconnect = .init(initial: .milliseconds(20), maximum: .milliseconds(200))
    options.sendTimeout = .seconds(5)
    return options
}

/// A small frame holding the UTF-8 bytes of `text`.
func textFrame(_ text: String) -> Frame { Frame(copying: Array(text.utf8)) }

/// The UTF-8 text of a frame.
func text(_ frame: Frame) -> String { String(decoding: frame.bytes, as: UTF8.self) }

/// Thread-safe list for values produced on other threads (ZAP callbacks, sender threads).
final class LockedList<T>: @unchecked Sendable {
    private let lock = NSLock()
    private var items: [T] = []
    func append(_ item: T) { lock.withLock { items.append(item) } }
    var all: [T] { lock.withLock { items } }
}

/// Polls `condition` every 10 ms until it holds or `timeout` passes.
func eventually(timeout: Duration = .seconds(3), _ condition: () -> Bool) -> Bool {
    let deadline = ContinuousClock.now.advanced(by: timeout)
    while ContinuousClock.now < deadline {
        if condition() { return true }
        Thread.sleep(forTimeInterval: 0.01)
    }
    return condition()
}

/// Binds a server on a loopback endpoint that was just freed (a restart); libzmq closes
/// listeners asynchronously, so the port can stay busy for a moment.
func rebind(_ endpoint: String, options: ZMQTransportOptions) throws -> ZMQServerTransport {
    let deadline = ContinuousClock.now.advanced(by: .seconds(3))
    while true {
        do { return try ZMQServerTransport(bind: endpoint, options: options) } catch {
            if ContinuousClock.now >= deadline { throw error }
            Thread.sleep(forTimeInterval: 0.02)
        }
    }
}

/// The scenario every `ServerTransport`/`WorkerTransport` pair must pass, whatever carries the frames:
/// registration, replies by identity, multipart content, order per sender, timeouts, unknown peers.
func exerciseTransports(server: ServerTransport, workers: [WorkerTransport],
                        file: StaticString = #filePath, line: UInt = #line) throws {
    // Every worker registers; the server learns the identities from the messages.
    for worker in workers { try worker.send([textFrame("hello"), textFrame(worker.identity.description)]) }
    var seen: [PeerID: String] = [:]
    for _ in workers {
        let message = try XCTUnwrap(try server.receive(timeout: .seconds(5)), "registration", file: file, line: line)
        XCTAssertEqual(message.frames.count, 2, file: file, line: line)
        XCTAssertEqual(text(message.frames[0]), "hello", file: file, line: line)
        seen[message.peer] = text(message.frames[1])
    }
    XCTAssertEqual(Set(seen.keys), Set(workers.map(\.identity)), file: file, line: line)
    for (peer, name) in seen { XCTAssertEqual(peer.description, name, file: file, line: line) }

    // The server answers each worker by identity with a multipart message that carries numbers.
    for (index, worker) in workers.enumerated() {
        let theta = (0..<1000).map { Float($0) * 0.5 + Float(index) }
        try server.send([textFrame("theta"), Frame(array: theta)], to: worker.identity)
    }
    for (index, worker) in workers.enumerated() {
        let reply = try XCTUnwrap(try worker.receive(timeout: .seconds(5)), "reply", file: file, line: line)
        XCTAssertEqual(reply.count, 2, file: file, line: line)
        XCTAssertEqual(text(reply[0]), "theta", file: file, line: line)
        let values = reply[1].bytes.withMemoryRebound(to: UInt8.self) { bytes in
            (0..<1000).map { bytes.baseAddress!.advanced(by: $0 * 4).withMemoryRebound(to: Float.self, capacity: 1) { $0.pointee } }
        }
        XCTAssertEqual(values, (0..<1000).map { Float($0) * 0.5 + Float(index) }, file: file, line: line)
    }

    // Messages from one sender arrive in the order sent (12 fit in the queues without a reader).
    for sequence in 0..<12 { try workers[0].send([Frame(copying: [UInt8(sequence)])]) }
    for sequence in 0..<12 {
        let message = try XCTUnwrap(try server.receive(timeout: .seconds(5)), file: file, line: line)
        XCTAssertEqual(message.peer, workers[0].identity, file: file, line: line)
        XCTAssertEqual(Array(message.frames[0].bytes), [UInt8(sequence)], file: file, line: line)
    }

    // Nothing pending: receive times out with nil on both sides, promptly.
    let start = ContinuousClock.now
    XCTAssertNil(try server.receive(timeout: .milliseconds(100)), file: file, line: line)
    XCTAssertNil(try workers[0].receive(timeout: .milliseconds(100)), file: file, line: line)
    let waited = ContinuousClock.now - start
    XCTAssertGreaterThanOrEqual(waited, .milliseconds(190), file: file, line: line)
    XCTAssertLessThan(waited, .seconds(2), file: file, line: line)

    // A peer that never connected cannot be addressed.
    XCTAssertThrowsError(try server.send([textFrame("?")], to: PeerID("nobody")), file: file, line: line) { error in
        XCTAssertEqual(error as? TransportError, .unknownPeer(PeerID("nobody")), file: file, line: line)
    }
}
