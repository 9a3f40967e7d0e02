import Foundation
import NTKConfig
import NTKData
import XCTest

/// `data.shard.scheme` choices in a config, `dirichlet-equal` in particular.
final class ShardSchemeConfigTests: XCTestCase {
    private func parse(_ data: String) throws -> RunConfiguration {
        try RunConfiguration.parse(yaml: """
        run: {id: t}
        model: {widths: [4, 8, 2]}
        server: {expected_workers: 1}
        workers:
          - {name: a, data: \(data)}
        """, file: "c.yaml", baseDirectory: URL(fileURLWithPath: "/tmp"))
    }

    func testDirichletEqualIsAShardSchemeForClassificationData() throws {
        let config = try parse("{file: x.csv, classes: 2, split: train, shard: {index: 3, count: 20, seed: 1, scheme: dirichlet-equal, alpha: 0.1}}")
        let shard = try XCTUnwrap(config.workers[0].data.shard)
        XCTAssertEqual(shard.scheme, .dirichletEqual)
        XCTAssertEqual(shard.partition, PartitionSpec(scheme: .dirichletEqual, workers: 20, seed: 1, alpha: 0.1))
        XCTAssertThrowsError(try parse("{file: x.csv, classes: 0, shard: {index: 0, count: 2, scheme: dirichlet-equal}}")) { error in
            XCTAssertTrue("\(error)".contains("'dirichlet-equal' skews labels and needs classification data"), "\(error)")
        }
        XCTAssertThrowsError(try parse("{file: x.csv, classes: 2, shard: {index: 0, count: 2, scheme: dirichlet_equal}}")) { error in
            XCTAssertTrue("\(error)".contains("iid, dirichlet, shards, quantity, dirichlet-equal"), "\(error)")
        }
    }
}
