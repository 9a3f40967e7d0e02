import Foundation

/// One entry of a chart's legend: a label and how its series is drawn.
public struct LegendEntry: Sendable, Equatable {
    /// The small picture before the label.
    public enum Swatch: Sendable, Equatable {
        /// A line segment, dashed or solid, with or without a marker in the middle.
        case line(dashed: Bool, marker: Bool)
        /// A filled square (bars).
        case box
    }
    public var label: String
    public var color: String
    public var swatch: Swatch

    public init(label: String, color: String, swatch: Swatch) {
        self.label = label
        self.color = color
        self.swatch = swatch
    }
}

/// What every chart shares: the canvas, margins sized to the labels, axes with ticks and grid lines,
/// axis titles, the chart title and a legend under the plot that wraps onto as many rows as it needs.
struct ChartFrame {
    var width: Double
    var plotHeight: Double
    var title: String
    var xLabel: String
    var yLabel: String
    var x: AxisScale
    var y: AxisScale
    var legend: [LegendEntry]

    static let fontSize = 11.0
    /// Average advance of DejaVu Sans / Helvetica at 11 px: enough to keep labels from overlapping, not exact.
    static let characterWidth = 6.4
    static let legendRowHeight = 16.0
    static let titleHeight = 28.0
    static let font = "DejaVu Sans, Helvetica, Arial, sans-serif"

    var plotLeft: Double {
        let widest = y.ticks.map { Double(y.label($0).count) }.max() ?? 1
        return 26 + widest * Self.characterWidth + 8
    }
    var plotRight: Double { width - 16 }
    var plotTop: Double { Self.titleHeight }
    var plotBottom: Double { plotTop + plotHeight }
    var legendRows: [[(entry: LegendEntry, offset: Double)]] { Self.layOut(legend, width: plotRight - plotLeft) }
    var height: Double { plotBottom + 44 + Double(legendRows.count) * Self.legendRowHeight + 4 }

    /// Horizontal pixel of a data value.
    func px(_ value: Double) -> Double { plotLeft + x.fraction(value) * (plotRight - plotLeft) }
    /// Vertical pixel of a data value (SVG's y grows downwards).
    func py(_ value: Double) -> Double { plotBottom - y.fraction(value) * plotHeight }

    /// The whole `<svg>` element with `content` (the marks, in pixels of this frame) drawn over the grid.
    func svg(content: String) -> String {
        let parts = [Markup.element("rect", ["x": "0", "y": "0", "width": c(width), "height": c(height), "fill": "white"]),
                     grid(), content, axes(), titles(), legendMarkup()]
        return Markup.element("svg", [
            "xmlns": "http://www.w3.org/2000/svg", "width": c(width), "height": c(height),
            "viewBox": "0 0 \(c(width)) \(c(height))", "role": "img", "aria-label": title,
            "font-family": Self.font, "font-size": c(Self.fontSize),
        ], "\n" + parts.joined(separator: "\n") + "\n")
    }

    private func c(_ value: Double) -> String { Markup.coordinate(value) }

    private func grid() -> String {
        let vertical = x.ticks.map { line(px($0), plotTop, px($0), plotBottom, "#e6e6e6") }
        let horizontal = y.ticks.map { line(plotLeft, py($0), plotRight, py($0), "#e6e6e6") }
        return (vertical + horizontal).joined()
    }

    private func axes() -> String {
        var marks = [Markup.element("rect", ["x": c(plotLeft), "y": c(plotTop), "width": c(plotRight - plotLeft), "height": c(plotHeight),
                                             "fill": "none", "stroke": "#444", "stroke-width": "1"])]
        for tick in x.ticks {
            marks.append(line(px(tick), plotBottom, px(tick), plotBottom + 5, "#444"))
            marks.append(text(x.label(tick), px(tick), plotBottom + 17, anchor: "middle"))
        }
        marks += x.minorTicks.map { line(px($0), plotBottom, px($0), plotBottom + 3, "#444") }
        for tick in y.ticks {
            marks.append(line(plotLeft - 5, py(tick), plotLeft, py(tick), "#444"))
            marks.append(text(y.label(tick), plotLeft - 8, py(tick) + 4, anchor: "end"))
        }
        marks += y.minorTicks.map { line(plotLeft - 3, py($0), plotLeft, py($0), "#444") }
        return marks.joined()
    }

