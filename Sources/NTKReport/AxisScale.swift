import Foundation

/// One axis of a chart: maps data values onto the axis (linearly or logarithmically) and chooses "nice"
/// tick values (1, 2, 5 × 10ⁿ; decades on a log axis) with their labels.
public struct AxisScale: Sendable, Equatable {
    /// How values are spaced along the axis.
    public enum Kind: Sendable, Equatable { case linear, logarithmic }

    public let kind: Kind
    public let lower: Double
    public let upper: Double
    /// Labelled ticks, ascending, all inside `lower…upper`.
    public let ticks: [Double]
    /// Unlabelled ticks between the labelled ones (2…9 × 10ⁿ on a log axis); empty on a linear axis.
    public let minorTicks: [Double]

    /// A scale over exactly `lower…upper` (`0 < lower` on a log axis). `integerTicks` keeps tick steps whole (rounds).
    public init(_ kind: Kind, lower: Double, upper: Double, integerTicks: Bool = false) {
        self.kind = kind
        self.lower = lower
        self.upper = upper
        switch kind {
        case .linear:
            ticks = Self.linearTicks(lower: lower, upper: upper, integer: integerTicks)
            minorTicks = []
        case .logarithmic:
            let (major, minor) = Self.logTicks(lower: lower, upper: upper)
            ticks = major.count >= 2 ? major : Self.linearTicks(lower: lower, upper: upper, integer: integerTicks)
            minorTicks = major.count >= 2 ? minor : []
        }
    }

    /// A scale showing every usable value in `values` with a 5% margin on both sides (none below 0 when
    /// `fromZero`). Non-finite values, and non-positive ones on a log axis, are ignored.
    public static func fitting(_ values: [Double], kind: Kind, integerTicks: Bool = false, fromZero: Bool = false) -> AxisScale {
        let usable = values.filter { $0.isFinite && (kind == .linear || $0 > 0) }
        let (low, high) = spread(usable.min().map { fromZero && kind == .linear ? min(0, $0) : $0 }, usable.max(), kind: kind)
        switch kind {
        case .linear:
            let margin = 0.05 * (high - low)
            return AxisScale(.linear, lower: fromZero ? low : low - margin, upper: high + margin, integerTicks: integerTicks)
        case .logarithmic:
            let margin = 0.05 * (log10(high) - log10(low))
            return AxisScale(.logarithmic, lower: low / pow(10, margin), upper: high * pow(10, margin))
        }
    }

    /// Where `value` lies along the axis: 0 at `lower`, 1 at `upper` (outside for values beyond them).
    public func fraction(_ value: Double) -> Double {
        switch kind {
        case .linear: return (value - lower) / (upper - lower)
        case .logarithmic: return (log10(value) - log10(lower)) / (log10(upper) - log10(lower))
        }
    }

    /// Whether `value` can be drawn on this axis at all (a log axis has no place for 0 or negatives).
    public func canShow(_ value: Double) -> Bool { value.isFinite && (kind == .linear || value > 0) }

    /// The text under or beside a tick.
    public func label(_ value: Double) -> String {
        kind == .logarithmic && Self.isWholeMultipleOfPowerOfTen(value)
            ? Self.logLabel(value)
            : Self.linearLabel(value, step: ticks.count >= 2 ? ticks[1] - ticks[0] : abs(value))
    }

    // MARK: - Tick choice (pure)

    /// A nonempty, non-degenerate range around the data (an empty axis shows 0…1, or 1…10 on a log axis).
    static func spread(_ low: Double?, _ high: Double?, kind: Kind) -> (Double, Double) {
        guard let low, let high else { return kind == .linear ? (0, 1) : (1, 10) }
        if high > low { return (low, high) }
        return kind == .linear ? (low - max(abs(low) * 0.1, 0.5), high + max(abs(high) * 0.1, 0.5)) : (low / 2, high * 2)
    }

