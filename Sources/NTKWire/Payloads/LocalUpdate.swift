import NTKCore

/// Worker → server (FedAvg, FedProx, SCAFFOLD): θ after local training, the shard size (the averaging weight)
/// and the shard's loss at the new θ. Arrays: θ as in `roundStart`; in a SCAFFOLD run then `deltaC`, the
/// client's control variate change Δc_i = c_i⁺ − c_i (`[P]`, θ's flat order).
public struct LocalUpdate: WirePayload {
    public struct Body: Codable, Equatable, Sendable {
        public var sampleCount: Int
        public var loss: LossSummary
        public init(sampleCount: Int, loss: LossSummary) {
            self.sampleCount = sampleCount
            self.loss = loss
        }
    }

    public static let messageType = MessageType.localUpdate
    public var body: Body
    public var parameters: [TypedArray]
    /// SCAFFOLD's Δc_i (array `deltaC`); absent in FedAvg and FedProx runs.
    public var controlDeltaArray: TypedArray?
    public var arrays: [TypedArray] { parameters + (controlDeltaArray.map { [$0] } ?? []) }

    public init<S: BLASScalar & WireScalar>(parameters: MLPParameters<S>, sampleCount: Int, loss: LossSummary) {
        body = Body(sampleCount: sampleCount, loss: loss)
        self.parameters = parameters.wireArrays()
    }

    /// θ of any model (flat) after local training.
    public init<S: BLASScalar & WireScalar>(theta: [S], model: ModelArchitecture, sampleCount: Int, loss: LossSummary) throws {
        body = Body(sampleCount: sampleCount, loss: loss)
        parameters = try model.wireArrays(theta)
    }

    public init(body: Body, arrays: [TypedArray]) throws {
        guard body.sampleCount > 0 else { throw WireError.invalidPayload("localUpdate: sampleCount must be > 0") }
        let (theta, delta) = try ControlVariateArray.split(ControlVariateArray.deltaName, from: arrays)
        try RoundStart.checkParameterArrays(theta)
        self.body = body
        parameters = theta
        controlDeltaArray = delta
    }

    public func parameters<S: BLASScalar & WireScalar>(architecture: MLPArchitecture, as type: S.Type = S.self) throws -> MLPParameters<S> {
        try MLPParameters<S>(wireArrays: parameters, architecture: architecture)
    }

    /// θ (flat), checked against the model.
    public func theta<S: BLASScalar & WireScalar>(model: ModelArchitecture, as type: S.Type = S.self) throws -> [S] {
        try model.parameters(fromWire: parameters, as: S.self)
    }

    /// Attaches SCAFFOLD's Δc_i (`[P]`, no copy).
    public mutating func attachControlDelta(_ delta: [Float]) {
        controlDeltaArray = ControlVariateArray.make(ControlVariateArray.deltaName, delta)
    }

    /// SCAFFOLD's Δc_i, `[P]`, checked against the model's parameter count; `nil` when the update carries none.
    public func controlDelta(parameterCount: Int) throws -> [Float]? {
        try controlDeltaArray.map { try ControlVariateArray.values($0, parameterCount: parameterCount) }
    }
}
