/// A worker's per-feature count, sums and sums of squares of its raw training shard (sent with `Register`
/// when the run standardizes features from pooled statistics): the sufficient statistics of the mean and
/// variance, never a row.
public struct FeatureMoments: Codable, Equatable, Sendable {
    public var count: Int
    /// `Σ_i x_ij` per feature j.
    public var sum: [Double]
    /// `Σ_i x_ij²` per feature j.
    public var sumSquares: [Double]

    public init(count: Int, sum: [Double], sumSquares: [Double]) {
        self.count = count
        self.sum = sum
        self.sumSquares = sumSquares
    }

    /// Finite sums of `dimension` features over `samples` rows, sums of squares ≥ 0.
    public func validate(dimension: Int, samples: Int) throws {
        guard count == samples, sum.count == dimension, sumSquares.count == dimension else {
            throw WireError.invalidPayload("featureMoments: count \(count) and \(sum.count)/\(sumSquares.count) sums; the shard has \(samples) samples of \(dimension) features")
        }
        if let j = sum.indices.first(where: { !(sum[$0].isFinite && sumSquares[$0].isFinite && sumSquares[$0] >= 0) }) {
            throw WireError.invalidPayload("featureMoments: feature \(j + 1) has a non-finite sum or a negative sum of squares")
        }
    }
}

/// The feature map every node applies, `x' = (x − offset) / divisor` per feature (then the configured
/// `feature_scale`): the pooled standardization the server computed from the workers' `FeatureMoments`.
public struct FeatureStandardization: Codable, Equatable, Sendable {
    public var offset: [Double]
    public var divisor: [Double]

    public init(offset: [Double], divisor: [Double]) {
        self.offset = offset
        self.divisor = divisor
    }

    /// One finite offset and one finite divisor > 0 per feature.
    public func validate(dimension: Int) throws {
        guard offset.count == dimension, divisor.count == dimension else {
            throw WireError.invalidPayload("featureStandardization: \(offset.count) offsets and \(divisor.count) divisors for \(dimension) features")
        }
        if let j = offset.indices.first(where: { !(offset[$0].isFinite && divisor[$0].isFinite && divisor[$0] > 0) }) {
            throw WireError.invalidPayload("featureStandardization: feature \(j + 1) has a non-finite offset or a divisor that is not > 0")
        }
    }
}