    /// The step 1, 2 or 5 × 10ⁿ that puts about `count` ticks on a span.
    static func niceStep(span: Double, count: Double = 5) -> Double {
        let raw = span / count
        let magnitude = pow(10, floor(log10(raw)))
        let residual = raw / magnitude
        return (residual <= 1.5 ? 1 : residual <= 3.5 ? 2 : residual <= 7.5 ? 5 : 10) * magnitude
    }

    /// Multiples of a nice step inside `lower…upper`.
    static func linearTicks(lower: Double, upper: Double, integer: Bool) -> [Double] {
        guard upper > lower else { return [lower] }
        var step = niceStep(span: upper - lower)
        if integer { step = max(1, step.rounded()) }
        let first = Int((lower / step).rounded(.up)), last = Int((upper / step).rounded(.down))
        guard first <= last else { return [] }
        // Multiplying (rather than adding steps) keeps 0.1 · 3 from becoming 0.30000000000000004 drift across many ticks.
        return (first...last).map { Double($0) * step }
    }

    /// Decades inside `lower…upper` (every second or third one over a wide range); when fewer than three
    /// decades fit, 1, 2 and 5 × 10ⁿ. Minor ticks: the other integer multiples of each decade.
    static func logTicks(lower: Double, upper: Double) -> (major: [Double], minor: [Double]) {
        let firstDecade = Int(floor(log10(lower))), lastDecade = Int(ceil(log10(upper)))
        let inside = { (v: Double) in v >= lower * (1 - 1e-9) && v <= upper * (1 + 1e-9) }
        let decades = (firstDecade...lastDecade).map { pow(10, Double($0)) }.filter(inside)
        let multiples = (firstDecade...lastDecade).flatMap { e in (1...9).map { Double($0) * pow(10, Double(e)) } }.filter(inside)
        if decades.count >= 3 {
            let stride = (decades.count + 5) / 6  // at most about six labels
            let major = decades.enumerated().filter { $0.offset % stride == 0 }.map(\.element)
            let minor = stride == 1 ? multiples.filter { !decades.contains($0) } : decades.filter { !major.contains($0) }
            return (major, minor)
        }
        let major = multiples.filter { [1, 2, 5].contains(Int(($0 / pow(10, floor(log10($0)))).rounded())) }
        return (major, multiples.filter { !major.contains($0) })
    }

    /// Whether `value` is m × 10ⁿ with a whole m (the values a log axis labels).
    static func isWholeMultipleOfPowerOfTen(_ value: Double) -> Bool {
        guard value > 0 else { return false }
        let mantissa = value / pow(10, floor(log10(value) + 1e-9))
        return abs(mantissa - mantissa.rounded()) < 1e-6
    }

    /// `0.25` with as many decimals as the step needs.
    static func linearLabel(_ value: Double, step: Double) -> String {
        let decimals = step > 0 ? max(0, -Int(floor(log10(step) + 1e-9))) : 2
        let text = String(format: "%.\(min(decimals, 6))f", value)
        return text.hasPrefix("-") && Double(text) == 0 ? String(text.dropFirst()) : text  // no "-0.0"
    }

    /// `0.01`, `1`, `500` in plain digits; `10⁶`, `2×10⁻⁵` beyond that.
    static func logLabel(_ value: Double) -> String {
        let exponent = Int(floor(log10(value) + 1e-9))
        let mantissa = Int((value / pow(10, Double(exponent))).rounded())
        if (-3...4).contains(exponent) { return linearLabel(value, step: pow(10, Double(exponent))) }
        let power = "10" + superscript(exponent)
        return mantissa == 1 ? power : "\(mantissa)×\(power)"
    }

    /// `-12` as `⁻¹²`.
    static func superscript(_ n: Int) -> String {
        let digits: [Character: Character] = ["0": "⁰", "1": "¹", "2": "²", "3": "³", "4": "⁴", "5": "⁵", "6": "⁶", "7": "⁷", "8": "⁸", "9": "⁹", "-": "⁻"]
        return String(String(n).map { digits[$0] ?? $0 })
    }
}
