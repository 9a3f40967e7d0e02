import Foundation
import NTKTransport
import NTKWire
import XCTest

final class ZMQSocketTests: XCTestCase {
    func testRouterDealerRoundTripOverLoopbackWithRandomPort() throws {
        let context = try ZMQContext()
        let router = try ZMQSocket(context: context, kind: .router)
        try router.set(.linger, 0)
        try router.set(.routerMandatory, 1)
        try router.bind("tcp://127.0.0.1:*")
        let endpoint = try router.lastEndpoint
        XCTAssertTrue(endpoint.hasPrefix("tcp://127.0.0.1:"), endpoint)
        XCTAssertNotEqual(endpoint, "tcp://127.0.0.1:*")

        let dealer = try ZMQSocket(context: context, kind: .dealer)
        try dealer.set(.linger, 0)
        try dealer.setRoutingID(Data("worker-a".utf8))
        try dealer.connect(endpoint)

        try dealer.send(frames: [textFrame("ping"), textFrame("1")])
        let request = try XCTUnwrap(try router.receive(timeout: .seconds(5)))
        XCTAssertEqual(request.identity, Data("worker-a".utf8))
        XCTAssertEqual(request.frames.map(text), ["ping", "1"])

        try router.send(frames: [textFrame("pong")], to: request.identity)
        let reply = try XCTUnwrap(try dealer.receive(timeout: .seconds(5)))
        XCTAssertNil(reply.identity)
        XCTAssertEqual(reply.frames.map(text), ["pong"])

        // Misuse is reported, not guessed at.
        XCTAssertThrowsError(try router.send(frames: [textFrame("x")]))  // ROUTER needs an identity
        XCTAssertThrowsError(try dealer.send(frames: []))                // no empty messages
        XCTAssertThrowsError(try dealer.setRoutingID(Data([0, 1])))       // reserved first byte
        router.close()
        dealer.close()
        XCTAssertThrowsError(try router.receive(timeout: .zero)) { error in
            guard case .closed = error as? TransportError else { return XCTFail("\(error)") }
        }
    }

    func testReceiveTimeoutReturnsNilAfterTheTimeout() throws {
        let server = try ZMQServerTransport(bind: "tcp://127.0.0.1:*", options: fastOptions())
        let start = ContinuousClock.now
        XCTAssertNil(try server.receive(timeout: .milliseconds(150)))
        let waited = ContinuousClock.now - start
        XCTAssertGreaterThanOrEqual(waited, .milliseconds(145))
        XCTAssertLessThan(waited, .seconds(1))
        XCTAssertNil(try server.receive(timeout: .zero))
    }

    func testSixtyFourMiBFrameTravelsZeroCopyAndIsReleasedAfterSending() throws {
        let server = try ZMQServerTransport(bind: "tcp://127.0.0.1:*", options: fastOptions())
        let worker = try ZMQWorkerTransport(connect: server.endpoint, identity: "big", options: fastOptions())

        // A recognisable 64 MiB pattern; the frame sent is a copy of it whose release we observe.
        let count = 64 << 20
        let expected = UnsafeMutableBufferPointer<UInt64>.allocate(capacity: count / 8)
        defer { expected.deallocate() }
        var state: UInt64 = 0x9E37_79B9_7F4A_7C15
        for index in expected.indices {
            state = state &* 6_364_136_223_846_793_005 &+ 1_442_695_040_888_963_407
            expected[index] = state
        }
        let released = DispatchSemaphore(value: 0)
        do {
            let storage = UnsafeMutableRawBufferPointer.allocate(byteCount: count, alignment: 64)
            storage.copyMemory(from: UnsafeRawBufferPointer(expected))
            let block = Frame(bytes: UnsafeRawBufferPointer(storage), owner: nil,
                              release: { storage.deallocate(); released.signal() })
            try worker.send([textFrame("header"), block, textFrame("trailer")])
            // Our reference goes at the end of this scope; ZeroMQ's +1 keeps the bytes alive until written.
        }

        let message = try XCTUnwrap(try server.receive(timeout: .seconds(10)))
        XCTAssertEqual(message.peer, PeerID("big"))
        XCTAssertEqual(message.frames.count, 3)
        XCTAssertEqual(text(message.frames[0]), "header")
        XCTAssertEqual(text(message.frames[2]), "trailer")
        let received = message.frames[1]
        XCTAssertEqual(received.count, count)
        XCTAssertEqual(memcmp(received.bytes.baseAddress!, UnsafeRawPointer(expected.baseAddress!), count), 0,
                       "the 64 MiB payload arrived intact")
        // Large received frames sit in a malloc'ed zmq_msg_t: 8-byte aligned (what typed arrays need).
        XCTAssertEqual(Int(bitPattern: received.bytes.baseAddress!) % 8, 0)
        // libzmq called our free function (from its I/O thread) once the bytes were on the wire.
        XCTAssertEqual(released.wait(timeout: .now() + 5), .success)
    }

