import Foundation
import XCTest
import NTKReport

/// The whole page: well-formed, every section present, and honest about missing data.
final class ReportPageTests: XCTestCase {
    func testPageParsesAsXMLWithEveryChart() throws {
        let page = ReportPage(title: "NTK vs FedAvg", runs: RunFixtures.twoRuns(), target: 0.97).html()
        let xml = try XMLSummary.parse(page)
        XCTAssertEqual(xml.root, "html")
        // accuracy ×2, loss ×2, phases per run ×2, one spectrum (NTK only), condition number, effective rank, drift
        XCTAssertEqual(xml.count("svg"), 10)
        XCTAssertEqual(xml.count("tr"), 3)
        XCTAssertTrue(xml.texts.contains("No kernel spectrum for fedavg-run (FedAvg)."))
        XCTAssertTrue(xml.texts.contains("round 2 (ritz, 40 values)"))
        XCTAssertTrue(xml.texts.contains("target 97%"))
        XCTAssertTrue(xml.texts.contains("local training"))  // FedAvg's phase
        XCTAssertFalse(page.contains("<script"))
        XCTAssertFalse(page.replacingOccurrences(of: "http://www.w3.org/", with: "").contains("http"))  // nothing fetched
    }

    func testSectionsWithoutDataSaySo() throws {
        let fedAvgOnly = [RunFixtures.twoRuns()[1]]
        let xml = try XMLSummary.parse(ReportPage(title: "FedAvg", runs: fedAvgOnly, target: 0.97).html())
        XCTAssertEqual(xml.count("svg"), 5)  // accuracy ×2, loss ×2, phases
        XCTAssertTrue(xml.texts.contains("No run recorded a kernel spectrum (FedAvg computes no kernel)."))
        XCTAssertTrue(xml.texts.contains { $0.hasPrefix("No run recorded a kernel drift") })
    }

    func testRunNamesAreEscaped() throws {
        var runs = RunFixtures.twoRuns()
        runs[0] = RunHistory(name: "a<b>&\"c\"", directory: URL(fileURLWithPath: "/tmp/a<b>&c"), records: runs[0].records)
        let page = ReportPage(title: "<script>alert(1)</script>", runs: runs, target: 0.97).html()
        XCTAssertFalse(page.contains("<script>"))
        let xml = try XMLSummary.parse(page)
        XCTAssertTrue(xml.texts.contains("a<b>&\"c\""))
        XCTAssertTrue(xml.texts.contains("<script>alert(1)</script>"))
    }

    func testReportOfRealRunFilesLoadsAndRenders() throws {
        let runs = RunFixtures.twoRuns()
        let dirs = try runs.map { try RunFixtures.directory($0.name, text: RunFixtures.jsonl($0.records)) }
        let loaded = try dirs.map(RunHistory.load)
        XCTAssertEqual(loaded.map(\.strategy), [.ntk, .fedAvg])
        XCTAssertEqual(loaded[0].records.compactMap(\.spectrum), runs[0].records.compactMap(\.spectrum))
        _ = try XMLSummary.parse(ReportPage(title: "loaded", runs: loaded, target: 0.97, generated: Date()).html())
    }
}