    private func titles() -> String {
        let middleY = (plotTop + plotBottom) / 2
        return [
            text(title, plotLeft, 17, anchor: "start", extra: ["font-weight": "bold", "font-size": "13"]),
            text(xLabel, (plotLeft + plotRight) / 2, plotBottom + 34, anchor: "middle"),
            text(yLabel, 13, middleY, anchor: "middle", extra: ["transform": "rotate(-90 13 \(c(middleY)))"]),
        ].joined(separator: "\n")
    }

    private func legendMarkup() -> String {
        var marks: [String] = []
        for (row, entries) in legendRows.enumerated() {
            let baseline = plotBottom + 56 + Double(row) * Self.legendRowHeight
            for (entry, offset) in entries {
                let left = plotLeft + offset
                marks.append(swatch(entry, left: left, middle: baseline - 4))
                marks.append(text(entry.label, left + 26, baseline, anchor: "start"))
            }
        }
        return marks.joined()
    }

    private func swatch(_ entry: LegendEntry, left: Double, middle: Double) -> String {
        switch entry.swatch {
        case .box:
            return Markup.element("rect", ["x": c(left + 5), "y": c(middle - 5), "width": "12", "height": "10", "fill": entry.color])
        case .line(let dashed, let marker):
            let stroke = line(left, middle, left + 22, middle, entry.color, width: 2, dashed: dashed)
            return marker ? stroke + Self.marker(left + 11, middle, entry.color) : stroke
        }
    }

    /// Legend entries placed left to right, wrapping when the next would pass `width`.
    static func layOut(_ entries: [LegendEntry], width: Double) -> [[(entry: LegendEntry, offset: Double)]] {
        var rows: [[(entry: LegendEntry, offset: Double)]] = []
        var row: [(entry: LegendEntry, offset: Double)] = [], used = 0.0
        for entry in entries {
            let needed = 26 + Double(entry.label.count) * characterWidth + 18
            if !row.isEmpty && used + needed > width { rows.append(row); row = []; used = 0 }
            row.append((entry, used))
            used += needed
        }
        if !row.isEmpty { rows.append(row) }
        return rows
    }

    /// A data point: a filled circle with a white rim, so that overlapping series stay distinguishable.
    static func marker(_ x: Double, _ y: Double, _ color: String, radius: Double = 3.2) -> String {
        Markup.element("circle", ["cx": Markup.coordinate(x), "cy": Markup.coordinate(y), "r": Markup.coordinate(radius),
                                  "fill": color, "stroke": "white", "stroke-width": "1"])
    }

    func line(_ x1: Double, _ y1: Double, _ x2: Double, _ y2: Double, _ color: String, width: Double = 1, dashed: Bool = false) -> String {
        var attributes = ["x1": c(x1), "y1": c(y1), "x2": c(x2), "y2": c(y2), "stroke": color, "stroke-width": c(width)]
        if dashed { attributes["stroke-dasharray"] = "6 3" }
        return Markup.element("line", attributes)
    }

    /// Text attributes that draw a white outline under the glyphs, so that a label stays legible where it crosses a line.
    static func halo(_ attributes: [String: String]) -> [String: String] {
        attributes.merging(["stroke": "white", "stroke-width": "3", "paint-order": "stroke", "stroke-linejoin": "round"]) { $1 }
    }

    func text(_ string: String, _ x: Double, _ y: Double, anchor: String, extra: [String: String] = [:]) -> String {
        Markup.element("text", ["x": c(x), "y": c(y), "text-anchor": anchor].merging(extra) { $1 }, Markup.escape(string))
    }
}
