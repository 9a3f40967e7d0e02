/// Worker → server: the nonlinear network's loss on the worker's shard for each candidate, in order.
public struct CandidateLosses: BodyOnlyPayload, Equatable {
    public typealias Body = CandidateLosses
    public static let messageType = MessageType.candidateLosses

    /// One summary per candidate of the `Candidates` message being answered (same order).
    public var losses: [LossSummary]

    public init(losses: [LossSummary]) { self.losses = losses }

    public func validate() throws {
        guard losses.count <= Candidates.maxCount else {
            throw WireError.invalidPayload("candidateLosses: \(losses.count) entries, at most \(Candidates.maxCount)")
        }
        for (i, l) in losses.enumerated() { try l.validate("candidateLosses[\(i)]") }
    }
}
