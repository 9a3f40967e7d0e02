/// A loss sum, the number of samples it sums over, and how many of them were classified correctly.
///
/// Sums rather than means so the server can add workers up exactly. A non-finite loss (a diverged
/// candidate) travels as JSON `null`, which JSON has instead of ∞, and reads back as +∞.
public struct LossSummary: Codable, Equatable, Sendable {
    /// Σ over samples of the per-sample loss (mse: `½‖y_i − f(x_i)‖²`; xent: cross-entropy of softmax).
    public var lossSum: Double
    /// Number of samples summed.
    public var sampleCount: Int
    /// Samples whose arg-max output equals the arg-max target; nil when not meaningful (regression).
    public var correctCount: Int?

    public init(lossSum: Double, sampleCount: Int, correctCount: Int? = nil) {
        self.lossSum = lossSum
        self.sampleCount = sampleCount
        self.correctCount = correctCount
    }

    private enum CodingKeys: String, CodingKey { case lossSum, sampleCount, correctCount }

    public init(from decoder: Decoder) throws {
        let c = try decoder.container(keyedBy: CodingKeys.self)
        lossSum = try c.decodeIfPresent(Double.self, forKey: .lossSum) ?? .infinity
        sampleCount = try c.decode(Int.self, forKey: .sampleCount)
        correctCount = try c.decodeIfPresent(Int.self, forKey: .correctCount)
    }

    public func encode(to encoder: Encoder) throws {
        var c = encoder.container(keyedBy: CodingKeys.self)
        if lossSum.isFinite { try c.encode(lossSum, forKey: .lossSum) } else { try c.encodeNil(forKey: .lossSum) }
        try c.encode(sampleCount, forKey: .sampleCount)
        try c.encodeIfPresent(correctCount, forKey: .correctCount)
    }

    /// Counts non-negative, correct ≤ samples, loss not NaN-as-number, not negative.
    func validate(_ what: String) throws {
        guard sampleCount >= 0 else { throw WireError.invalidPayload("\(what): sampleCount \(sampleCount) < 0") }
        if let c = correctCount, c < 0 || c > sampleCount {
            throw WireError.invalidPayload("\(what): correctCount \(c) outside 0…\(sampleCount)")
        }
        guard !(lossSum < 0) else { throw WireError.invalidPayload("\(what): lossSum \(lossSum) < 0") }
    }
}
