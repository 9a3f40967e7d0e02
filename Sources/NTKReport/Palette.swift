import Foundation

/// The report's colours: runs get Okabe–Ito's colour-blind-safe hues, phases a fixed colour each,
/// successive kernel refreshes a sequential ramp (early: dark purple, late: yellow, as in viridis).
enum Palette {
    static let runs = ["#0072B2", "#D55E00", "#009E73", "#CC79A7", "#E69F00", "#56B4E9", "#000000"]

    /// The colour of the `index`-th run (repeats after seven runs).
    static func run(_ index: Int) -> String { runs[index % runs.count] }

    /// Viridis at five stops, interpolated in between.
    static let ramp: [(Double, Double, Double)] = [(68, 1, 84), (59, 82, 139), (33, 145, 140), (94, 201, 98), (253, 231, 37)]

    /// The colour `position` (0…1) of the way along the ramp, as `#rrggbb`.
    static func sequential(_ position: Double) -> String {
        let scaled = min(max(position, 0), 1) * Double(ramp.count - 1)
        let lower = min(Int(scaled), ramp.count - 2), weight = scaled - Double(lower)
        let (a, b) = (ramp[lower], ramp[lower + 1])
        let channels = [a.0 + (b.0 - a.0) * weight, a.1 + (b.1 - a.1) * weight, a.2 + (b.2 - a.2) * weight]
        return "#" + channels.map { String(format: "%02x", Int($0.rounded())) }.joined()
    }

    /// `count` colours spread along the ramp, stopping short of its pale yellow end (unreadable on white).
    static func sequence(_ count: Int) -> [String] {
        (0..<count).map { sequential(count == 1 ? 0 : 0.85 * Double($0) / Double(count - 1)) }
    }
}
