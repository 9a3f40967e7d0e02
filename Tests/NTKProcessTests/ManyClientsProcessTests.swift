import Foundation
import NTKCore
import NTKServer
import XCTest

/// Many logical clients per worker process, over real sockets: the server reasons about clients, so how
/// they are housed changes nothing.
final class ManyClientsProcessTests: ProcessTestCase {
    /// 50 clients (digits, Dirichlet label skew), 10 sampled per round, either in 2 worker processes or in 50.
    private func clientsConfiguration(_ run: ProcessRun, processes: Int) -> String {
        """
        run: {id: many-clients, output_dir: \(run.output.path), rounds: 3}
        model: {widths: [64, 128, 10], seed: 0}
        training:
          time: {candidates: [100, 1000, 10000]}
        server:
          endpoint: \(run.endpoint)
          participation: {clients_per_round: 10, seed: 5}
          round_deadline_seconds: 120
          registration_timeout_seconds: 120
          evaluation: {file: \(digitsCSV), feature_scale: 0.0625, classes: 10, split: test}
        clients:
          count: 50
          processes: \(processes)
          data: {file: \(digitsCSV), feature_scale: 0.0625, classes: 10, split: train, shard: {seed: 1, scheme: dirichlet, alpha: 0.5, min_samples: 5}}
        """
    }

    private func runFederation(processes: Int) throws -> (records: [RoundRecord], theta: [Float], output: String) {
        let run = makeRun("clients-\(processes)")
        try run.write(config: clientsConfiguration(run, processes: processes))
        let ntk = try Child("ntk", ["run", run.configURL.path], name: "ntk-run",
                            log: run.directory.appendingPathComponent("ntk-run.log"), blasThreads: nil)
        let status = ntk.wait(timeout: 240)
        if status == nil { ntk.killNow() }
        XCTAssertEqual(status, 0, ntk.tail)
        let config = try run.configuration()
        let theta = try Checkpoint.read(from: run.output.appendingPathComponent("checkpoint.json")).parameters(for: config.model)
        return (run.rounds(), theta, ntk.output)
    }

    func testFiftyClientsInTwoProcessesEqualFiftyProcesses() throws {
        let two = try runFederation(processes: 2)
        let fifty = try runFederation(processes: 50)
        XCTAssertTrue(two.output.contains("2 worker processes hosting 50 clients"), two.output)
        XCTAssertTrue(fifty.output.contains("started ntk-server and 50 worker processes (logs"), fifty.output)
        XCTAssertEqual(two.records.map(\.round), [1, 2, 3])
        XCTAssertEqual(fifty.records.map(\.round), [1, 2, 3])
        for (a, b) in zip(two.records, fifty.records) {
            // The same seeded sample of 10 clients each round, all of which delivered.
            XCTAssertEqual(a.sampled?.count, 10)
            XCTAssertEqual(a.sampled, b.sampled)
            XCTAssertEqual(a.workers, a.sampled)
            XCTAssertEqual(b.workers, b.sampled)
            XCTAssertEqual(a.time, b.time)
        }
        XCTAssertNotEqual(two.records[0].sampled, two.records[1].sampled, "rounds draw different clients")
        XCTAssertEqual(two.theta.count, fifty.theta.count)
        // Same blocks, same order on the server, same solver: the weights agree to the bit (measured: identical).
        let difference = zip(two.theta, fifty.theta).map { abs($0 - $1) }.max() ?? .infinity
        XCTAssertEqual(difference, 0, "θ differs by up to \(difference) between 2 and 50 worker processes")
        XCTAssertGreaterThan(try XCTUnwrap(two.records.last?.testAccuracy), 0.85)
    }
}
