import Foundation
import XCTest
import NTKReport

/// The summary's figures: reaching the target, staying above it, what it cost.
final class RunSummaryTests: XCTestCase {
    func testTargetRoundBytesAndSeconds() {
        let runs = RunFixtures.twoRuns()
        let ntk = RunSummary(runs[0], target: 0.97)
        XCTAssertEqual(ntk.strategy, .ntk)
        XCTAssertEqual(ntk.rounds, 3)
        XCTAssertEqual(ntk.targetRound, 2)
        XCTAssertEqual(ntk.bytesToTarget, 2 * 90_000_000)
        XCTAssertEqual(ntk.secondsToTarget, 4)
        XCTAssertEqual(ntk.staysAboveTarget, true)
        XCTAssertEqual(ntk.finalAccuracy, 0.978)
        XCTAssertEqual(ntk.bestAccuracy, 0.978)
        XCTAssertEqual(ntk.bestRound, 3)
        XCTAssertEqual(ntk.totalBytesUp, 180_000_000)
        XCTAssertEqual(ntk.totalBytesDown, 90_000_000)
        XCTAssertEqual(ntk.totalSeconds, 6)
    }

    func testDroppingBelowTheTargetAfterReachingIt() {
        let fedAvg = RunSummary(RunFixtures.twoRuns()[1], target: 0.97)
        XCTAssertEqual(fedAvg.strategy, .fedAvg)
        XCTAssertEqual(fedAvg.targetRound, 4)
        XCTAssertEqual(fedAvg.bytesToTarget, 4 * 9_600_000)
        XCTAssertEqual(fedAvg.staysAboveTarget, false)  // round 5: 96.8%
        XCTAssertEqual(fedAvg.bestRound, 4)
    }

    func testTargetNeverReached() {
        let summary = RunSummary(RunFixtures.twoRuns()[1], target: 0.99)
        XCTAssertNil(summary.targetRound)
        XCTAssertNil(summary.bytesToTarget)
        XCTAssertNil(summary.staysAboveTarget)
        XCTAssertEqual(summary.cells[5], "–")
    }

    func testRoundsWithoutEvaluationDoNotCount() {
        let run = RunHistory(name: "gaps", directory: URL(fileURLWithPath: "/tmp/gaps"), records: [
            RunFixtures.record(round: 1, accuracy: nil), RunFixtures.record(round: 2, accuracy: 0.98),
            RunFixtures.record(round: 3, accuracy: nil),
        ])
        let summary = RunSummary(run, target: 0.97)
        XCTAssertEqual(summary.targetRound, 2)
        XCTAssertEqual(summary.staysAboveTarget, true)
        XCTAssertNil(summary.finalAccuracy)
        XCTAssertEqual(summary.bestAccuracy, 0.98)
    }

    func testCellsMatchHeadings() {
        let summary = RunSummary(RunFixtures.twoRuns()[0], target: 0.975)
        XCTAssertEqual(summary.cells.count, RunSummary.headings(target: 0.975).count)
        XCTAssertEqual(RunSummary.headings(target: 0.975)[5], "round ≥ 97.5%")
        XCTAssertEqual(summary.cells[3], "97.80%")
        XCTAssertEqual(summary.cells[6], "180.0 MB")
    }
}