    func testSeveralDealersAreTellApartByTheirIdentities() throws {
        let server = try ZMQServerTransport(bind: "tcp://127.0.0.1:*", options: fastOptions())
        let context = try ZMQContext()
        let workers = try (1...4).map {
            try ZMQWorkerTransport(connect: server.endpoint, identity: "worker-\($0)", context: context, options: fastOptions())
        }
        try exerciseTransports(server: server, workers: workers)
    }

    func testWorkerReconnectsByItselfAfterTheServerIsClosedAndBoundAgain() throws {
        var server = try ZMQServerTransport(bind: "tcp://127.0.0.1:*", options: fastOptions())
        let endpoint = server.endpoint
        let worker = try ZMQWorkerTransport(connect: endpoint, identity: "w-reconnect", options: fastOptions())
        try worker.send([textFrame("before")])
        XCTAssertEqual(try server.receive(timeout: .seconds(5))?.frames.map(text), ["before"])

        // The server goes away (a crash or restart) and comes back on the same port.
        server.close()
        server = try rebind(endpoint, options: fastOptions())

        // Messages in flight when a connection breaks can be lost, so the worker retries, as the protocol will.
        var delivered: (peer: PeerID, frames: [Frame])?
        for attempt in 0..<40 where delivered == nil {
            try worker.send([textFrame("after-\(attempt)")])
            delivered = try server.receive(timeout: .milliseconds(100))
        }
        let message = try XCTUnwrap(delivered, "the worker's DEALER reconnected by itself")
        XCTAssertEqual(message.peer, PeerID("w-reconnect"), "same identity across the reconnection")
        XCTAssertTrue(text(message.frames[0]).hasPrefix("after-"))

        // And the new server can address the worker by the same identity.
        try server.send([textFrame("welcome back")], to: message.peer)
        var reply: [Frame]?
        while let frames = try worker.receive(timeout: .seconds(2)) {
            reply = frames
            break
        }
        XCTAssertEqual(reply?.map(text), ["welcome back"])
        server.close()
    }

    func testRestartedWorkerTakesOverItsIdentity() throws {
        // ROUTER_HANDOVER: a worker that restarts reconnects with its old name while the server may
        // still hold the old connection; the newcomer must win, not be ignored.
        let server = try ZMQServerTransport(bind: "tcp://127.0.0.1:*", options: fastOptions())
        let first = try ZMQWorkerTransport(connect: server.endpoint, identity: "phoenix", context: ZMQContext(), options: fastOptions())
        try first.send([textFrame("first")])
        XCTAssertEqual(try server.receive(timeout: .seconds(5))?.frames.map(text), ["first"])

        let second = try ZMQWorkerTransport(connect: server.endpoint, identity: "phoenix", context: ZMQContext(), options: fastOptions())
        try second.send([textFrame("second")])
        let message = try XCTUnwrap(try server.receive(timeout: .seconds(5)))
        XCTAssertEqual(message.peer, PeerID("phoenix"))
        XCTAssertEqual(message.frames.map(text), ["second"])

        try server.send([textFrame("to the new one")], to: PeerID("phoenix"))
        XCTAssertEqual(try second.receive(timeout: .seconds(5))?.map(text), ["to the new one"])
        XCTAssertNil(try first.receive(timeout: .milliseconds(100)))
    }

