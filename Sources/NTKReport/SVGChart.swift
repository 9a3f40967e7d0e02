import Foundation

/// A line and scatter chart: several series of (x, y) points overlaid on linear or log axes, with a legend,
/// optional horizontal reference lines (a target), rendered as one inline `<svg>` element.
public struct SVGChart: Sendable {
    /// One named series of points, drawn as a line, as markers, or both.
    public struct Series: Sendable {
        public var name: String
        public var points: [Point]
        public var color: String
        public var dashed: Bool
        public var markers: Bool
        public var line: Bool

        public init(name: String, points: [Point], color: String, dashed: Bool = false, markers: Bool = true, line: Bool = true) {
            self.name = name
            self.points = points
            self.color = color
            self.dashed = dashed
            self.markers = markers
            self.line = line
        }
    }

    /// One data point.
    public struct Point: Sendable, Equatable {
        public var x: Double
        public var y: Double
        public init(_ x: Double, _ y: Double) {
            self.x = x
            self.y = y
        }
    }

    /// A labelled horizontal line across the plot at `y`, e.g. the target accuracy.
    public struct Rule: Sendable {
        public var y: Double
        public var label: String
        public init(y: Double, label: String) {
            self.y = y
            self.label = label
        }
    }

    public var title: String
    public var xLabel: String
    public var yLabel: String
    public var xScale: AxisScale.Kind
    public var yScale: AxisScale.Kind
    /// Whole-number x ticks (rounds).
    public var integerX: Bool
    public var series: [Series]
    public var rules: [Rule]
    /// x values the axis spans even where no series has a point (e.g. every round of a run, when only some have data).
    public var xExtent: [Double]
    /// y values the axis spans even where no series has a point (e.g. to give two charts the same y axis).
    public var yExtent: [Double]
    /// Start the y axis at 0 (quantities that cannot be negative, shown on a linear axis).
    public var yFromZero: Bool
    public var width: Double
    public var plotHeight: Double

    public init(title: String, xLabel: String, yLabel: String, xScale: AxisScale.Kind = .linear, yScale: AxisScale.Kind = .linear,
                integerX: Bool = false, series: [Series], rules: [Rule] = [], xExtent: [Double] = [], yExtent: [Double] = [], yFromZero: Bool = false,
                width: Double = 640, plotHeight: Double = 260) {
        self.title = title
        self.xLabel = xLabel
        self.yLabel = yLabel
        self.xScale = xScale
        self.yScale = yScale
        self.integerX = integerX
        self.series = series
        self.rules = rules
        self.xExtent = xExtent
        self.yExtent = yExtent
        self.yFromZero = yFromZero
        self.width = width
        self.plotHeight = plotHeight
    }

    /// Each series with only the points both axes can show (a log axis drops zeros and negatives).
    public var drawableSeries: [Series] {
        let xFits = { (v: Double) in v.isFinite && (xScale == .linear || v > 0) }
        let yFits = { (v: Double) in v.isFinite && (yScale == .linear || v > 0) }
        return series.map { s in
            var kept = s
            kept.points = s.points.filter { xFits($0.x) && yFits($0.y) }
            return kept
        }.filter { !$0.points.isEmpty }
    }

    /// The chart as an `<svg>` element.
    public func svg() -> String {
        let shown = drawableSeries
        let frame = ChartFrame(
            width: width, plotHeight: plotHeight, title: title, xLabel: xLabel, yLabel: yLabel,
            x: .fitting(shown.flatMap { $0.points.map(\.x) } + xExtent, kind: xScale, integerTicks: integerX),
            y: .fitting(shown.flatMap { $0.points.map(\.y) } + rules.map(\.y) + yExtent, kind: yScale, fromZero: yFromZero),
            legend: shown.map { LegendEntry(label: $0.name, color: $0.color, swatch: .line(dashed: $0.dashed, marker: $0.markers)) })
        let marks = rules.map { ruleMarkup($0, frame) } + shown.map { seriesMarkup($0, frame) }
        return frame.svg(content: marks.joined(separator: "\n"))
    }

    private func seriesMarkup(_ s: Series, _ frame: ChartFrame) -> String {
        let pixels = s.points.map { (frame.px($0.x), frame.py($0.y)) }
        var marks: [String] = []
        if s.line && pixels.count > 1 {
            var attributes = ["points": pixels.map { "\(Markup.coordinate($0.0)),\(Markup.coordinate($0.1))" }.joined(separator: " "),
                              "fill": "none", "stroke": s.color, "stroke-width": "1.8", "stroke-linejoin": "round"]
            if s.dashed { attributes["stroke-dasharray"] = "6 3" }
            marks.append(Markup.element("polyline", attributes))
        }
        if s.markers { marks += pixels.map { ChartFrame.marker($0.0, $0.1, s.color) } }
        return Markup.element("g", ["class": "series"], marks.joined())
    }

    private func ruleMarkup(_ rule: Rule, _ frame: ChartFrame) -> String {
        let y = frame.py(rule.y)
        return frame.line(frame.plotLeft, y, frame.plotRight, y, "#888", dashed: true)
            + frame.text(rule.label, frame.plotRight - 4, y - 4, anchor: "end", extra: ChartFrame.halo(["fill": "#555"]))
    }
}
