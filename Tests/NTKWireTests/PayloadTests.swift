import Foundation
import NTKCore
import NTKWire
import XCTest

/// Every message type through encode → frames → decode → typed payload, and the NTKCore helpers.
final class PayloadTests: XCTestCase {
    private let run = RunID.of(name: "digits-4-workers")

    /// Encodes, decodes (finite values required) and reads back the payload.
    private func roundTrip<P: WirePayload>(_ payload: P, round: UInt64 = 2, workerID: UInt32 = 5) throws -> (P, Message) {
        let message = try Message(payload, workerID: workerID, runID: run, round: round)
        var limits = WireLimits.default
        limits.requireFinite = true
        let decoded = try Wire.decode(message.encoded(), limits: limits)
        XCTAssertEqual(decoded.type, P.messageType)
        XCTAssertEqual(decoded.header.round, round)
        XCTAssertEqual(decoded.header.workerID, workerID)
        XCTAssertEqual(decoded.header.runID, run)
        return (try decoded.payload(P.self), decoded)
    }

    func testRegister() throws {
        let fp = DataFingerprint.sha256(inputs: Matrix<Float>([[1, 2]]), targets: Matrix<Float>([[0.5]]))
        let r = Register(workerName: "node-3", sampleCount: 450, inputDimension: 64, outputCount: 10, dataFingerprint: fp,
                         heldOutCount: 50, software: "ntk-worker 0.1")
        XCTAssertEqual(try roundTrip(r).0, r)
        var bad = r
        bad.sampleCount = 0
        assertThrowsWire(try self.roundTrip(bad)) { if case .invalidPayload = $0 { return true }; return false }
    }

    func testWelcome() throws {
        let arch = try MLPArchitecture(widths: [64, 128, 10], activation: .relu)
        let w = Welcome(workerID: 5, runName: "digits-4-workers", architecture: arch, loss: .crossEntropy, blockFormat: .dense)
        XCTAssertEqual(try roundTrip(w).0, w)
        // A decoded architecture that the validating initializer would refuse is refused here too.
        let message = try Message(w, workerID: 5, runID: run)
        let frames = try editedMetadata(message) { j in
            var body = j["body"] as! [String: Any]
            var a = body["architecture"] as! [String: Any]
            a["widths"] = [64]
            body["architecture"] = a
            j["body"] = body
        }
        assertThrowsWire(try Wire.decode(frames).payload(Welcome.self)) { if case .invalidPayload = $0 { return true }; return false }
    }

    func testRoundStartCarriesParameters() throws {
        let (arch, net, _, _) = try smallBlock()
        let rs = RoundStart(parameters: net.parameters, refresh: true, evaluate: false)
        let (back, message) = try roundTrip(rs)
        XCTAssertEqual(message.arrays.map(\.name), ["W1", "b1", "W2", "b2", "W3", "b3"])
        XCTAssertEqual(back.body, rs.body)
        XCTAssertEqual(try back.parameters(architecture: arch, as: Float.self), net.parameters)
        XCTAssertEqual(try back.parameters(architecture: arch, as: Double.self), net.parameters.converted(to: Double.self))
        // Against another architecture: the error names the array.
        let other = try MLPArchitecture(widths: [5, 8, 6, 3])
        assertThrowsWire(try back.parameters(architecture: other, as: Float.self)) {
            $0 == .shapeMismatch(array: "W1", expected: [8, 5], got: [7, 5])
        }
        // Arrays out of order or missing.
        let shuffled = try Message(type: .roundStart, body: rs.body, arrays: Array(rs.arrays.reversed()))
        assertThrowsWire(try shuffled.payload(RoundStart.self)) { $0 == .missingArray("W1") }
        let chainBroken = try Message(type: .roundStart, body: rs.body, arrays: [rs.arrays[0], rs.arrays[1], rs.arrays[4].renamed("W2"), rs.arrays[5].renamed("b2")])
        assertThrowsWire(try chainBroken.payload(RoundStart.self)) { $0 == .shapeMismatch(array: "W2", expected: [3, 7], got: [3, 6]) }
    }

