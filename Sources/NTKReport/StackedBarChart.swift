import Foundation

/// Stacked bars: one bar per round, one coloured segment per component (a phase of the round), bottom to
/// top in the order given; rendered as one inline `<svg>` element.
public struct StackedBarChart: Sendable {
    /// One component of every bar: its value in each bar, in the order of `bars`.
    public struct Component: Sendable {
        public var name: String
        public var color: String
        public var values: [Double]
        public init(name: String, color: String, values: [Double]) {
            self.name = name
            self.color = color
            self.values = values
        }
    }

    public var title: String
    public var xLabel: String
    public var yLabel: String
    /// The x position of each bar (the round number).
    public var bars: [Int]
    /// Components that are zero in every bar are left out of the bars and the legend.
    public var components: [Component]
    public var width: Double
    public var plotHeight: Double

    public init(title: String, xLabel: String, yLabel: String, bars: [Int], components: [Component],
                width: Double = 640, plotHeight: Double = 220) {
        self.title = title
        self.xLabel = xLabel
        self.yLabel = yLabel
        self.bars = bars
        self.components = components
        self.width = width
        self.plotHeight = plotHeight
    }

    /// The chart as an `<svg>` element.
    public func svg() -> String {
        let shown = components.filter { $0.values.contains { $0 > 0 } }
        let totals = bars.indices.map { i in shown.reduce(0) { $0 + max(0, $1.values[i]) } }
        let first = Double(bars.min() ?? 1), last = Double(bars.max() ?? 1)
        let frame = ChartFrame(
            width: width, plotHeight: plotHeight, title: title, xLabel: xLabel, yLabel: yLabel,
            x: AxisScale(.linear, lower: first - 0.6, upper: last + 0.6, integerTicks: true),
            y: .fitting(totals + [0], kind: .linear, fromZero: true),
            legend: shown.map { LegendEntry(label: $0.name, color: $0.color, swatch: .box) })
        let slot = frame.px(first + 1) - frame.px(first)
        let barWidth = min(48, 0.7 * slot)
        var rects: [String] = []
        for (i, bar) in bars.enumerated() {
            var base = 0.0
            for component in shown where component.values[i] > 0 {
                let top = base + component.values[i]
                rects.append(Markup.element("rect", [
                    "x": Markup.coordinate(frame.px(Double(bar)) - barWidth / 2), "width": Markup.coordinate(barWidth),
                    "y": Markup.coordinate(frame.py(top)), "height": Markup.coordinate(frame.py(base) - frame.py(top)),
                    "fill": component.color,
                ], Markup.element("title", [:], Markup.escape("round \(bar), \(component.name): \(String(format: "%.3f", component.values[i])) s"))))
                base = top
            }
        }
        return frame.svg(content: rects.joined())
    }
}
