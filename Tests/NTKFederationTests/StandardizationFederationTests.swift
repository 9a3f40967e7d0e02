import Foundation
import NTKConfig
import NTKCore
import NTKData
import NTKServer
import NTKWorker
import XCTest

/// `standardize: federated`: the server pools the workers' counts, sums and sums of squares into one mean and
/// standard deviation, every node applies it, and the run equals one process on the standardized union.
final class StandardizationFederationTests: XCTestCase {
    private func breastCancerConfig(workers: Int, output: URL) throws -> RunConfiguration {
        let data = "file: data/breast_cancer.csv, header: true, classes: 2, standardize: federated"
        let list = (0..<workers).map { i in
            "  - {name: w\(i), data: {\(data), split: train, shard: {index: \(i), count: \(workers), seed: 2, scheme: dirichlet, alpha: 1.0}}}"
        }.joined(separator: "\n")
        let yaml = """
        run: {id: std-run, output_dir: \(output.path), rounds: 2}
        model: {widths: [30, 64, 2], activation: relu, bias_scale: 0.1, seed: 1}
        training: {time: {candidates: [10, 100, 1000, 10000]}}
        server:
          expected_workers: \(workers)
          round_deadline_seconds: 20
          heartbeat_seconds: 0.2
          evaluation: {\(data), split: test}
        workers:
        \(list)
        """
        return try RunConfiguration.parse(yaml: yaml, file: "std.yaml", baseDirectory: repoRoot)
    }

    func testPooledStatisticsEqualTheUnionsAndTheRunEqualsOneProcess() throws {
        let out = temporaryDirectory()
        defer { try? FileManager.default.removeItem(at: out) }
        let config = try breastCancerConfig(workers: 3, output: out)
        let (server, workers) = try runInProcess(config)

        // The pooled map is the union's own mean and (population) standard deviation.
        var whole = config.workers[0].data
        whole.shard = nil
        let union = FeatureStatistics(try whole.load(scaling: FeatureScaling()).inputs)
        let pooled = try XCTUnwrap(server.featureStandardization)
        for j in 0..<30 {
            XCTAssertEqual(pooled.offset[j], union.mean[j], accuracy: 1e-12 * max(1, abs(union.mean[j])))
            XCTAssertEqual(pooled.divisor[j], union.standardDeviation[j], accuracy: 1e-9 * union.standardDeviation[j])
        }
        XCTAssertGreaterThan(pooled.offset.max()!, 500, "raw areas are in the hundreds: the map matters")
        XCTAssertEqual(workers.map(\.standardization), Array(repeating: pooled, count: 3))

        // The federation equals one process on the union mapped the same way.
        let map = FeatureScaling(offset: pooled.offset, divisor: pooled.divisor)
        let reference = try CentralizedReference.train(config, workers: config.workers.map(\.name), scaling: map)
        XCTAssertLessThan(relativeDistance(server.parameters, reference), 1e-5)
        XCTAssertGreaterThan(try XCTUnwrap(server.history.last?.testAccuracy), 0.93)
        XCTAssertNotNil(try Checkpoint.read(from: out.appendingPathComponent("checkpoint.json")).featureStandardization)
    }

    /// The shipped regression example: two gzip files, blank-separated, standardized features, no accuracy.
    func testShippedDiabetesRegressionLearns() throws {
        let out = temporaryDirectory()
        defer { try? FileManager.default.removeItem(at: out) }
        var config = try RunConfiguration.load(repoRoot.appendingPathComponent("configs/diabetes-regression.yaml"))
        config.outputDirectory = out.path
        let (server, _) = try runInProcess(config)
        let losses = server.history.compactMap(\.testLoss)
        XCTAssertEqual(losses.count, config.rounds)
        XCTAssertTrue(server.history.allSatisfy { $0.testAccuracy == nil && $0.trainAccuracy == nil }, "accuracy means nothing for regression")
        // Half the mean squared error in the target's units: predicting the mean gives ~2 900 on this data.
        XCTAssertLessThan(losses.last!, 1700)
        XCTAssertLessThan(losses.last!, losses.first! / 3)
    }
}