    func testFactoredBlockRoundTrip() throws {
        let (arch, _, j, y) = try smallBlock()
        let block = try Block(factored: j, targets: y)
        let (back, message) = try roundTrip(block)
        XCTAssertEqual(message.arrays.map(\.name), ["u", "y", "X0", "X1", "X2", "D1", "D2", "D3"])
        let (j2, y2) = try back.factoredJacobian(architecture: arch, as: Float.self)
        XCTAssertEqual(y2, y)
        XCTAssertEqual(j2.outputs, j.outputs)
        XCTAssertEqual(j2.layerInputs, j.layerInputs)
        XCTAssertEqual(j2.deltas, j.deltas)
        // The rebuilt Jacobian computes the same products.
        let v = (0..<j.columnCount).map { Float($0 % 5) - 2 }
        XCTAssertEqual(j2.contract(v), j.contract(v))

        let wrong = try MLPArchitecture(widths: [5, 7, 4, 3])
        assertThrowsWire(try back.factoredJacobian(architecture: wrong, as: Float.self)) {
            $0 == .shapeMismatch(array: "D2", expected: [12, 4], got: [12, 6])
        }
        let deeper = try MLPArchitecture(widths: [5, 7, 6, 6, 3])
        assertThrowsWire(try back.factoredJacobian(architecture: deeper, as: Float.self)) { $0 == .missingArray("X3") }
    }

    /// A block without X0 (the server kept the worker's inputs): the factors start at X1, and with the kept
    /// inputs it is the full block again; without them it is refused with a reason.
    func testFactoredBlockWithoutInputsRoundTrip() throws {
        let (arch, _, j, y) = try smallBlock()
        var block = try Block(factored: j, targets: y)
        block.omitInputs()
        let (back, message) = try roundTrip(block)
        XCTAssertEqual(message.arrays.map(\.name), ["u", "y", "X1", "X2", "D1", "D2", "D3"])
        XCTAssertEqual(back.body.inputsOmitted, true)
        let (j2, y2) = try back.factoredJacobian(architecture: arch, as: Float.self, inputs: j.layerInputs[0])
        XCTAssertEqual(y2, y)
        XCTAssertEqual(j2.layerInputs, j.layerInputs)
        XCTAssertEqual(j2.deltas, j.deltas)
        let v = (0..<j.columnCount).map { Float($0 % 5) - 2 }
        XCTAssertEqual(j2.contract(v), j.contract(v))
        assertThrowsWire(try back.factoredJacobian(architecture: arch, as: Float.self)) {
            if case .invalidPayload(let reason) = $0 { return reason.contains("X0 omitted") }
            return false
        }
        let narrow = Matrix<Float>(rows: j.sampleCount, columns: 4)
        assertThrowsWire(try back.factoredJacobian(architecture: arch, as: Float.self, inputs: narrow)) {
            $0 == .shapeMismatch(array: "X0 (kept)", expected: [j.sampleCount, 5], got: [j.sampleCount, 4])
        }
        // A block that says it omits X0 but carries it is malformed (X0 is an unexpected array).
        var liar = try Block(factored: j, targets: y)
        liar.body.inputsOmitted = true
        let lying = try Message(type: .block, body: liar.body, arrays: liar.arrays)
        XCTAssertThrowsError(try lying.payload(Block.self))
    }

    func testDenseBlockRoundTrip() throws {
        let (arch, _, j, y) = try smallBlock()
        let dense = JacobianBlock(j)
        let (back, message) = try roundTrip(try Block(dense: dense, targets: y))
        XCTAssertEqual(message.arrays.map(\.name), ["u", "y", "Z"])
        XCTAssertEqual(message.array("Z")?.shape, [4 * 3, arch.parameterCount])
        let (b2, y2) = try back.jacobianBlock(architecture: arch, as: Float.self)
        XCTAssertEqual(b2.columnsAsRows, dense.columnsAsRows)
        XCTAssertEqual(y2, y)
        assertThrowsWire(try back.factoredJacobian(architecture: arch, as: Float.self)) { if case .invalidPayload = $0 { return true }; return false }
    }