    func testFrameAboveTheMaximumSizeIsNotDelivered() throws {
        var options = fastOptions()
        options.maxFrameSize = 1 << 20
        let server = try ZMQServerTransport(bind: "tcp://127.0.0.1:*", options: options)
        let worker = try ZMQWorkerTransport(connect: server.endpoint, identity: "oversize", options: fastOptions())
        // The limit is per frame: two 768 KiB frames (1.5 MiB in all) pass…
        try worker.send([Frame(array: [UInt8](repeating: 1, count: 768 << 10)), Frame(array: [UInt8](repeating: 2, count: 768 << 10))])
        XCTAssertEqual(try server.receive(timeout: .seconds(5))?.frames.count, 2)
        // …one 2 MiB frame does not: libzmq drops the connection instead of delivering it.
        try worker.send([Frame(array: [UInt8](repeating: 3, count: 2 << 20))])
        XCTAssertNil(try server.receive(timeout: .milliseconds(300)))
        // The worker reconnects; small messages flow again.
        var delivered: (peer: PeerID, frames: [Frame])?
        for _ in 0..<40 where delivered == nil {
            try worker.send([textFrame("small")])
            delivered = try server.receive(timeout: .milliseconds(100))
        }
        XCTAssertEqual(delivered.map { text($0.frames[0]) }, "small")
    }

    func testSendToAFullPeerTimesOut() throws {
        var options = fastOptions()
        options.sendHighWaterMark = 1
        options.receiveHighWaterMark = 1
        options.sendTimeout = .milliseconds(200)
        let server = try ZMQServerTransport(bind: "tcp://127.0.0.1:*", options: options)
        let worker = try ZMQWorkerTransport(connect: server.endpoint, identity: "slow", options: options)
        try worker.send([textFrame("hello")])
        let peer = try XCTUnwrap(try server.receive(timeout: .seconds(5))).peer
        // The worker never reads: queues and socket buffers fill, then send waits 200 ms and gives up.
        let block = Frame(array: [UInt8](repeating: 7, count: 4 << 20))
        var outcome: Error?
        for _ in 0..<200 {
            do { try server.send([block], to: peer) } catch { outcome = error; break }
        }
        XCTAssertEqual(outcome as? TransportError, .timedOut(operation: "send to slow"))
    }

    func testContextShutdownWakesABlockedReceiver() throws {
        let context = try ZMQContext()
        let socket = try ZMQSocket(context: context, kind: .router)
        try socket.set(.linger, 0)
        try socket.bind("tcp://127.0.0.1:*")
        let outcome = LockedList<String>()
        let done = DispatchSemaphore(value: 0)
        // The socket is handed to another thread, which becomes its only user.
        Thread {
            do { _ = try socket.receive(timeout: nil); outcome.append("returned") } catch {
                outcome.append("\(error)")
            }
            socket.close()
            done.signal()
        }.start()
        Thread.sleep(forTimeInterval: 0.1)
        context.shutdown()
        XCTAssertEqual(done.wait(timeout: .now() + 5), .success)
        XCTAssertTrue(outcome.all.first?.hasPrefix("closed") ?? false, "\(outcome.all)")
    }

    func testPollReportsReadability() throws {
        let server = try ZMQServerTransport(bind: "tcp://127.0.0.1:*", options: fastOptions())
        let worker = try ZMQWorkerTransport(connect: server.endpoint, identity: "poller", options: fastOptions())
        XCTAssertEqual(try server.socket.poll(.readable, timeout: .milliseconds(50)), [])
        try worker.send([textFrame("wake")])
        XCTAssertEqual(try server.socket.poll(.readable, timeout: .seconds(5)), .readable)
        let ready = try ZMQPoll.wait([(server.socket, .readable), (worker.socket, .readable)], timeout: .seconds(1))
        XCTAssertEqual(ready, [.readable, []])
        XCTAssertEqual(try server.receive(timeout: .zero)?.frames.map(text), ["wake"])
    }
}
