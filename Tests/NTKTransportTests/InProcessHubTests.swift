import Foundation
import NTKTransport
import NTKWire
import XCTest

final class InProcessHubTests: XCTestCase {
    func testHubPassesTheSameScenarioAsTheSockets() throws {
        let hub = InProcessHub()
        let server = try hub.bindServer()
        let workers = (1...4).map { hub.connectWorker("worker-\($0)") }
        try exerciseTransports(server: server, workers: workers)
        XCTAssertEqual(hub.connectedWorkers.map(\.description), ["worker-1", "worker-2", "worker-3", "worker-4"])
    }

    func testFramesPassByReference() throws {
        let hub = InProcessHub()
        let server = try hub.bindServer()
        let worker = hub.connectWorker("w")
        let block = Frame(array: [Float](repeating: 1, count: 1 << 20))
        try worker.send([block])
        let received = try XCTUnwrap(try server.receive(timeout: .seconds(1))).frames[0]
        XCTAssertTrue(received === block)
    }

    func testServerRestartLosesWhatItHadAndKeepsWhatWasInFlight() throws {
        let hub = InProcessHub()
        var server = try hub.bindServer()
        XCTAssertThrowsError(try hub.bindServer(), "one server at a time, like a port")
        let worker = hub.connectWorker("w")
        try worker.send([textFrame("delivered to the old server, never read")])
        server.close()
        XCTAssertThrowsError(try server.receive(timeout: .zero)) { error in
            guard case .closed = error as? TransportError else { return XCTFail("\(error)") }
        }
        try worker.send([textFrame("sent while no server")])
        server = try hub.bindServer()
        XCTAssertEqual(try server.receive(timeout: .seconds(1)).map { text($0.frames[0]) }, "sent while no server")
        try server.send([textFrame("welcome back")], to: worker.identity)
        XCTAssertEqual(try worker.receive(timeout: .seconds(1))?.map(text), ["welcome back"])
    }

    func testReconnectingWorkerTakesOverItsIdentity() throws {
        let hub = InProcessHub()
        let server = try hub.bindServer()
        let old = hub.connectWorker("phoenix")
        let new = hub.connectWorker("phoenix")
        XCTAssertThrowsError(try old.receive(timeout: .zero))
        try server.send([textFrame("hi")], to: PeerID("phoenix"))
        XCTAssertEqual(try new.receive(timeout: .seconds(1))?.map(text), ["hi"])
        new.close()
        XCTAssertThrowsError(try server.send([textFrame("gone")], to: PeerID("phoenix"))) { error in
            XCTAssertEqual(error as? TransportError, .unknownPeer(PeerID("phoenix")))
        }
    }

    func testFullQueueMakesSendWaitThenTimeOut() throws {
        let hub = InProcessHub(options: .init(capacity: 2, sendTimeout: .milliseconds(100)))
        let server = try hub.bindServer()
        let worker = hub.connectWorker("slow")
        try server.send([textFrame("1")], to: worker.identity)
        try server.send([textFrame("2")], to: worker.identity)
        XCTAssertThrowsError(try server.send([textFrame("3")], to: worker.identity)) { error in
            XCTAssertEqual(error as? TransportError, .timedOut(operation: "send to slow"))
        }
        // A reader on another thread makes room: a waiting sender then goes through.
        let reader = Thread { Thread.sleep(forTimeInterval: 0.03); _ = try? worker.receive(timeout: .seconds(1)) }
        reader.start()
        let patient = InProcessHub(options: .init(capacity: 1, sendTimeout: .seconds(2)))
        let patientServer = try patient.bindServer()
        let patientWorker = patient.connectWorker("w")
        try patientServer.send([textFrame("a")], to: patientWorker.identity)
        Thread { Thread.sleep(forTimeInterval: 0.05); _ = try? patientWorker.receive(timeout: .seconds(1)) }.start()
        try patientServer.send([textFrame("b")], to: patientWorker.identity)
        XCTAssertEqual(try patientWorker.receive(timeout: .seconds(1))?.map(text), ["b"])
    }

    func testConcurrentWorkersOnThreads() throws {
        let hub = InProcessHub()
        let server = try hub.bindServer()
        let count = 8, messages = 50
        for index in 0..<count {
            let worker = hub.connectWorker("t\(index)")
            Thread {
                for sequence in 0..<messages { try? worker.send([Frame(copying: [UInt8(sequence)])]) }
            }.start()
        }
        var next: [PeerID: Int] = [:]
        for _ in 0..<(count * messages) {
            let message = try XCTUnwrap(try server.receive(timeout: .seconds(5)))
            XCTAssertEqual(Int(message.frames[0].bytes[0]), next[message.peer, default: 0], "order per sender")
            next[message.peer, default: 0] += 1
        }
        XCTAssertEqual(next.count, count)
    }
}
