import Foundation
import NTKTransport
import NTKWire
import XCTest

/// A server busy computing stops reading; the connection must survive that.
final class BusyServerTests: XCTestCase {
    /// Regression: with ZMTP heartbeats on, a server that did not read for longer than the heartbeat
    /// timeout while a worker's queue was full made the worker's libzmq drop and re-open the connection;
    /// messages still queued in the old pipe then reached the server under a generated routing id
    /// ("unknown peer: register first") and the rest of the block was lost (the 20k-sample bf16 run stalled).
    func testAWorkerBlockedByABusyServerKeepsItsConnectionAndItsMessages() throws {
        var options = fastOptions()
        XCTAssertNil(options.heartbeat, "ZMTP heartbeats are off by default")
        options.sendTimeout = .seconds(20)
        let server = try ZMQServerTransport(bind: "tcp://127.0.0.1:*", options: options)
        let worker = try ZMQWorkerTransport(connect: server.endpoint, identity: "w", options: options)
        defer { worker.close(); server.close() }

        // Far more than both high-water marks and the TCP buffers hold.
        let count = 48, size = 4 << 20
        let sender = Thread {
            for sequence in 0..<count {
                try? worker.send([Frame(copying: [UInt8](repeating: UInt8(sequence), count: size))])
            }
        }
        sender.start()
        Thread.sleep(forTimeInterval: 2.5)   // the server "computes" without reading

        var received: [(PeerID, UInt8)] = []
        while received.count < count, let (peer, frames) = try server.receive(timeout: .seconds(10)) {
            // Read the bytes while the frame (which owns libzmq's buffer) is certainly alive.
            let (first, uniform) = withExtendedLifetime(frames) {
                let bytes = frames[0].bytes
                return (bytes[0], bytes.allSatisfy { $0 == bytes[0] })
            }
            XCTAssertTrue(uniform, "message \(first) arrived intact")
            received.append((peer, first))
        }
        XCTAssertEqual(received.count, count, "every message arrives")
        XCTAssertEqual(Set(received.map(\.0)), [PeerID("w")], "all under the worker's own identity")
        XCTAssertEqual(received.map(\.1), (0..<count).map(UInt8.init), "in order")
    }
}