    func testBlockValidationNamesTheArray() throws {
        let (_, _, j, y) = try smallBlock()
        let block = try Block(factored: j, targets: y)
        func rebuilt(_ arrays: [TypedArray], body: Block.Body? = nil) throws -> Message {
            try Message(type: .block, body: body ?? block.body, arrays: arrays)
        }
        var arrays = block.arrays
        arrays.remove(at: 1)
        assertThrowsWire(try rebuilt(arrays).payload(Block.self)) { $0 == .missingArray("y") }
        arrays = block.arrays
        arrays[6] = try TypedArray(name: "D2", [Float](repeating: 0, count: 12 * 5), shape: [12, 5])
        assertThrowsWire(try rebuilt(arrays).payload(Block.self)) { $0 == .shapeMismatch(array: "D2", expected: [12, 6], got: [12, 5]) }
        arrays = block.arrays
        arrays[2] = try TypedArray(name: "X0", [Double](repeating: 0, count: 20), shape: [4, 5])
        assertThrowsWire(try rebuilt(arrays).payload(Block.self)) { $0 == .dtypeMismatch(array: "X0", expected: [.f32], got: .f64) }
        arrays = block.arrays + [try TypedArray(name: "extra", [Float(1)])]
        assertThrowsWire(try rebuilt(arrays).payload(Block.self)) { $0 == .unexpectedArray("extra") }
        assertThrowsWire(try rebuilt(block.arrays, body: .init(sampleCount: 5, outputCount: 3, format: .factored)).payload(Block.self)) {
            $0 == .shapeMismatch(array: "u", expected: [5, 3], got: [4, 3])
        }
        assertThrowsWire(try rebuilt(block.arrays, body: .init(sampleCount: 4, outputCount: 3, format: .dense)).payload(Block.self)) {
            $0 == .missingArray("Z")
        }
        assertThrowsWire(try Block(factored: j, targets: Matrix<Float>(rows: 4, columns: 2))) {
            $0 == .shapeMismatch(array: "y", expected: [4, 3], got: [4, 2])
        }
    }

    func testNaNBlockRejectedWhenFiniteRequired() throws {
        let (_, _, j, y) = try smallBlock()
        var bad = j.deltas
        bad[1].elements[7] = .infinity
        let poisoned = try FactoredJacobian(architecture: j.architecture, layerInputs: j.layerInputs, deltas: bad, outputs: j.outputs)
        let message = try Message(try Block(factored: poisoned, targets: y), workerID: 1, runID: run, round: 1)
        var limits = WireLimits.default
        limits.requireFinite = true
        assertDecodeThrows(message.encoded(), limits: limits, .nonFinite(array: "D2", index: 7))
    }

    func testCandidates() throws {
        let (arch, net, _, _) = try smallBlock()
        let shifted = net.parameters.adding(net.parameters, scaledBy: 0.5)
        let c = try Candidates(times: [0.5, 2], parameters: [net.parameters, shifted])
        let (back, message) = try roundTrip(c)
        XCTAssertEqual(message.arrays.map(\.name), ["theta0", "theta1"])
        XCTAssertEqual(back.times, [0.5, 2])
        XCTAssertEqual(try back.parameters(architecture: arch, as: Float.self), [net.parameters, shifted])
        assertThrowsWire(try Candidates(times: [1], parameters: [net.parameters, shifted])) { if case .invalidPayload = $0 { return true }; return false }
        let badTime = try Message(type: .candidates, body: Candidates.Body(times: [-1, 1]), arrays: c.arrays)
        assertThrowsWire(try badTime.payload(Candidates.self)) { if case .invalidPayload = $0 { return true }; return false }
        let other = try MLPArchitecture(widths: [5, 7, 3])
        assertThrowsWire(try back.parameters(architecture: other, as: Float.self)) {
            $0 == .shapeMismatch(array: "theta0", expected: [other.parameterCount], got: [arch.parameterCount])
        }
        // Steps from the round's weights in 16 bits: half the bytes, the weights back to f16 precision of the step.
        let steps = try Candidates(times: [0.5, 2], parameters: [net.parameters, shifted], stepsFrom: net.parameters, dtype: .f16)
        let (stepsBack, stepsMessage) = try roundTrip(steps)
        XCTAssertEqual(stepsMessage.arrays.map(\.dtype), [.f16, .f16])
        XCTAssertEqual(stepsBack.body.relativeToRoundStart, true)
        let rebuilt = try stepsBack.parameters(architecture: arch, roundStart: net.parameters, as: Float.self)
        XCTAssertEqual(rebuilt[0], net.parameters, "a zero step is exact")
        let step = zip(shifted.flattened, net.parameters.flattened).map { Double($0 - $1) }
        let error = zip(rebuilt[1].flattened, shifted.flattened).map { Double($0 - $1) }
        XCTAssertLessThan(error.map { $0 * $0 }.reduce(0, +).squareRoot(), 1e-3 * step.map { $0 * $0 }.reduce(0, +).squareRoot())
        assertThrowsWire(try stepsBack.parameters(architecture: arch, as: Float.self)) { if case .invalidPayload = $0 { return true }; return false }
        // Weights (not steps) never travel in 16 bits.
        let narrowWeights = try Message(type: .candidates, body: Candidates.Body(times: [1]), arrays: [stepsMessage.arrays[0]])
        assertThrowsWire(try narrowWeights.payload(Candidates.self)) { if case .dtypeMismatch = $0 { return true }; return false }
    }

