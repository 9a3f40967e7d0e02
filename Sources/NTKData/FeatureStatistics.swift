import Foundation
import NTKCore

/// Per-feature sufficient statistics of a shard: count, sums and sums of squares. Workers send these (never
/// rows); the server merges them into pooled means and standard deviations for standardization.
public struct FeatureStatistics: Sendable, Equatable {
    public private(set) var count: Int
    public private(set) var sum: [Double]
    public private(set) var sumSquares: [Double]

    /// Empty statistics of `dimension` features.
    public init(dimension: Int) {
        count = 0
        sum = Array(repeating: 0, count: dimension)
        sumSquares = Array(repeating: 0, count: dimension)
    }

    /// Statistics received from a worker; throws when they cannot be a shard's.
    public init(count: Int, sum: [Double], sumSquares: [Double]) throws {
        guard count >= 0, sum.count == sumSquares.count else {
            throw DataError.malformed(path: "feature statistics", line: 0, column: nil,
                                      reason: "count \(count) must be ≥ 0 and sums (\(sum.count)) and sums of squares (\(sumSquares.count)) the same length")
        }
        for j in sum.indices where !(sum[j].isFinite && sumSquares[j].isFinite && sumSquares[j] >= 0) {
            throw DataError.malformed(path: "feature statistics", line: 0, column: j + 1, reason: "feature \(j + 1): non-finite sum or negative sum of squares")
        }
        self.count = count
        self.sum = sum
        self.sumSquares = sumSquares
    }

    /// Statistics of the rows of `x` (m × d).
    public init(_ x: Matrix<Double>) {
        self.init(dimension: x.columns)
        for i in 0..<x.rows { add(row: x.elements[(i * x.columns)..<((i + 1) * x.columns)]) }
    }

    public var dimension: Int { sum.count }

    public mutating func add<C: Collection>(row: C) where C.Element == Double {
        precondition(row.count == dimension, "row of \(row.count) features, statistics of \(dimension)")
        for (j, v) in row.enumerated() {
            sum[j] += v
            sumSquares[j] += v * v
        }
        count += 1
    }

    /// The pooled statistics of two disjoint sets of rows.
    public func merged(with other: FeatureStatistics) throws -> FeatureStatistics {
        guard other.dimension == dimension else {
            throw DataError.malformed(path: "feature statistics", line: 0, column: nil,
                                      reason: "cannot merge statistics of \(dimension) and \(other.dimension) features")
        }
        var out = self
        out.count += other.count
        for j in sum.indices {
            out.sum[j] += other.sum[j]
            out.sumSquares[j] += other.sumSquares[j]
        }
        return out
    }

    /// The pooled statistics of several workers' (in the given order).
    public static func merge(_ parts: [FeatureStatistics]) throws -> FeatureStatistics {
        guard let first = parts.first else { throw DataError.malformed(path: "feature statistics", line: 0, column: nil, reason: "nothing to merge") }
        return try parts.dropFirst().reduce(first) { try $0.merged(with: $1) }
    }

    public var mean: [Double] { sum.map { count > 0 ? $0 / Double(count) : 0 } }

    /// Population variance `E[x²] − E[x]²`, clamped at 0 against rounding.
    public var variance: [Double] {
        guard count > 0 else { return Array(repeating: 0, count: dimension) }
        let m = Double(count)
        return sum.indices.map { j in max(0, sumSquares[j] / m - (sum[j] / m) * (sum[j] / m)) }
    }

    public var standardDeviation: [Double] { variance.map { $0.squareRoot() } }

    /// Standardization `(x − mean)/std`; a feature with `std ≤ minimumStd` (constant) is only centered.
    public func standardization(minimumStd: Double = 1e-12) -> FeatureScaling {
        FeatureScaling(offset: mean, divisor: standardDeviation.map { $0 > minimumStd ? $0 : 1 })
    }
}

/// An affine map of the features, the same on every node: `x' = (x − offset) / divisor · scale`.
/// `offset` and `divisor` hold no value (identity), one (every feature) or one per feature.
public struct FeatureScaling: Sendable, Equatable {
    public var offset: [Double]
    public var divisor: [Double]
    public var scale: Double

    public init(offset: [Double] = [], divisor: [Double] = [], scale: Double = 1) {
        self.offset = offset
        self.divisor = divisor
        self.scale = scale
    }

    public var isIdentity: Bool { offset.allSatisfy { $0 == 0 } && divisor.allSatisfy { $0 == 1 } && scale == 1 }

    /// Applies the map to every row of `x`; `path` names the data in errors (a per-feature list of the wrong length).
    public func apply(to x: inout Matrix<Double>, path: String) throws {
        let d = x.columns
        for (name, v) in [("feature_offset", offset), ("feature_std", divisor)] where !(v.count <= 1 || v.count == d) {
            throw DataError.malformed(path: path, line: 0, column: nil,
                                      reason: "\(name) has \(v.count) values; the data has \(d) features (give 1 or \(d))")
        }
        for (j, s) in divisor.enumerated() where !(s > 0 && s.isFinite) {
            throw DataError.malformed(path: path, line: 0, column: j + 1, reason: "feature_std[\(j)] = \(s) must be a finite number > 0")
        }
        if isIdentity { return }
        let o = (0..<d).map { offset.isEmpty ? 0 : offset[offset.count == 1 ? 0 : $0] }
        let f = (0..<d).map { (divisor.isEmpty ? 1 : 1 / divisor[divisor.count == 1 ? 0 : $0]) * scale }
        x.elements.withUnsafeMutableBufferPointer { e in
            for i in 0..<x.rows { for j in 0..<d { e[i * d + j] = (e[i * d + j] - o[j]) * f[j] } }
        }
    }
}
