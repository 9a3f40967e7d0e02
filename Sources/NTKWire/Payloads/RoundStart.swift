import NTKCore

/// Server → worker: round r begins at θ (arrays `W1, b1, …, WL, bL` for an MLP, one array `theta` for
/// another network; in a SCAFFOLD run then `c`, the server's control variate); what the worker must send back.
public struct RoundStart: WirePayload {
    /// The instructions.
    public struct Body: Codable, Equatable, Sendable {
        /// Compute the block at this θ and send it (`Block`).
        public var refresh: Bool
        /// Evaluate this θ on the local held-out split and send `EvaluationReport`.
        public var evaluate: Bool
        /// Format and dtype for this round's block (may differ from `Welcome`'s, e.g. a dense check round).
        public var blockFormat: BlockFormat
        public var blockDType: DType
        /// Whether a `Candidates` message follows this round (false: fixed t or linearized-loss selection).
        public var candidatesFollow: Bool
        /// The pooled feature standardization, when the run uses one (the same in every round).
        public var featureStandardization: FeatureStandardization?

        public init(refresh: Bool, evaluate: Bool, blockFormat: BlockFormat = .factored, blockDType: DType = .f32,
                    candidatesFollow: Bool = true) {
            self.refresh = refresh
            self.evaluate = evaluate
            self.blockFormat = blockFormat
            self.blockDType = blockDType
            self.candidatesFollow = candidatesFollow
        }
    }

    public static let messageType = MessageType.roundStart
    public var body: Body
    /// `W1, b1, …, WL, bL`.
    public var parameters: [TypedArray]
    /// SCAFFOLD's server control variate c (array `c`, `[P]`); absent in every other run.
    public var serverControlArray: TypedArray?
    public var arrays: [TypedArray] { parameters + (serverControlArray.map { [$0] } ?? []) }

    /// A round start carrying θ (no copy of the weights).
    public init<S: BLASScalar & WireScalar>(parameters: MLPParameters<S>, refresh: Bool, evaluate: Bool,
                                            blockFormat: BlockFormat = .factored, blockDType: DType = .f32,
                                            candidatesFollow: Bool = true) {
        body = Body(refresh: refresh, evaluate: evaluate, blockFormat: blockFormat, blockDType: blockDType,
                    candidatesFollow: candidatesFollow)
        self.parameters = parameters.wireArrays()
    }

    /// A round start carrying θ of any model (flat).
    public init<S: BLASScalar & WireScalar>(theta: [S], model: ModelArchitecture, refresh: Bool, evaluate: Bool,
                                            blockFormat: BlockFormat = .factored, blockDType: DType = .f32,
                                            candidatesFollow: Bool = true) throws {
        body = Body(refresh: refresh, evaluate: evaluate, blockFormat: blockFormat, blockDType: blockDType,
                    candidatesFollow: candidatesFollow)
        parameters = try model.wireArrays(theta)
    }

    public init(body: Body, arrays: [TypedArray]) throws {
        guard body.blockDType.isFloatingPoint else {
            throw WireError.invalidPayload("roundStart: block dtype \(body.blockDType.rawValue) is not one of f32, f64, f16, bf16")
        }
        let (theta, control) = try ControlVariateArray.split(ControlVariateArray.serverName, from: arrays)
        try RoundStart.checkParameterArrays(theta)
        if theta[0].name == "W1" { try body.featureStandardization?.validate(dimension: theta[0].shape[1]) }
        self.body = body
        parameters = theta
        serverControlArray = control
    }

    /// Attaches SCAFFOLD's server control variate c (`[P]`, no copy).
    public mutating func attachServerControl(_ c: [Float]) {
        serverControlArray = ControlVariateArray.make(ControlVariateArray.serverName, c)
    }

    /// SCAFFOLD's c, `[P]`, checked against the model's parameter count; `nil` when the round carries none.
    public func serverControl(parameterCount: Int) throws -> [Float]? {
        try serverControlArray.map { try ControlVariateArray.values($0, parameterCount: parameterCount) }
    }

    /// θ, checked against the architecture.
    public func parameters<S: BLASScalar & WireScalar>(architecture: MLPArchitecture, as type: S.Type = S.self) throws -> MLPParameters<S> {
        try MLPParameters<S>(wireArrays: parameters, architecture: architecture)
    }

    /// θ (flat), checked against the model.
    public func theta<S: BLASScalar & WireScalar>(model: ModelArchitecture, as type: S.Type = S.self) throws -> [S] {
        try model.parameters(fromWire: parameters, as: S.self)
    }

    /// `W1, b1, …` (see `checkLayerArrays`) or one rank-1 float array `theta`.
    static func checkParameterArrays(_ arrays: [TypedArray]) throws {
        if arrays.count == 1, arrays[0].name == "theta" {
            let theta = arrays[0]
            guard theta.dtype == .f32 || theta.dtype == .f64 else { throw WireError.dtypeMismatch(array: "theta", expected: [.f32, .f64], got: theta.dtype) }
            guard theta.shape.count == 1 else { throw WireError.shapeMismatch(array: "theta", expected: [-1], got: theta.shape) }
            return
        }
        try checkLayerArrays(arrays)
    }

    /// `W1, b1, …` in order, float dtypes, ranks 2 and 1, consecutive layers chained (architecture-free checks).
    static func checkLayerArrays(_ arrays: [TypedArray]) throws {
        guard !arrays.isEmpty, arrays.count % 2 == 0 else {
            throw WireError.invalidPayload("roundStart: expected arrays W1, b1, …, WL, bL, got \(arrays.count) arrays")
        }
        var previousOut: Int?
        for l in 1...(arrays.count / 2) {
            let W = arrays[2 * l - 2], b = arrays[2 * l - 1]
            guard W.name == "W\(l)" else { throw WireError.missingArray("W\(l)") }
            guard b.name == "b\(l)" else { throw WireError.missingArray("b\(l)") }
            guard W.dtype == .f32 || W.dtype == .f64 else { throw WireError.dtypeMismatch(array: W.name, expected: [.f32, .f64], got: W.dtype) }
            guard b.dtype == W.dtype else { throw WireError.dtypeMismatch(array: b.name, expected: [W.dtype], got: b.dtype) }
            guard W.shape.count == 2 else { throw WireError.shapeMismatch(array: W.name, expected: [-1, previousOut ?? -1], got: W.shape) }
            if let p = previousOut, W.shape[1] != p { throw WireError.shapeMismatch(array: W.name, expected: [W.shape[0], p], got: W.shape) }
            guard b.shape == [W.shape[0]] else { throw WireError.shapeMismatch(array: b.name, expected: [W.shape[0]], got: b.shape) }
            previousOut = W.shape[0]
        }
    }
}
