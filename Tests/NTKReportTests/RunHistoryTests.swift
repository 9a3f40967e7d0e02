import Foundation
import NTKServer
import XCTest
import NTKReport

/// Loading run directories: records, running totals, and errors that name the file and the line.
final class RunHistoryTests: XCTestCase {
    func testLoadsRecordsAndRunningTotals() throws {
        let records = [RunFixtures.record(round: 1, accuracy: 0.9, up: 1000, down: 500, seconds: 2),
                       RunFixtures.record(round: 2, accuracy: 0.95, up: 3000, down: 700, seconds: 1.5)]
        // A trailing blank line, as an editor might leave, is not a record.
        let dir = try RunFixtures.directory("my-run", text: RunFixtures.jsonl(records) + "\n")
        let run = try RunHistory.load(dir)
        XCTAssertEqual(run.name, "my-run")
        XCTAssertEqual(run.records.map(\.round), [1, 2])
        XCTAssertEqual(run.records.map(\.testAccuracy), [0.9, 0.95])
        XCTAssertEqual(run.bytesUp, [1000, 3000])
        XCTAssertEqual(run.cumulativeBytes, [1500, 5200])
        XCTAssertEqual(run.cumulativeSeconds, [2, 3.5])
        XCTAssertEqual(run.strategy, .ntk)
    }

    /// `ntk spectrum`'s rows: one per refresh, read back from a run directory, as text and as JSON.
    func testSpectrumRowsFromARunDirectory() throws {
        let run = RunFixtures.twoRuns()[0]
        let loaded = try RunHistory.load(try RunFixtures.directory(run.name, text: RunFixtures.jsonl(run.records)))
        let rows = SpectrumTable.rows(loaded)
        XCTAssertEqual(rows.map(\.round), [1, 2, 3])
        for (row, record) in zip(rows, run.records) {
            let spectrum = record.spectrum!
            XCTAssertEqual(row.largest, spectrum.values.max())
            XCTAssertEqual(row.smallest, spectrum.values.min())
            XCTAssertEqual(row.stableStep, spectrum.stableStep)
            XCTAssertEqual(row.slowResidualFraction, spectrum.slowResidualFraction)
            XCTAssertNotNil(row.slowResidualFraction)
        }
        XCTAssertTrue(SpectrumTable.rows(RunFixtures.twoRuns()[1]).isEmpty, "FedAvg has no kernel")
        let text = SpectrumTable.text(rows).split(separator: "\n")
        XCTAssertEqual(text.count, 4)
        XCTAssertTrue(text[0].hasPrefix("run"))
        XCTAssertEqual(try JSONDecoder().decode([SpectrumRow].self, from: Data(try SpectrumTable.json(rows).utf8)), rows)
    }

    func testFedAvgIsRecognisedBySolver() throws {
        let dir = try RunFixtures.directory("avg", text: RunFixtures.jsonl([RunFixtures.record(round: 1, accuracy: 0.8, solver: "fedavg")]))
        XCTAssertEqual(try RunHistory.load(dir).strategy, .fedAvg)
    }

    func testFedProxAndScaffoldAreBaselinesLikeFedAvg() throws {
        for (solver, strategy) in [("fedprox (μ = 0.01)", RunHistory.Strategy.fedProx), ("scaffold", .scaffold), ("fedavg", .fedAvg)] {
            let dir = try RunFixtures.directory("baseline", text: RunFixtures.jsonl([RunFixtures.record(round: 1, accuracy: 0.8, solver: solver)]))
            let run = try RunHistory.load(dir)
            XCTAssertEqual(run.strategy, strategy, solver)
            XCTAssertTrue(run.strategy.isBaseline, solver)
            XCTAssertTrue(run.label.hasSuffix("(\(strategy.rawValue))"))
        }
        XCTAssertFalse(RunHistory.Strategy.ntk.isBaseline)
    }

    func testMalformedLineNamesFileAndLine() throws {
        let good = RunFixtures.jsonl([RunFixtures.record(round: 1, accuracy: 0.9), RunFixtures.record(round: 2, accuracy: 0.91)])
        let dir = try RunFixtures.directory("broken", text: good + "{\"round\": 3, \"refreshed\": tru\n")
        XCTAssertThrowsError(try RunHistory.load(dir)) { error in
            let error = error as! RunHistoryError
            XCTAssertEqual(error.line, 3)
            XCTAssertEqual(error.file.lastPathComponent, "rounds.jsonl")
            XCTAssertTrue(error.description.hasSuffix("rounds.jsonl:3: not valid JSON"), error.description)
        }
    }

    func testMissingKeyIsNamed() throws {
        let dir = try RunFixtures.directory("partial", text: "{\"round\": 1}\n")
        XCTAssertThrowsError(try RunHistory.load(dir)) { error in
            let error = error as! RunHistoryError
            XCTAssertEqual(error.line, 1)
            XCTAssertTrue(error.reason.hasPrefix("not a round record: missing key "), error.reason)
        }
    }

    func testMissingAndEmptyFilesAreErrors() throws {
        let missing = try RunFixtures.directory("nothing", text: nil)
        XCTAssertThrowsError(try RunHistory.load(missing)) { error in
            XCTAssertTrue("\(error)".contains("nothing/rounds.jsonl: no such file"), "\(error)")
        }
        let empty = try RunFixtures.directory("empty", text: "\n")
        XCTAssertThrowsError(try RunHistory.load(empty)) { error in
            XCTAssertTrue("\(error)".hasSuffix("empty/rounds.jsonl: no rounds recorded yet"), "\(error)")
        }
    }
}
