import Foundation
import NTKConfig
import NTKCore
import NTKServer
import NTKTransport
import NTKWorker
import XCTest

/// Partial participation, round deadlines, many clients in one host, early stop — over the in-process hub.
final class ParticipationFederationTests: XCTestCase {
    private let participation = "  participation: {clients_per_round: 3, seed: 11}\n  min_workers: 2"

    func testSamplingIsReproducibleFromTheSeed() throws {
        let clients = (0..<20).map { "c\($0)" }
        let sampler = ClientSampling(Participation(size: .count(5), seed: 42))
        let draws = (1...30).map { sampler.participants(round: $0, among: clients) }
        XCTAssertEqual(draws, (1...30).map { ClientSampling(Participation(size: .count(5), seed: 42)).participants(round: $0, among: clients) })
        for d in draws {
            XCTAssertEqual(d.count, 5)
            XCTAssertEqual(Set(d).count, 5)
            XCTAssertEqual(d, clients.filter(d.contains), "participants keep the clients' order")
        }
        XCTAssertGreaterThan(Set(draws).count, 25, "rounds draw different clients")
        let otherSeed = (1...30).map { ClientSampling(Participation(size: .count(5), seed: 43)).participants(round: $0, among: clients) }
        XCTAssertNotEqual(draws, otherSeed)
        // Over many rounds every client is drawn about equally often (150 draws of 20: 7.5 each).
        var counts = [String: Int]()
        for d in draws { for c in d { counts[c, default: 0] += 1 } }
        XCTAssertEqual(counts.count, 20)
        XCTAssertLessThan(counts.values.max()!, 16)
        XCTAssertEqual(ClientSampling(Participation(size: .fraction(0.07), seed: 1)).participants(round: 1, among: (0..<300).map { "c\($0)" }).count, 21)
        XCTAssertEqual(ClientSampling(nil).participants(round: 3, among: clients), clients)

        // Two whole runs with the same seed: the same clients every round, the same weights.
        var runs: [[RoundRecord]] = [], thetas: [[Float]] = []
        for _ in 0..<2 {
            let out = temporaryDirectory()
            defer { try? FileManager.default.removeItem(at: out) }
            let (server, _) = try runInProcess(try digitsConfig(workers: 6, rounds: 3, server: participation, output: out))
            runs.append(server.history)
            thetas.append(server.parameters)
        }
        XCTAssertEqual(runs[0].map(\.sampled), runs[1].map(\.sampled))
        XCTAssertEqual(thetas[0], thetas[1])
        for r in runs[0] {
            XCTAssertEqual(r.sampled?.count, 3)
            XCTAssertEqual(r.workers, r.sampled, "every sampled client delivered; only they did")
            // Clients outside the sample send heartbeats only (tens of bytes); the sampled ones their blocks.
            for (client, bytes) in r.bytesReceived {
                if r.sampled!.contains(client) { XCTAssertGreaterThan(bytes, 20_000, client) } else { XCTAssertLessThan(bytes, 2_000, client) }
            }
        }
        XCTAssertGreaterThan(runs[0].last!.testAccuracy!, 0.6)
    }

    func testClientMissingTheDeadlineDoesNotStallTheRound() throws {
        let out = temporaryDirectory()
        defer { try? FileManager.default.removeItem(at: out) }
        var config = try digitsConfig(workers: 4, rounds: 3, output: out)
        config.server.roundDeadline = 1.5
        config.server.minWorkers = 3
        // w2 holds its first block until the server has finished round 1: the round can only end without it.
        let (server, _) = try runInProcess(config) { $0[2].beforeUpload = { round in if round == 1 { waitUntilLogged(round: 1, in: out) } } }
        let first = server.history[0]
        XCTAssertEqual(first.missingWorkers, ["w2"])
        XCTAssertEqual(first.workers, ["w0", "w1", "w3"])
        XCTAssertGreaterThanOrEqual(first.seconds.blocks, 1.5, "the round waited for its deadline")
        // Its late block is refused (wrong round); it takes part again afterwards.
        XCTAssertTrue(server.history.dropFirst().contains { $0.workers == ["w0", "w1", "w2", "w3"] }, "\(server.history.map(\.workers))")
    }

    func testClientsSharingOneHostGiveTheWeightsOfSeparateWorkers() throws {
        func run(hosted: Bool) throws -> [Float] {
            let out = temporaryDirectory()
            defer { try? FileManager.default.removeItem(at: out) }
            let config = try digitsConfig(workers: 8, rounds: 2, server: participation, output: out)
            guard hosted else { return try runInProcess(config).server.parameters }
            let hub = InProcessHub()
            let server = try FederatedServer(config: config, transport: hub.bindServer(), logger: quietLogger)
            let host = try ClientHost(settings: config.workers, connect: { hub.connectWorker($0.name) }, logger: { _ in quietLogger })
            let thread = Background { try host.run() }
            try server.run()
            try thread.join()
            XCTAssertEqual(host.clients.map(\.blocksSent).reduce(0, +), 6, "3 sampled clients × 2 rounds computed blocks")
            return server.parameters
        }
        XCTAssertEqual(try run(hosted: true), try run(hosted: false))
    }

    func testRunStopsAtTheTargetAccuracy() throws {
        let out = temporaryDirectory()
        defer { try? FileManager.default.removeItem(at: out) }
        var config = try digitsConfig(workers: 3, rounds: 10, output: out)
        config.stopAtAccuracy = 0.8
        let (server, _) = try runInProcess(config)
        let accuracies = server.history.map { $0.testAccuracy! }
        XCTAssertLessThan(accuracies.count, 10)
        XCTAssertGreaterThanOrEqual(accuracies.last!, 0.8)
        XCTAssertTrue(accuracies.dropLast().allSatisfy { $0 < 0.8 }, "\(accuracies)")
    }
}