    func testCandidateLossesAndEvaluation() throws {
        let cl = CandidateLosses(losses: [LossSummary(lossSum: 12.5, sampleCount: 100, correctCount: 91),
                                          LossSummary(lossSum: .infinity, sampleCount: 100, correctCount: 3),
                                          LossSummary(lossSum: 0, sampleCount: 100)])
        let (back, message) = try roundTrip(cl)
        XCTAssertEqual(back, cl)
        // ∞ travels as null (JSON has no ∞).
        XCTAssertTrue(String(decoding: message.metadata, as: UTF8.self).contains("\"lossSum\":null"))
        let bad = CandidateLosses(losses: [LossSummary(lossSum: 1, sampleCount: 10, correctCount: 11)])
        assertThrowsWire(try self.roundTrip(bad)) { if case .invalidPayload = $0 { return true }; return false }

        let ev = EvaluationReport(heldOut: LossSummary(lossSum: 3.25, sampleCount: 50, correctCount: 47))
        XCTAssertEqual(try roundTrip(ev).0, ev)
    }

    func testHeartbeatRejectShutdown() throws {
        XCTAssertEqual(try roundTrip(Heartbeat(sentAt: 1_790_000_000.25)).0, Heartbeat(sentAt: 1_790_000_000.25))
        XCTAssertEqual(try roundTrip(Heartbeat()).0, Heartbeat())
        let r = Reject(code: .wrongRound, reason: "round 3 is over", rejectedType: MessageType.block.rawValue, rejectedRound: 3)
        XCTAssertEqual(try roundTrip(r).0, r)
        let fromError = Reject(WireError.unsupportedVersion(got: 2, supported: 1))
        XCTAssertEqual(fromError.code, .unsupportedVersion)
        XCTAssertTrue(fromError.fatal)
        XCTAssertEqual(try roundTrip(fromError).0, fromError)
        let s = Shutdown(reason: "run finished")
        XCTAssertEqual(try roundTrip(s).0, s)
        // A body-only payload refuses arrays.
        let withArray = try Message(type: .heartbeat, body: Heartbeat(), arrays: [TypedArray(name: "x", [Float(1)])])
        assertThrowsWire(try withArray.payload(Heartbeat.self)) { $0 == .unexpectedArray("x") }
        // Unknown reject codes from newer peers read as .other.
        let future = try Message(type: .reject, body: ["code": "quantumError", "reason": "?", "fatal": false] as [String: AnyCodableValue])
        XCTAssertEqual(try future.payload(Reject.self).code, .other)
    }

    func testBroadcastReaddressingKeepsChecksums() throws {
        let (_, net, _, _) = try smallBlock()
        let base = try Message(RoundStart(parameters: net.parameters, refresh: false, evaluate: true), runID: run, round: 4)
        for worker in UInt32(1)...3 {
            let decoded = try Wire.decode(base.addressed(workerID: worker).encoded())
            XCTAssertEqual(decoded.header.workerID, worker)
            XCTAssertEqual(decoded.descriptors, base.descriptors)
        }
    }

    func testFingerprintVector() {
        // Reproduce with: sha256(struct.pack('<3Q', 1, 2, 1) + struct.pack('<3d', 1, 2, 0.5)).
        let fp = DataFingerprint.sha256(inputs: Matrix<Double>([[1, 2]]), targets: Matrix<Double>([[0.5]]))
        XCTAssertEqual(fp, "sha256:5ba83e719b6a2887ac02ffeb027d645df596441bd4c95586c22957502376fe67")
        XCTAssertEqual(DataFingerprint.sha256(inputs: Matrix<Float>([[1, 2]]), targets: Matrix<Float>([[0.5]])), fp)
    }
}

/// A JSON scalar for hand-written bodies in tests.
enum AnyCodableValue: Codable, ExpressibleByStringLiteral, ExpressibleByBooleanLiteral {
    case string(String), bool(Bool)
    init(stringLiteral value: String) { self = .string(value) }
    init(booleanLiteral value: Bool) { self = .bool(value) }
    init(from decoder: Decoder) throws {
        let c = try decoder.singleValueContainer()
        if let b = try? c.decode(Bool.self) { self = .bool(b) } else { self = .string(try c.decode(String.self)) }
    }
    func encode(to encoder: Encoder) throws {
        var c = encoder.singleValueContainer()
        switch self {
        case .string(let s): try c.encode(s)
        case .bool(let b): try c.encode(b)
        }
    }
}
