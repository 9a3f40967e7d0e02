import Foundation
import NTKCore
import XCTest
import NTKReport

/// The whole page: well-formed, every section present, and honest about missing data.
final class ReportPageTests: XCTestCase {
    func testPageParsesAsXMLWithEveryChart() throws {
        let page = ReportPage(title: "NTK vs FedAvg", runs: RunFixtures.twoRuns(), target: 0.97).html()
        let xml = try XMLSummary.parse(page)
        XCTAssertEqual(xml.root, "html")
        // accuracy ×2, loss ×2, phases per run ×2, one spectrum (NTK only), condition number, effective rank,
        // stable step, slow residual, drift
        XCTAssertEqual(xml.count("svg"), 12)
        // summary: heading + 2 runs; step section: heading + the NTK run's 3 refreshes
        XCTAssertEqual(xml.count("tr"), 3 + 4)
        XCTAssertTrue(xml.texts.contains("Step size and slow directions"))
        XCTAssertTrue(xml.texts.contains("Stable step for gradient descent"))
        XCTAssertTrue(xml.texts.contains("Residual in slow directions"))
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
        XCTAssertTrue(xml.texts.contains { $0.hasPrefix("No run recorded the stable step or the slow residual") })
    }

    /// The fixture's spectra carry the diagnostics: the step table shows them per refresh, as the definitions give them.
    func testStepSectionTabulatesEachRefresh() throws {
        let runs = RunFixtures.twoRuns()
        let xml = try XMLSummary.parse(ReportPage(title: "steps", runs: runs, target: 0.97).html())
        for (record, scale) in zip(runs[0].records, [1.0, 1.1, 1.2]) {
            // λ_j = 100·scale/j², m = 50, η = 1, τ = 10, ρ = 0, residual spread evenly over the 40 directions.
            let lambdas = (1...40).map { scale * 100 / Double($0 * $0) }
            let slow = Double(lambdas.filter { $0 <= 50.0 / 10 }.count) / 40
            let step = 2 / (lambdas[0] / 50)
            let cells = SpectrumTable.cells(SpectrumRow(run: runs[0].name, round: record.round, spectrum: record.spectrum!))
            XCTAssertEqual(cells[7], String(format: "%.4g", step))
            XCTAssertEqual(cells[8], ReportFormat.percent(slow))
            XCTAssertTrue(xml.texts.contains(cells[7]), "stable step \(cells[7]) of round \(record.round) not on the page")
            XCTAssertTrue(xml.texts.contains(cells[8]))
        }
    }

    /// Records written before the diagnostics existed: the spectrum charts still draw, the step section says why it is empty.
    func testOldSpectraWithoutDiagnosticsSaySo() throws {
        var runs = RunFixtures.twoRuns()
        runs[0] = RunHistory(name: runs[0].name, directory: runs[0].directory, records: runs[0].records.map { record in
            var r = record
            r.spectrum = record.spectrum.map { KernelSpectrum(eigenvalues: $0.values, relativeFloor: 1e-7, method: $0.method) }
            return r
        })
        let xml = try XMLSummary.parse(ReportPage(title: "old", runs: runs, target: 0.97).html())
        XCTAssertEqual(xml.count("svg"), 10)
        XCTAssertTrue(xml.texts.contains { $0.hasPrefix("No run recorded the stable step or the slow residual") })
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
