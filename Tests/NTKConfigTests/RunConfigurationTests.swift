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
                       "bad.yaml:1: run.rouns: unknown key (known here: id, output_dir, rounds)")
        XCTAssertTrue(error(valid.replacingOccurrences(of: "[4, 8, 2]", with: "[4, x, 2]")).contains("model.widths[1]: expected a finite number"))
        XCTAssertTrue(error(valid + "\ntraining: {loss: hinge}").contains("training.loss: \"hinge\" is not one of: mse, xent"))
        XCTAssertTrue(error(valid + "\ntraining: {learning_rate: -1}").contains("training.learning_rate: must be > 0"))
        XCTAssertTrue(error(valid.replacingOccurrences(of: "expected_workers: 1", with: "expected_workers: 1, endpoint: localhost")).contains("server.endpoint"))
        XCTAssertTrue(error(valid + "\n  - {name: a, data: {file: y.csv}}").contains("duplicate worker name"))
        XCTAssertTrue(error(valid.replacingOccurrences(of: "model: {widths: [4, 8, 2]}", with: "")).contains("missing section 'model'"))
        XCTAssertTrue(error(valid + "\ntraining: {time: {selection: fixed}}").contains("training.time.fixed"))
        XCTAssertTrue(error(valid.replacingOccurrences(of: "expected_workers: 1", with: "expected_workers: 1, block_dtype: i64")).contains("server.block_dtype: must be f32, f16 or bf16"))
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
