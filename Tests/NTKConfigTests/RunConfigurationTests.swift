import Foundation
import NTKConfig
import NTKCore
import NTKData
import XCTest

final class RunConfigurationTests: XCTestCase {
    private var repoRoot: URL { URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent().deletingLastPathComponent() }

    func testShippedConfigLoadsAndItsShardsPartitionTheTrainingSplit() throws {
        let config = try RunConfiguration.load(repoRoot.appendingPathComponent("configs/digits-4workers.yaml"))
        XCTAssertEqual(config.model.mlp?.widths, [64, 512, 512, 10])
        XCTAssertEqual(config.workers.map(\.name), ["worker-0", "worker-1", "worker-2", "worker-3"])
        XCTAssertEqual(config.timeSelection, .nonlinearLoss)
        let shards = try config.workers.map { try $0.data.load() }
        var whole = config.workers[0].data
        whole.shard = nil
        XCTAssertEqual(shards.reduce(0) { $0 + $1.inputs.rows }, try whole.load().inputs.rows)
        XCTAssertEqual(try config.server.evaluation!.load().inputs.rows + shards.reduce(0) { $0 + $1.inputs.rows }, 1797)
        XCTAssertLessThanOrEqual(shards.flatMap(\.inputs.elements).max()!, 1.0)   // pixels/16
    }

    func testEveryShippedConfigLoadsWithItsData() throws {
        let directory = repoRoot.appendingPathComponent("configs")
        let files = try FileManager.default.contentsOfDirectory(atPath: directory.path).filter { $0.hasSuffix(".yaml") }.sorted()
        XCTAssertGreaterThanOrEqual(files.count, 6)
        for file in files {
            let config = try RunConfiguration.load(directory.appendingPathComponent(file))
            let first = try config.workers[0].data.load(scaling: FeatureScaling())
            // A hypernetwork's rows are [x, z]: the worker prepends its client features x to the data's z.
            XCTAssertEqual((config.workers[0].clientFeatures?.count ?? 0) + first.inputs.columns, config.model.inputDimension, file)
            XCTAssertEqual(first.targets.columns, config.model.outputCount, file)
        }
    }

    private func error(_ yaml: String) -> String {
        do {
            _ = try RunConfiguration.parse(yaml: yaml, file: "bad.yaml", baseDirectory: URL(fileURLWithPath: "/tmp"))
            return "no error"
        } catch { return "\(error)" }
    }

    private let valid = """
    run: {id: t}
    model: {widths: [4, 8, 2]}
    server: {expected_workers: 1}
    workers:
      - {name: a, data: {file: x.csv}}
    """

    func testInvalidConfigsNameFileKeyAndProblem() {
        XCTAssertEqual(error(valid), "no error")
        XCTAssertTrue(error("run: [").hasPrefix("bad.yaml: not valid YAML"), error("run: ["))
        XCTAssertEqual(error(valid.replacingOccurrences(of: "run: {id: t}", with: "run: {id: t, rouns: 3}")),
                       "bad.yaml:1: run.rouns: unknown key (known here: id, output_dir, rounds, stop_at_accuracy)")
        XCTAssertTrue(error(valid.replacingOccurrences(of: "[4, 8, 2]", with: "[4, x, 2]")).contains("model.widths[1]: expected a finite number"))
        XCTAssertTrue(error(valid + "\ntraining: {loss: hinge}").contains("training.loss: \"hinge\" is not one of: mse, xent"))
        XCTAssertTrue(error(valid + "\ntraining: {learning_rate: -1}").contains("training.learning_rate: must be > 0"))
        XCTAssertTrue(error(valid.replacingOccurrences(of: "expected_workers: 1", with: "expected_workers: 1, endpoint: localhost")).contains("server.endpoint"))
        XCTAssertTrue(error(valid + "\n  - {name: a, data: {file: y.csv}}").contains("duplicate worker name"))
        XCTAssertTrue(error(valid.replacingOccurrences(of: "model: {widths: [4, 8, 2]}", with: "")).contains("missing section 'model'"))
        XCTAssertTrue(error(valid + "\ntraining: {time: {selection: fixed}}").contains("training.time.fixed"))
        XCTAssertTrue(error(valid.replacingOccurrences(of: "expected_workers: 1", with: "expected_workers: 1, block_dtype: i64")).contains("server.block_dtype: must be f32, f16 or bf16"))
    }

