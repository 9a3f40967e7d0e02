/// Worker → server: metrics of the round's θ on the worker's local held-out split.
public struct EvaluationReport: WirePayload, Equatable {
    public typealias Body = LossSummary
    public static let messageType = MessageType.evaluationReport

    /// Loss sum, sample count and correct count on the held-out split.
    public var heldOut: LossSummary

    public init(heldOut: LossSummary) { self.heldOut = heldOut }

    public var body: LossSummary { heldOut }
    public var arrays: [TypedArray] { [] }

    public init(body: LossSummary, arrays: [TypedArray]) throws {
        if let extra = arrays.first { throw WireError.unexpectedArray(extra.name) }
        try body.validate("evaluationReport")
        heldOut = body
    }
}
