import Foundation

/// A summary of a Gram's eigenvalues, small enough for one line of `rounds.jsonl`: the values at up to
/// `maximumPoints` ranks (log-spaced, always the largest and the smallest kept), with the condition number
/// and the effective rank.
///
/// Eigenvalues are of `H` itself (not `H/m`), sorted descending. Values at or below the solver's noise floor
/// (rounding noise of `Z`'s null space) are counted in `discarded` and left out of the condition number.
public struct KernelSpectrum: Codable, Sendable, Equatable {
    /// `(rank, λ)`: rank 1 is the largest eigenvalue.
    public var ranks: [Int]
    public var values: [Double]
    /// How many eigenvalues the full spectrum had above the noise floor.
    public var count: Int
    /// How many were at or below it.
    public var discarded: Int
    /// `λ_max / λ_min` over the kept eigenvalues.
    public var conditionNumber: Double
    /// `(Σλ)² / Σλ²`: the number of directions that carry the kernel's mass.
    public var effectiveRank: Double
    /// `dense` (every eigenvalue) or `ritz` (Lanczos' Ritz values: the extremes are accurate, the interior sparse).
    public var method: String

    /// Summarizes `eigenvalues` (any order), dropping those `≤ relativeFloor · λ_max`.
    public init(eigenvalues: [Double], relativeFloor: Double, method: String, maximumPoints: Int = 128) {
        let sorted = eigenvalues.filter(\.isFinite).sorted(by: >)
        let top = sorted.first ?? 0
        let kept = sorted.filter { $0 > relativeFloor * top && $0 > 0 }
        count = kept.count
        discarded = sorted.count - kept.count
        self.method = method
        conditionNumber = kept.isEmpty ? .infinity : kept[0] / kept[kept.count - 1]
        let sum = kept.reduce(0, +), squares = kept.reduce(0) { $0 + $1 * $1 }
        effectiveRank = squares > 0 ? sum * sum / squares : 0
        ranks = Self.logSpacedRanks(count: kept.count, points: maximumPoints)
        values = ranks.map { kept[$0 - 1] }
    }

    /// Up to `points` distinct ranks in 1…count, log-spaced so that the head of the spectrum is dense.
    static func logSpacedRanks(count: Int, points: Int) -> [Int] {
        guard count > 0 else { return [] }
        if count <= points { return Array(1...count) }
        var ranks = Set<Int>()
        let logMax = log(Double(count))
        for i in 0..<points {
            ranks.insert(min(count, max(1, Int((exp(logMax * Double(i) / Double(points - 1))).rounded()))))
        }
        ranks.insert(1)
        ranks.insert(count)
        return ranks.sorted()
    }
}
