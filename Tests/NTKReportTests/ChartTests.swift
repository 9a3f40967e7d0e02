import Foundation
import XCTest
import NTKReport

/// Scales, ticks and the SVG the charts write.
final class ChartTests: XCTestCase {
    func testLogTicksAreDecadesOverWideRanges() {
        let scale = AxisScale(.logarithmic, lower: 0.003, upper: 300)
        XCTAssertEqual(scale.ticks, [0.01, 0.1, 1, 10, 100].map { $0 }, accuracy: 1e-12)
        XCTAssertEqual(scale.ticks.map(scale.label), ["0.01", "0.1", "1", "10", "100"])
        XCTAssertTrue(scale.minorTicks.contains { abs($0 - 0.02) < 1e-12 })
        XCTAssertEqual(scale.fraction(30), 0.8, accuracy: 1e-12)  // log10: (1.477 + 2.523) / (2.477 + 2.523)
    }

    func testLogTicksAddTwoAndFiveOverNarrowRanges() {
        let scale = AxisScale(.logarithmic, lower: 8, upper: 250)
        XCTAssertEqual(scale.ticks, [10, 20, 50, 100, 200], accuracy: 1e-9)
    }

    func testLogTicksThinOutOverManyDecades() {
        let scale = AxisScale(.logarithmic, lower: 1e-9, upper: 1e6)
        XCTAssertLessThanOrEqual(scale.ticks.count, 8)
        XCTAssertEqual(scale.label(1e6), "10⁶")
        XCTAssertEqual(scale.label(1e-6), "10⁻⁶")
        XCTAssertEqual(scale.label(2e-5), "2×10⁻⁵")
    }

    func testLinearTicksAreNiceAndInside() {
        let scale = AxisScale(.linear, lower: -0.03, upper: 1.07)
        XCTAssertEqual(scale.ticks, [0, 0.2, 0.4, 0.6, 0.8, 1.0], accuracy: 1e-12)
        XCTAssertEqual(scale.ticks.map(scale.label), ["0.0", "0.2", "0.4", "0.6", "0.8", "1.0"])
        let rounds = AxisScale(.linear, lower: 0.5, upper: 3.5, integerTicks: true)
        XCTAssertEqual(rounds.ticks, [1, 2, 3])
    }

    func testFittingIgnoresValuesALogAxisCannotShow() {
        let scale = AxisScale.fitting([0, -1, 10, 1000, .nan], kind: .logarithmic)
        XCTAssertGreaterThan(scale.lower, 0)
        XCTAssertLessThan(scale.lower, 10)
        XCTAssertGreaterThan(scale.upper, 1000)
        let zero = AxisScale.fitting([0.2, 0.4], kind: .linear, fromZero: true)
        XCTAssertEqual(zero.lower, 0)
    }

    func testEscaping() {
        XCTAssertEqual(Markup.escape("a<b & \"c\" 'd'>"), "a&lt;b &amp; &quot;c&quot; &#39;d&#39;&gt;")
    }

    func testChartIsWellFormedSVGWithOnePolylinePerSeries() throws {
        let chart = SVGChart(title: "Loss <&> \"quoted\"", xLabel: "round", yLabel: "loss", yScale: .logarithmic, integerX: true, series: [
            .init(name: "a & b", points: [.init(1, 0.5), .init(2, 0.1), .init(3, 0)], color: "#0072B2"),
            .init(name: "c", points: [.init(1, 0.4), .init(2, 0.2)], color: "#D55E00", dashed: true),
            .init(name: "nothing drawable", points: [.init(1, -1)], color: "#000"),
        ])
        let svg = try XMLSummary.parse(chart.svg())
        XCTAssertEqual(svg.root, "svg")
        XCTAssertEqual(svg.count("polyline"), 2)
        XCTAssertEqual(svg.count("circle"), 2 + 2 + 2)  // data markers (the 0 dropped on a log axis) + 2 legend markers
        XCTAssertTrue(svg.texts.contains("Loss <&> \"quoted\""))
        XCTAssertTrue(svg.texts.contains("a & b"))
        XCTAssertFalse(svg.texts.contains("nothing drawable"))
    }

    func testStackedBarsLeaveOutEmptyComponents() throws {
        let chart = StackedBarChart(title: "phases", xLabel: "round", yLabel: "seconds", bars: [1, 2, 3], components: [
            .init(name: "solve", color: "#4e79a7", values: [1, 2, 0]),
            .init(name: "never", color: "#f28e2b", values: [0, 0, 0]),
            .init(name: "checkpoint", color: "#e15759", values: [0.5, 0.5, 0.5]),
        ])
        let svg = try XMLSummary.parse(chart.svg())
        XCTAssertEqual(svg.count("title"), 5)  // one tooltip per nonzero segment
        XCTAssertTrue(svg.texts.contains("checkpoint"))
        XCTAssertFalse(svg.texts.contains("never"))
    }
}

private func XCTAssertEqual(_ a: [Double], _ b: [Double], accuracy: Double, file: StaticString = #filePath, line: UInt = #line) {
    XCTAssertEqual(a.count, b.count, "\(a) vs \(b)", file: file, line: line)
    for (x, y) in zip(a, b) { XCTAssertEqual(x, y, accuracy: accuracy * max(1, abs(y)), "\(a) vs \(b)", file: file, line: line) }
}
