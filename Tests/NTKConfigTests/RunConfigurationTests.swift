import Foundation
import NTKConfig
import NTKCore
import XCTest

final class RunConfigurationTests: XCTestCase {
    private var repoRoot: URL { URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent().deletingLastPathComponent() }

    func testShippedConfigLoadsAndItsShardsPartitionTheTrainingSplit() throws {
        let config = try RunConfiguration.load(repoRoot.appendingPathComponent("configs/digits-4workers.yaml"))
        XCTAssertEqual(config.architecture.widths, [64, 512, 512, 10])
        XCTAssertEqual(config.workers.map(\.name), ["worker-0", "worker-1", "worker-2", "worker-3"])
        XCTAssertEqual(config.timeSelection, .nonlinearLoss)
        let shards = try config.workers.map { try $0.data.load() }
        var whole = config.workers[0].data
        whole.shard = nil
        XCTAssertEqual(shards.reduce(0) { $0 + $1.inputs.rows }, try whole.load().inputs.rows)
        XCTAssertEqual(try config.server.evaluation!.load().inputs.rows + shards.reduce(0) { $0 + $1.inputs.rows }, 1797)
        XCTAssertLessThanOrEqual(shards.flatMap(\.inputs.elements).max()!, 1.0)   // pixels/16
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
    }
}
