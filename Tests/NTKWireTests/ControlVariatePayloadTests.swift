import Foundation
import NTKCore
import NTKWire
import XCTest

/// SCAFFOLD's control variates on the wire: `roundStart`'s `c` and `localUpdate`'s `deltaC` (protocol §6.3, §6.11).
final class ControlVariatePayloadTests: XCTestCase {
    private let model = ModelArchitecture.mlp(try! MLPArchitecture(widths: [5, 7, 3]))
    private var P: Int { model.parameterCount }

    private func decoded<Payload: WirePayload>(_ payload: Payload, requireFinite: Bool = false) throws -> Payload {
        var limits = WireLimits.default
        limits.requireFinite = requireFinite
        return try Wire.decode(try Message(payload, workerID: 2, runID: 1, round: 3).encoded(), limits: limits).payload(Payload.self)
    }

    func testRoundStartCarriesTheServerControl() throws {
        let theta = (0..<P).map { Float($0) / 100 }, c = (0..<P).map { Float($0) / 1000 - 0.01 }
        var start = try RoundStart(theta: theta, model: model, refresh: false, evaluate: true, candidatesFollow: false)
        XCTAssertNil(try decoded(start).serverControl(parameterCount: P), "absent outside SCAFFOLD")
        start.attachServerControl(c)
        XCTAssertEqual(start.arrays.map(\.name), ["W1", "b1", "W2", "b2", "c"])
        let back = try decoded(start)
        XCTAssertEqual(try back.theta(model: model, as: Float.self), theta)
        XCTAssertEqual(try back.serverControl(parameterCount: P), c)
        assertThrowsWire(try back.serverControl(parameterCount: P + 1)) { $0 == .shapeMismatch(array: "c", expected: [P + 1], got: [P]) }
    }

    func testLocalUpdateCarriesTheControlDelta() throws {
        let theta = (0..<P).map { Float($0) / 100 }
        var update = try LocalUpdate(theta: theta, model: model, sampleCount: 4, loss: LossSummary(lossSum: 1, sampleCount: 4, correctCount: 2))
        XCTAssertNil(try decoded(update).controlDelta(parameterCount: P))
        update.attachControlDelta(theta.map { -$0 })
        let back = try decoded(update)
        XCTAssertEqual(try back.theta(model: model, as: Float.self), theta)
        XCTAssertEqual(try back.controlDelta(parameterCount: P), theta.map { -$0 })
        assertThrowsWire(try back.controlDelta(parameterCount: P - 1)) { $0 == .shapeMismatch(array: "deltaC", expected: [P - 1], got: [P]) }
    }

    /// NaN or ∞ in Δc is refused by the payload itself, even where the decoder's finite check is off.
    func testNonFiniteOrMisshapenControlIsRefused() throws {
        let theta = [Float](repeating: 0.5, count: P)
        var update = try LocalUpdate(theta: theta, model: model, sampleCount: 4, loss: LossSummary(lossSum: 1, sampleCount: 4, correctCount: 2))
        var delta = [Float](repeating: 0, count: P)
        delta[3] = .nan
        update.attachControlDelta(delta)
        assertThrowsWire(try self.decoded(update)) { $0 == .nonFinite(array: "deltaC", index: 3) }
        assertThrowsWire(try self.decoded(update, requireFinite: true)) { $0 == .nonFinite(array: "deltaC", index: 3) }
        let matrix = try TypedArray(name: "deltaC", [Float](repeating: 0, count: 4), shape: [2, 2])
        let message = try Message(type: .localUpdate, body: update.body, arrays: update.parameters + [matrix])
        assertThrowsWire(try message.payload(LocalUpdate.self)) { $0 == .shapeMismatch(array: "deltaC", expected: [-1], got: [2, 2]) }
    }

    /// The welcome's local training says which baseline; values a worker cannot act on are refused.
    func testWelcomeLocalTraining() throws {
        var welcome = Welcome(workerID: 1, runName: "r", model: model)
        welcome.localTraining = LocalTraining(epochs: 2, learningRate: 0.1, batchSize: 8, seed: 1, method: .scaffold, globalLearningRate: 1)
        XCTAssertEqual(try decoded(welcome).localTraining, welcome.localTraining)
        XCTAssertEqual(welcome.localTraining?.solverName, "scaffold")
        welcome.localTraining = LocalTraining(epochs: 2, learningRate: 0.1, batchSize: 8, seed: 1, method: .fedProx, proximalMu: 0.01)
        XCTAssertEqual(try decoded(welcome).localTraining?.solverName, "fedprox (μ = 0.01)")
        welcome.localTraining?.proximalMu = nil
        assertThrowsWire(try self.decoded(welcome)) { if case .invalidPayload = $0 { return true }; return false }
        // A welcome from before FedProx and SCAFFOLD (no method) reads as FedAvg.
        welcome.localTraining = LocalTraining(epochs: 2, learningRate: 0.1, batchSize: 8, seed: 1)
        XCTAssertNil(welcome.localTraining?.method)
        XCTAssertEqual(try decoded(welcome).localTraining?.resolvedMethod, .fedAvg)
    }
}
