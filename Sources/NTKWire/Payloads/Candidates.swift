import NTKCore

/// Server → worker: candidate weights θ_t, one per integration time t; the worker answers `CandidateLosses`.
///
/// Each candidate is one flat array `theta{i}` of P values in the model's flat order (for an MLP
/// `MLPParameters.flattened`: W1 row-major, b1, W2, …): the weights θ_t themselves (f32/f64), or, with `relativeToRoundStart`, the step
/// `θ_t − θ_r` from the round's `roundStart` weights, which may travel in 16 bits (f16/bf16: half the bytes;
/// the rounding of a step is far below what separates two candidates' losses). Full vectors rather than
/// the few directions they are built from: it keeps third-party workers trivial.
public struct Candidates: WirePayload {
    /// Most candidates in one message.
    public static let maxCount = 1024

    /// The candidate times, in the order of the arrays.
    public struct Body: Codable, Equatable, Sendable {
        /// Integration time t of each candidate (in the server's convention; informational for workers).
        public var times: [Double]
        /// The arrays are steps from the round's `roundStart` weights, not weights.
        public var relativeToRoundStart: Bool?

        public init(times: [Double], relativeToRoundStart: Bool? = nil) {
            self.times = times
            self.relativeToRoundStart = relativeToRoundStart
        }
    }

    public static let messageType = MessageType.candidates
    public var body: Body
    /// `theta0 … theta{C−1}`.
    public var thetas: [TypedArray]
    public var arrays: [TypedArray] { thetas }

    /// Candidates from parameter sets (one copy each, to flatten them).
    public init<S: BLASScalar & WireScalar>(times: [Double], parameters: [MLPParameters<S>]) throws {
        try self.init(times: times, thetas: parameters.map(\.flattened))
    }

    /// Candidates from flat weight vectors θ_t (no copies).
    public init<S: BLASScalar & WireScalar>(times: [Double], thetas: [[S]]) throws {
        guard times.count == thetas.count else {
            throw WireError.invalidPayload("candidates: \(times.count) times for \(thetas.count) parameter sets")
        }
        try self.init(body: Body(times: times), arrays: thetas.enumerated().map {
            TypedArray(trusted: "theta\($0.offset)", $0.element, shape: [$0.element.count])
        })
    }

    /// Candidates as steps from `base` (the round's weights), in `dtype` (f32, f16 or bf16).
    public init(times: [Double], parameters: [MLPParameters<Float>], stepsFrom base: MLPParameters<Float>, dtype: DType) throws {
        try self.init(times: times, thetas: parameters.map(\.flattened), stepsFrom: base.flattened, dtype: dtype)
    }

    /// Candidates as steps `θ_t − base` from the round's flat weights, in `dtype` (f32, f16 or bf16).
    public init(times: [Double], thetas: [[Float]], stepsFrom origin: [Float], dtype: DType) throws {
        guard times.count == thetas.count else {
            throw WireError.invalidPayload("candidates: \(times.count) times for \(thetas.count) parameter sets")
        }
        let arrays = try thetas.enumerated().map { i, p -> TypedArray in
            guard p.count == origin.count else { throw WireError.invalidPayload("candidates: θ\(i) has \(p.count) values, the base \(origin.count)") }
            let step = zip(p, origin).map { $0 - $1 }
            return dtype == .f32 ? try TypedArray(name: "theta\(i)", step) : try TypedArray(name: "theta\(i)", narrowing: step, to: dtype)
        }
        try self.init(body: Body(times: times, relativeToRoundStart: true), arrays: arrays)
    }

    public init(body: Body, arrays: [TypedArray]) throws {
        guard body.times.count == arrays.count else {
            throw WireError.invalidPayload("candidates: \(body.times.count) times but \(arrays.count) arrays")
        }
        guard !arrays.isEmpty, arrays.count <= Candidates.maxCount else {
            throw WireError.invalidPayload("candidates: need 1…\(Candidates.maxCount) candidates, got \(arrays.count)")
        }
        for (i, t) in body.times.enumerated() where !(t.isFinite && t >= 0) {
            throw WireError.invalidPayload("candidates: time \(i) is \(t); times must be finite and ≥ 0")
        }
        for (i, a) in arrays.enumerated() {
            guard a.name == "theta\(i)" else { throw WireError.missingArray("theta\(i)") }
            let allowed: [DType] = body.relativeToRoundStart == true ? [.f32, .f64, .f16, .bf16] : [.f32, .f64]
            guard allowed.contains(a.dtype) else { throw WireError.dtypeMismatch(array: a.name, expected: allowed, got: a.dtype) }
            guard a.shape.count == 1, a.shape == arrays[0].shape else {
                throw WireError.shapeMismatch(array: a.name, expected: [arrays[0].shape.first ?? -1], got: a.shape)
            }
        }
        self.body = body
        thetas = arrays
    }

    /// The candidate times.
    public var times: [Double] { body.times }

    /// The candidates as parameters, checked against the architecture; steps are added to `roundStart`,
    /// the round's weights (required when the candidates are steps).
    public func parameters<S: BLASScalar & WireScalar>(architecture: MLPArchitecture, roundStart: MLPParameters<S>? = nil,
                                                       as type: S.Type = S.self) throws -> [MLPParameters<S>] {
        try architecture.checkedForWire()
        let layout = MLPParameters<S>(zerosFor: architecture)
        return try flatParameters(parameterCount: architecture.parameterCount, roundStart: roundStart?.flattened, as: S.self)
            .map { layout.reshaping($0) }
    }

    /// The candidates as flat weight vectors of `parameterCount` values; steps are added to `roundStart`.
    public func flatParameters<S: BLASScalar & WireScalar>(parameterCount: Int, roundStart: [S]? = nil,
                                                           as type: S.Type = S.self) throws -> [[S]] {
        let values = try thetas.map { a -> [S] in
            try a.expect(shape: [parameterCount], dtypes: [.f32, .f64, .f16, .bf16])
            return try a.elements(as: S.self)
        }
        guard body.relativeToRoundStart == true else { return values }
        guard let roundStart else { throw WireError.invalidPayload("candidates: steps from the round's weights, but no roundStart was received for this round") }
        guard roundStart.count == parameterCount else { throw WireError.invalidPayload("candidates: the round's θ has \(roundStart.count) values, expected \(parameterCount)") }
        // θ_r + step through BLAS: a generic element loop here ran unspecialized (metadata lookups per element).
        return values.map { step in
            var theta = roundStart
            theta.withUnsafeMutableBufferPointer { pt in
                step.withUnsafeBufferPointer { ps in S.axpy(n: parameterCount, alpha: 1, x: ps.baseAddress!, y: pt.baseAddress!) }
            }
            return theta
        }
    }
}
