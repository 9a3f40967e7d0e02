import Foundation
import NTKTransport
import XCTest

/// Prints transfer rates; asserts only that every byte arrived (timings vary between machines and runs).
/// `NTK_TRANSPORT_BENCH=1` runs longer measurements (about 20 s) and the I/O-thread comparison.
final class TransferBenchmarkTests: XCTestCase {
    func testThroughputFromFourDealersToOneRouter() throws {
        let long = ProcessInfo.processInfo.environment["NTK_TRANSPORT_BENCH"] == "1"
        var plain = TransferBenchmark.Configuration()
        plain.blocksPerSender = long ? 32 : 4
        var curve = plain
        curve.curve = true
        curve.blocksPerSender = long ? 8 : 1
        var runs = [plain, curve]
        if long {
            var twoIOThreads = plain
            twoIOThreads.serverIOThreads = 2
            var curveTwoIOThreads = curve
            curveTwoIOThreads.serverIOThreads = 2
            runs += [twoIOThreads, curveTwoIOThreads]
        }
        for configuration in runs where !configuration.curve || ZMQLibrary.hasCurve {
            let result = try TransferBenchmark.run(configuration)
            print("transfer benchmark: \(result)")
            XCTAssertEqual(result.bytes, configuration.senders * configuration.blocksPerSender * configuration.blockBytes)
        }
    }
}