    func testClientsParticipationPresetAndEarlyStop() throws {
        let yaml = """
        run: {id: c, rounds: 50, stop_at_accuracy: 0.9}
        model: {widths: [64, 100, 10]}
        training: {preset: ntk-fl, learning_rate: 0.02}
        server:
          participation: {fraction: 0.07, seed: 4}
          min_workers: 10
        clients:
          count: 300
          processes: 4
          data: {file: x.csv, classes: 10, split: train, shard: {scheme: dirichlet, alpha: 0.1, seed: 2}}
          held_out: {shard_fraction: 0.25}
        """
        let config = try RunConfiguration.parse(yaml: yaml, file: "c.yaml", baseDirectory: URL(fileURLWithPath: "/tmp"))
        XCTAssertEqual(config.workers.count, 300)
        XCTAssertEqual(config.server.expectedWorkers, 300)
        XCTAssertEqual(config.workers.first?.name, "client-000")
        XCTAssertEqual(config.workers.last?.name, "client-299")
        XCTAssertEqual(config.workers.map { $0.data.shard!.index }, Array(0..<300))
        XCTAssertTrue(config.workers.allSatisfy { $0.data.shard!.count == 300 && $0.data.shard!.alpha == 0.1 && $0.heldOut?.shard == $0.data.shard })
        // Contiguous blocks of 75 clients per process.
        XCTAssertEqual(Set(config.workers.compactMap(\.process)).count, 4)
        XCTAssertEqual(config.workers[74].process, "client-process-0")
        XCTAssertEqual(config.workers[75].process, "client-process-1")
        XCTAssertEqual(config.server.participation, Participation(size: .fraction(0.07), seed: 4))
        XCTAssertEqual(config.server.participation?.sampleSize(of: 300), 21)
        XCTAssertEqual(config.stopAtAccuracy, 0.9)
        // The NTK-FL preset, with an explicit key overriding it.
        XCTAssertEqual(config.linearization.loss, .crossEntropy)
        XCTAssertEqual(config.linearization.kernel, .outputAveraged)
        XCTAssertEqual(config.linearization.learningRate, 0.02)
        XCTAssertEqual(config.timeCandidates, [100, 200, 300, 400, 500, 600, 700, 800, 900, 1000, 1500, 2000])
        XCTAssertEqual(config.refresh, .everyRound)
        XCTAssertEqual(config.timeSelection, .nonlinearLoss)

        // The paper's η belongs to the standard parametrization; NTK parametrization takes η = 1 (see TrainingPreset).
        func presetRate(_ replacements: [(String, String)]) throws -> Double {
            let text = replacements.reduce(yaml) { $0.replacingOccurrences(of: $1.0, with: $1.1) }
            return try RunConfiguration.parse(yaml: text, file: "c.yaml", baseDirectory: URL(fileURLWithPath: "/tmp")).linearization.learningRate
        }
        XCTAssertEqual(try presetRate([(", learning_rate: 0.02", "")]), 1)
        XCTAssertEqual(try presetRate([(", learning_rate: 0.02", ""), ("[64, 100, 10]}", "[64, 100, 10], parametrization: standard}")]), 0.01)

        func bad(_ old: String, _ new: String) -> String {
            error(yaml.replacingOccurrences(of: old, with: new))
        }
        XCTAssertTrue(bad("scheme: dirichlet,", "index: 3, scheme: dirichlet,").contains("clients.data.shard.index: the clients' shard template takes no 'index'"))
        XCTAssertTrue(bad("processes: 4", "processes: 400").contains("clients.processes: must be between 1 and count (300)"))
        XCTAssertTrue(bad("min_workers: 10", "min_workers: 30").contains("server.min_workers: must be between 1 and the clients of a round (21)"))
        XCTAssertTrue(bad("fraction: 0.07", "fraction: 0.07, clients_per_round: 5").contains("give either 'clients_per_round' or 'fraction'"))
        XCTAssertTrue(bad("fraction: 0.07", "clients_per_round: 301").contains("server.participation.clients_per_round"))
        XCTAssertTrue(bad("preset: ntk-fl,", "preset: ntk-fl, refresh: {schedule: every, rounds: 2},").contains("training.refresh: with partial participation"))
        XCTAssertTrue(bad("preset: ntk-fl", "preset: fedfl").contains("training.preset: \"fedfl\" is not one of: default, ntk-fl"))
        XCTAssertTrue(bad("stop_at_accuracy: 0.9", "stop_at_accuracy: 90").contains("run.stop_at_accuracy"))
        XCTAssertTrue(bad("count: 300", "count: 0").contains("clients.count"))
    }

    func testFederatedStandardizationMustBeTheSameEverywhere() throws {
        let two = """
        run: {id: t}
        model: {widths: [4, 8, 2]}
        server: {expected_workers: 2, evaluation: {file: x.csv, standardize: federated}}
        workers:
          - {name: a, data: {file: x.csv, standardize: federated}}
          - {name: b, data: {file: x.csv, standardize: federated}}
        """
        XCTAssertEqual(error(two), "no error")
        let config = try RunConfiguration.parse(yaml: two, file: "ok.yaml", baseDirectory: URL(fileURLWithPath: "/tmp"))
        XCTAssertEqual(config.workers.map(\.data.standardization), [.federated, .federated])
        XCTAssertEqual(error(two.replacingOccurrences(of: "{name: b, data: {file: x.csv, standardize: federated}}", with: "{name: b, data: {file: x.csv}}")),
                       "bad.yaml:6: workers[1].data: 'standardize: none' in data of b, but the workers' data use 'federated': every worker, held-out split and the server's evaluation must agree")
        XCTAssertTrue(error(two.replacingOccurrences(of: "evaluation: {file: x.csv, standardize: federated}", with: "evaluation: {file: x.csv}"))
            .contains("'standardize: none' in server.evaluation of a"))
        XCTAssertTrue(error(two.replacingOccurrences(of: "{name: a, data: {file: x.csv, standardize: federated}}",
                                                     with: "{name: a, data: {file: x.csv, standardize: federated, feature_std: 2}}"))
            .contains("workers[0].data.feature_std: 'standardize: federated' computes the offset and std from the workers' pooled statistics"))
        XCTAssertTrue(error(two.replacingOccurrences(of: "standardize: federated}}\n  - {name: b", with: "standardize: pooled}}\n  - {name: b"))
            .contains("\"pooled\" is not one of: none, federated"))
    }
}
