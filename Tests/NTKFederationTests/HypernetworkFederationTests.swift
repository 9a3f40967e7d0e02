import Foundation
import NTKConfig
import NTKCore
import NTKData
import NTKServer
import NTKTransport
import NTKWire
import NTKWorker
import XCTest

/// Personalized federation: the model is a hypernetwork `h(x, z) = g(z; f(x))`, each worker's `x` its one-hot id
/// (or given features), prepended by the worker to its rows; the server trains `f`'s weights by the same rounds.
final class HypernetworkFederationTests: XCTestCase {
    /// Non-IID digits (Dirichlet α = 0.5) over `workers` workers, each holding out a quarter of its shard.
    static func hyperConfig(workers: Int = 3, rounds: Int = 2, output: URL, model: String? = nil, workerExtra: [String]? = nil,
                            server: String = "", training: String = "") throws -> RunConfiguration {
        let list = (0..<workers).map { i in
            let extra = workerExtra.map { ", " + $0[i] } ?? ""
            return "  - {name: w\(i), data: {file: data/digits.csv, feature_scale: 0.0625, classes: 10, split: train, train_fraction: 0.1, shard: {index: \(i), count: \(workers), seed: 3, scheme: dirichlet, alpha: 0.5}}, held_out: {shard_fraction: 0.25}\(extra)}"
        }.joined(separator: "\n")
        let yaml = """
        run: {id: hyper-test, output_dir: \(output.path), rounds: \(rounds)}
        model: \(model ?? "{hypernetwork: {meta_widths: [\(workers), 8], primary_widths: [64, 8, 10]}, seed: 5}")
        training:
          learning_rate: 1.0
          solver: eigen
          time: {candidates: [100, 1000, 10000, 100000]}
        \(training)
        server:
          expected_workers: \(workers)
          round_deadline_seconds: 30
          heartbeat_seconds: 0.2
        \(server)
        workers:
        \(list)
        """
        return try RunConfiguration.parse(yaml: yaml, file: "hyper.yaml", baseDirectory: repoRoot)
    }

    /// 3 workers, 2 rounds: the federated w equals one process's on the union of the workers' [x, z] rows, and every
    /// worker's own held-out accuracy is recorded.
    func testHypernetworkFederationGivesTheSingleProcessWeights() throws {
        let out = temporaryDirectory()
        defer { try? FileManager.default.removeItem(at: out) }
        let config = try Self.hyperConfig(output: out)
        guard case .hypernetwork(let h) = config.model else { return XCTFail("expected a hypernetwork model") }
        XCTAssertEqual(config.server.blockFormat, .dense)
        XCTAssertEqual(config.model.inputDimension, 3 + 64, "rows are [x, z]")
        XCTAssertEqual(config.workers.map(\.clientFeatures), [[1, 0, 0], [0, 1, 0], [0, 0, 1]], "one-hot of the worker's index")
        XCTAssertEqual(h.parameterCount, (3 * 8 + 8) + (8 * 592 + 592))

        let (server, workers) = try runInProcess(config)
        let reference = try CentralizedReference.train(config, workers: config.workers.map(\.name))
        let err = relativeDistance(server.parameters, reference)
        print("hypernetwork federation vs single process: relative distance \(err)")
        XCTAssertLessThan(err, 1e-5, "federated w vs single-process w")
        XCTAssertEqual(server.history.count, 2)
        let last = server.history.last!
        XCTAssertEqual(last.workerAccuracy.map { Set($0.keys) }, ["w0", "w1", "w2"])
        XCTAssertNil(last.testAccuracy, "no server-side evaluation in a hypernetwork run")
        // Recorded, not judged here (a tiny hypernetwork after 2 rounds): bench/compare-personalized.sh compares methods.
        for (name, acc) in last.workerAccuracy ?? [:] { XCTAssertTrue((0...1).contains(acc), name) }
        print("per-worker held-out accuracy: \(last.workerAccuracy!.sorted { $0.key < $1.key })")
        XCTAssertTrue(workers.allSatisfy { $0.blocksSent == 2 })

        // The line in rounds.jsonl carries the per-worker numbers; θ travels and is stored as one flat 'theta'.
        let line = try String(contentsOf: out.appendingPathComponent("rounds.jsonl"), encoding: .utf8).split(separator: "\n").last!
        XCTAssertTrue(line.contains("\"workerAccuracy\""), String(line))
        XCTAssertEqual(try Checkpoint.read(from: out.appendingPathComponent("checkpoint.json")).parameters(for: config.model), server.parameters)

        // Personalized: the same z gives different outputs under different workers' x.
        let z = [Float](repeating: 0.25, count: 64)
        let rows = Matrix<Float>(rows: 2, columns: 67, elements: [1, 0, 0] + z + [0, 1, 0] + z)
        let outputs = try config.model.outputs(rows, parameters: server.parameters)
        XCTAssertNotEqual(Array(outputs.elements[0..<10]), Array(outputs.elements[10..<20]))
    }

