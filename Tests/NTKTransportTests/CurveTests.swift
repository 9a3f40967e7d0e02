import Foundation
import NTKTransport
import NTKWire
import XCTest

final class CurveTests: XCTestCase {
    override func setUpWithError() throws {
        try XCTSkipUnless(ZMQLibrary.hasCurve, "libzmq without CURVE")
    }

    func testAllowedKeyTalksEncrypted() throws {
        let serverKeys = try CurveKeyPair.generate()
        let workerKeys = try CurveKeyPair.generate()
        let server = try ZMQServerTransport(
            bind: "tcp://127.0.0.1:*", options: fastOptions(),
            curve: CurveServerSecurity(keyPair: serverKeys, clients: .only([workerKeys.publicKey])))
        defer { server.close() }
        let worker = try ZMQWorkerTransport(
            connect: server.endpoint, identity: "trusted", options: fastOptions(),
            curve: CurveClientSecurity(serverPublicKey: serverKeys.publicKey, keyPair: workerKeys))

        try worker.send([textFrame("secret gradient")])
        let message = try XCTUnwrap(try server.receive(timeout: .seconds(5)))
        XCTAssertEqual(message.peer, PeerID("trusted"))
        XCTAssertEqual(message.frames.map(text), ["secret gradient"])
        try server.send([textFrame("theta")], to: message.peer)
        XCTAssertEqual(try worker.receive(timeout: .seconds(5))?.map(text), ["theta"])

        XCTAssertEqual(try server.socket.get(.mechanism), 2, "CURVE")
        XCTAssertEqual(server.authenticator?.acceptedCount, 1)
        XCTAssertEqual(server.authenticator?.refusedCount, 0)
    }

    func testUnknownKeyIsRefusedAndTheRefusalIsRecorded() throws {
        let serverKeys = try CurveKeyPair.generate()
        let allowed = try CurveKeyPair.generate()
        let intruder = try CurveKeyPair.generate()
        let decisions = LockedList<ZAPDecision>()
        let server = try ZMQServerTransport(
            bind: "tcp://127.0.0.1:*", options: fastOptions(),
            curve: CurveServerSecurity(keyPair: serverKeys, clients: .only([allowed.publicKey]),
                                       onDecision: { decisions.append($0) }))
        defer { server.close() }

        // The intruder knows the server's public key but its own key is not on the list.
        let context = try ZMQContext()
        let socket = try ZMQSocket(context: context, kind: .dealer)
        let monitor = try ZMQSocketMonitor(monitoring: socket, events: [.handshakeFailedAuth, .handshakeSucceeded])
        try fastOptions().apply(to: socket)
        try socket.setRoutingID(Data("intruder".utf8))
        try socket.makeCurveClient(serverPublicKey: serverKeys.publicKey, keyPair: intruder)
        try socket.connect(server.endpoint)
        try socket.send(frames: [textFrame("let me in")])

        // The server never gets the message…
        XCTAssertNil(try server.receive(timeout: .milliseconds(500)))
        // …the refusal is on record, with the intruder's key…
        let authenticator = try XCTUnwrap(server.authenticator)
        XCTAssertTrue(eventually { authenticator.refusedCount >= 1 })
        XCTAssertEqual(authenticator.acceptedCount, 0)
        XCTAssertEqual(authenticator.refusals.first?.publicKey, intruder.publicKey)
        XCTAssertEqual(authenticator.refusals.first?.mechanism, "CURVE")
        XCTAssertEqual(authenticator.refusals.first?.address, "127.0.0.1")
        XCTAssertTrue(decisions.all.contains { !$0.accepted && $0.publicKey == intruder.publicKey })
        // …and the client can tell why its connection does not work (ZAP status 400).
        let event = try XCTUnwrap(try monitor.wait(for: [.handshakeFailedAuth, .handshakeSucceeded], timeout: .seconds(3)))
        XCTAssertEqual(event.kind, .handshakeFailedAuth)
        XCTAssertEqual(event.value, 400)
        monitor.close()
        socket.close()

        // Allowing the key later lets the next attempt in (the ZAP list is live).
        authenticator.allow(intruder.publicKey)
        let admitted = try ZMQWorkerTransport(
            connect: server.endpoint, identity: "admitted", options: fastOptions(),
            curve: CurveClientSecurity(serverPublicKey: serverKeys.publicKey, keyPair: intruder))
        try admitted.send([textFrame("now?")])
        XCTAssertEqual(try server.receive(timeout: .seconds(5))?.peer, PeerID("admitted"))
    }

    func testServerFailsClosedWhenTheHandlerIsGone() throws {
        // If the ZAP handler disappears while the server runs, libzmq's default would admit anyone;
        // the transport sets ZAP_ENFORCE_DOMAIN so that even listed keys are then refused.
        let serverKeys = try CurveKeyPair.generate()
        let workerKeys = try CurveKeyPair.generate()
        let server = try ZMQServerTransport(
            bind: "tcp://127.0.0.1:*", options: fastOptions(),
            curve: CurveServerSecurity(keyPair: serverKeys, clients: .only([workerKeys.publicKey])))
        defer { server.close() }
        server.authenticator?.stop()
        Thread.sleep(forTimeInterval: 0.2)  // let libzmq reap the handler's socket and free the endpoint
        let worker = try ZMQWorkerTransport(
            connect: server.endpoint, identity: "too-late", options: fastOptions(),
            curve: CurveClientSecurity(serverPublicKey: serverKeys.publicKey, keyPair: workerKeys))
        try worker.send([textFrame("hello?")])
        XCTAssertNil(try server.receive(timeout: .milliseconds(400)))
    }

