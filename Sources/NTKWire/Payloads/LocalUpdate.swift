import NTKCore

/// How a FedAvg worker trains locally: `epochs` passes of minibatch SGD on its shard (mean loss per batch).
public struct LocalTraining: Codable, Equatable, Sendable {
    public var epochs: Int
    public var learningRate: Double
    public var batchSize: Int
    /// Seed of the minibatch order (mixed with the round and the worker id).
    public var seed: UInt64

    public init(epochs: Int, learningRate: Double, batchSize: Int, seed: UInt64) {
        self.epochs = epochs
        self.learningRate = learningRate
        self.batchSize = batchSize
        self.seed = seed
    }
}

/// Worker → server (FedAvg): θ after local training, the shard size (the averaging weight) and the
/// shard's loss at the new θ. Arrays: θ as in `roundStart`.
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
    public var arrays: [TypedArray] { parameters }

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
        try RoundStart.checkParameterArrays(arrays)
        self.body = body
        parameters = arrays
    }

    public func parameters<S: BLASScalar & WireScalar>(architecture: MLPArchitecture, as type: S.Type = S.self) throws -> MLPParameters<S> {
        try MLPParameters<S>(wireArrays: parameters, architecture: architecture)
    }

    /// θ (flat), checked against the model.
    public func theta<S: BLASScalar & WireScalar>(model: ModelArchitecture, as type: S.Type = S.self) throws -> [S] {
        try model.parameters(fromWire: parameters, as: S.self)
    }
}