    /// FedAvg trains the same hypernetwork (local SGD through the dense block's `Z v`): it runs, moves w and the held-out
    /// accuracy of every worker is recorded.
    func testFedAvgTrainsAHypernetworkToo() throws {
        let out = temporaryDirectory()
        defer { try? FileManager.default.removeItem(at: out) }
        let config = try Self.hyperConfig(rounds: 2, output: out, model: "{hypernetwork: {meta_widths: [3], meta_bias_scale: 1, primary_widths: [64, 16, 10]}, seed: 2}",
                                          training: "  strategy: fedavg\n  fedavg: {local_epochs: 2, learning_rate: 1, batch_size: 16}")
        let (server, _) = try runInProcess(config)
        XCTAssertNotEqual(server.parameters, try config.model.initialParameters(seed: 2, as: Float.self))
        XCTAssertTrue(server.parameters.allSatisfy(\.isFinite))
        XCTAssertEqual(server.history.last?.workerAccuracy.map { Set($0.keys) }, ["w0", "w1", "w2"])
        print("FedAvg hypernetwork, per-worker held-out accuracy after 1 round: \(server.history.last!.workerAccuracy!.sorted { $0.key < $1.key })")
    }

    /// The worker's held-out part of its shard and its training part are disjoint and together its shard.
    func testShardFractionSplitsTheWorkersOwnShard() throws {
        let out = temporaryDirectory()
        defer { try? FileManager.default.removeItem(at: out) }
        let config = try Self.hyperConfig(output: out)
        let w = config.workers[1]
        var whole = w.data
        whole.shardSplit = nil
        let table = try whole.loadTable()
        let all = try whole.selectedRows(of: table), train = try w.data.selectedRows(of: table), held = try w.heldOut!.selectedRows(of: table)
        XCTAssertEqual(Set(train).intersection(held), [])
        XCTAssertEqual((train + held).sorted(), all)
        XCTAssertEqual(Double(held.count) / Double(all.count), 0.25, accuracy: 0.06)
    }

    /// The welcome carries the hypernetwork; exactly one model field is accepted.
    func testWelcomeCarriesTheHypernetwork() throws {
        let h = try HypernetworkArchitecture(metaWidths: [4, 8], primaryWidths: [64, 16, 10])
        let welcome = Welcome(workerID: 3, runName: "r", model: .hypernetwork(h), blockFormat: .dense)
        let decoded = try Wire.decode(try Message(welcome).encoded()).payload(Welcome.self)
        XCTAssertEqual(decoded, welcome)
        XCTAssertEqual(decoded.model, .hypernetwork(h))
        var both = welcome
        both.architecture = try MLPArchitecture(widths: [68, 10])
        XCTAssertThrowsError(try both.validate())
        var factored = welcome
        factored.blockFormat = .factored
        XCTAssertThrowsError(try factored.validate())
        let theta: [Float] = try ModelArchitecture.hypernetwork(h).initialParameters(seed: 1)
        let arrays = try ModelArchitecture.hypernetwork(h).wireArrays(theta)
        XCTAssertEqual(arrays.map(\.name), ["theta"])
        XCTAssertEqual(try ModelArchitecture.hypernetwork(h).parameters(fromWire: arrays, as: Float.self), theta)
    }

    func testHypernetworkConfigErrorsSayWhatAndWhere() throws {
        let out = temporaryDirectory()
        defer { try? FileManager.default.removeItem(at: out) }
        func message(model: String? = nil, workerExtra: [String]? = nil, server: String = "") -> String {
            do { _ = try Self.hyperConfig(output: out, model: model, workerExtra: workerExtra, server: server); return "" } catch { return "\(error)" }
        }
        // One-hot needs meta_widths[0] = number of workers.
        let oneHot = message(model: "{hypernetwork: {meta_widths: [4, 8], primary_widths: [64, 8, 10]}}")
        XCTAssertTrue(oneHot.contains("one-hot") && oneHot.contains("meta_widths[0] is 4") && oneHot.contains("(3)"), oneHot)
        // Explicit features of the wrong length name the worker's key.
        let explicit = message(workerExtra: ["client_features: [1, 0, 0]", "client_features: [0, 1]", "client_features: one-hot"])
        XCTAssertTrue(explicit.contains("workers[1].client_features") && explicit.contains("2 values"), explicit)
        XCTAssertEqual(message(workerExtra: ["client_features: [1, 2, 3]", "client_features: [0, 1, 0.5]", "client_features: one-hot"]), "")
        XCTAssertTrue(message(workerExtra: ["client_features: two-hot", "client_features: one-hot", "client_features: one-hot"])
            .contains("neither one-hot"))
        // Client features on an MLP, an MLP key next to a hypernetwork, missing widths, bad widths.
        XCTAssertTrue(message(model: "{widths: [64, 10]}", workerExtra: Array(repeating: "client_features: [1]", count: 3))
            .contains("only a hypernetwork"))
        XCTAssertTrue(message(model: "{hypernetwork: {meta_widths: [3], primary_widths: [64, 10]}, widths: [64, 10]}").contains("remove 'widths'"))
        XCTAssertTrue(message(model: "{hypernetwork: {meta_widths: [3]}}").contains("primary_widths"))
        XCTAssertTrue(message(model: "{hypernetwork: {meta_widths: [3], primary_widths: [64]}}").contains("H ≥ 1"))
        // The data must be z: 64 digits features, so primary_widths[0] = 10 would be refused at registration; the
        // server's own evaluation set and factored blocks are refused here.
        XCTAssertTrue(message(server: "  evaluation: {file: data/digits.csv, feature_scale: 0.0625, classes: 10, split: test}").contains("held_out"))
        XCTAssertTrue(message(server: "  block_format: factored").contains("dense"))
    }
}
