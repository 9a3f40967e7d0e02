import Foundation
import NTKConfig
import NTKCore
import NTKServer
import NTKTransport
import NTKWire
import NTKWorker
import XCTest

/// Networks other than the MLP in the federation: specs in the config, dense blocks, flat θ on the wire.
final class NetworkFederationTests: XCTestCase {
    /// A CNN on digits as 8×8×1 images, 4 workers, 2 rounds: the federated θ is the one-process θ.
    func testConvolutionalNetworkFederatesToTheSingleProcessWeights() throws {
        let out = temporaryDirectory()
        defer { try? FileManager.default.removeItem(at: out) }
        // The dense solver on both sides: Lanczos stops at its tolerance at points that depend on rounding, which
        // on this kernel moves θ by ~3e-5; the eigendecomposition leaves only the Gram's rounding.
        let config = try digitsConfig(workers: 4, rounds: 2, extra: "  solver: eigen", output: out,
                                      model: "{network: 'conv(8,3)-relu-avgpool(2)-conv(8,3)-relu-flatten-dense(10)', input_shape: 8x8x1, seed: 5}")
        guard case .network(let network) = config.model else { return XCTFail("expected a network model") }
        XCTAssertEqual(config.server.blockFormat, .dense, "a network's blocks travel dense")
        XCTAssertEqual(network.parameterCount, (8 * 9 + 8) + (8 * 72 + 8) + (10 * 128 + 10))
        let (server, _) = try runInProcess(config)
        let reference = try CentralizedReference.train(config, workers: config.workers.map(\.name))
        XCTAssertLessThan(relativeDistance(server.parameters, reference), 1e-5, "federated θ vs single-process θ")
        print("CNN in process, 4 workers vs one process: \(relativeDistance(server.parameters, reference))")
        XCTAssertEqual(server.history.count, 2)
        XCTAssertGreaterThan(server.history.last!.testAccuracy!, 0.8)
        let saved = try NumpyArchive(contentsOf: out.appendingPathComponent("weights.npz")).array("theta")
        XCTAssertEqual(saved.shape, [network.parameterCount])
        XCTAssertEqual(try Checkpoint.read(from: out.appendingPathComponent("checkpoint.json")).parameters(for: config.model), server.parameters)
    }

    /// `dense(48)-relu-dense(10)` on 64 features is the MLP 64-48-10 (same θ layout and initialization): the
    /// network path (dense blocks, flat `theta` on the wire) must land where the MLP path (factored blocks) does.
    func testDenseSpecFollowsTheMLPPath() throws {
        let outA = temporaryDirectory(), outB = temporaryDirectory()
        defer { for u in [outA, outB] { try? FileManager.default.removeItem(at: u) } }
        // One solver for both (the plan prices factored and dense blocks differently and would pick Lanczos for
        // one, the dense eigendecomposition for the other).
        let mlp = try digitsConfig(workers: 2, rounds: 2, extra: "  solver: eigen", output: outA)
        let spec = try digitsConfig(workers: 2, rounds: 2, extra: "  solver: eigen", output: outB,
                                    model: "{network: 'dense(48)-relu-dense(10)', input_shape: 64, bias_scale: 0.1, seed: 5}")
        XCTAssertEqual(try mlp.model.initialParameters(seed: 5, as: Float.self), try spec.model.initialParameters(seed: 5, as: Float.self))
        let a = try runInProcess(mlp).server, b = try runInProcess(spec).server
        XCTAssertLessThan(relativeDistance(a.parameters, b.parameters), 1e-4)
        print("MLP path vs network path, θ after 2 rounds: relative distance \(relativeDistance(a.parameters, b.parameters))")
        XCTAssertEqual(a.history.map(\.time), b.history.map(\.time), "the same candidate times are chosen")
    }

    func testNetworkConfigErrorsSayWhatAndWhere() throws {
        let out = temporaryDirectory()
        defer { try? FileManager.default.removeItem(at: out) }
        func message(_ model: String, server: String = "") -> String {
            do { _ = try digitsConfig(workers: 2, server: server, output: out, model: model); return "" } catch { return "\(error)" }
        }
        let malformed = message("{network: 'conv(8,3)-relu-conv(8)-gap-dense(10)', input_shape: 8x8x1}")
        XCTAssertTrue(malformed.contains("column 16"), malformed)
        XCTAssertTrue(malformed.contains("model.network"), malformed)
        XCTAssertTrue(message("{network: 'conv(8,3)-dense(10)', input_shape: 8x8x1}").contains("flatten or gap"))
        XCTAssertTrue(message("{network: 'conv(8,3)-gap-dense(10)'}").contains("input_shape"))
        XCTAssertTrue(message("{network: 'dense(10)', widths: [64, 10], input_shape: 64}").contains("not both"))
        XCTAssertTrue(message("{network: 'conv(8,3)-gap-dense(10)', input_shape: 8x8x1}", server: "  block_format: factored")
            .contains("dense"))
    }
}