    func testClientWithTheWrongServerKeyNeverConnects() throws {
        let serverKeys = try CurveKeyPair.generate()
        let impostorServerKey = try CurveKeyPair.generate().publicKey
        let workerKeys = try CurveKeyPair.generate()
        let server = try ZMQServerTransport(
            bind: "tcp://127.0.0.1:*", options: fastOptions(),
            curve: CurveServerSecurity(keyPair: serverKeys, clients: .only([workerKeys.publicKey])))
        defer { server.close() }
        let worker = try ZMQWorkerTransport(
            connect: server.endpoint, identity: "misconfigured", options: fastOptions(),
            curve: CurveClientSecurity(serverPublicKey: impostorServerKey, keyPair: workerKeys))
        try worker.send([textFrame("hello?")])
        XCTAssertNil(try server.receive(timeout: .milliseconds(400)))
    }

    func testPlainClientCannotTalkToACurveServer() throws {
        let serverKeys = try CurveKeyPair.generate()
        let server = try ZMQServerTransport(
            bind: "tcp://127.0.0.1:*", options: fastOptions(),
            curve: CurveServerSecurity(keyPair: serverKeys, clients: .only([])))
        defer { server.close() }
        let worker = try ZMQWorkerTransport(connect: server.endpoint, identity: "plain", options: fastOptions())
        try worker.send([textFrame("hello?")])
        XCTAssertNil(try server.receive(timeout: .milliseconds(300)))
    }

    func testKeysRoundTripThroughFilesWithSafePermissions() throws {
        let directory = FileManager.default.temporaryDirectory.appendingPathComponent("ntk-keys-\(UUID())")
        try FileManager.default.createDirectory(at: directory, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(at: directory) }

        let keys = try CurveKeyPair.generate()
        let base = directory.appendingPathComponent("worker-1").path
        try keys.write(basePath: base, name: "worker-1")
        let publicFile = URL(fileURLWithPath: base + ".key")
        let secretFile = URL(fileURLWithPath: base + ".key_secret")

        func mode(_ url: URL) throws -> Int {
            (try FileManager.default.attributesOfItem(atPath: url.path)[.posixPermissions] as? NSNumber)?.intValue ?? -1
        }
        XCTAssertEqual(try mode(secretFile), 0o600)
        XCTAssertEqual(try mode(publicFile), 0o644)
        XCTAssertFalse(try String(contentsOf: publicFile, encoding: .utf8).contains(keys.secretKey.z85))

        XCTAssertEqual(try CurveKeyPair.read(secretFile: secretFile), keys)
        XCTAssertEqual(try CurvePublicKey(contentsOf: publicFile), keys.publicKey)
        XCTAssertEqual(try CurvePublicKey.readAll(directory: directory), [keys.publicKey])

        // A secret file others can read is refused unless the caller insists.
        chmod(secretFile.path, 0o644)
        XCTAssertThrowsError(try CurveKeyPair.read(secretFile: secretFile)) { error in
            guard case .keyFile = error as? TransportError else { return XCTFail("\(error)") }
        }
        XCTAssertEqual(try CurveKeyPair.read(secretFile: secretFile, allowInsecurePermissions: true), keys)

        // Files are czmq/pyzmq certificates: a hand-written one in that format reads too.
        let foreign = directory.appendingPathComponent("foreign.key")
        try """
            #   ****  Generated by CZMQ  ****
            metadata
            curve
                public-key = "\(keys.publicKey.z85)"
            """.write(to: foreign, atomically: true, encoding: .utf8)
        XCTAssertEqual(try CurvePublicKey(contentsOf: foreign), keys.publicKey)

        // Broken files are errors with the path, not crashes.
        let broken = directory.appendingPathComponent("broken.key")
        try "curve\n    public-key = \"too short\"\n".write(to: broken, atomically: true, encoding: .utf8)
        XCTAssertThrowsError(try CurvePublicKey(contentsOf: broken)) { error in
            guard case let .keyFile(path, _) = error as? TransportError else { return XCTFail("\(error)") }
            XCTAssertEqual(path, broken.path)
        }
    }

    func testKeyValidationAndDerivation() throws {
        let keys = try CurveKeyPair.generate()
        XCTAssertEqual(keys.publicKey.z85.count, 40)
        XCTAssertEqual(try CurveKeyPair(secretKey: keys.secretKey).publicKey, keys.publicKey)
        XCTAssertEqual(try CurvePublicKey(binary: keys.publicKey.binary), keys.publicKey)
        XCTAssertThrowsError(try CurvePublicKey(z85: "abc"))
        XCTAssertThrowsError(try CurvePublicKey(z85: String(repeating: "\"", count: 40)))
        let other = try CurveKeyPair.generate()
        XCTAssertThrowsError(try CurveKeyPair(publicKey: other.publicKey, secretKey: keys.secretKey))
        XCTAssertFalse("\(keys.secretKey)".contains(keys.secretKey.z85), "secret keys are redacted in logs")
    }
}
