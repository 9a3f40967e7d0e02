import NTKCore

/// Server → worker: candidate weights θ_t, one per integration time t; the worker answers `CandidateLosses`.
///
/// Each candidate is one flat array `theta{i}` of P values in `MLPParameters.flattened` order (W1
/// row-major, b1, W2, …). Full vectors rather than the few directions they are built from: it keeps
/// third-party workers trivial, and C candidates cost C·P·4 bytes, small next to a block.
public struct Candidates: WirePayload {
    /// Most candidates in one message.
    public static let maxCount = 1024

    /// The candidate times, in the order of the arrays.
    public struct Body: Codable, Equatable, Sendable {
        /// Integration time t of each candidate (in the server's convention; informational for workers).
        public var times: [Double]

        public init(times: [Double]) { self.times = times }
    }

    public static let messageType = MessageType.candidates
    public var body: Body
    /// `theta0 … theta{C−1}`.
    public var thetas: [TypedArray]
    public var arrays: [TypedArray] { thetas }

    /// Candidates from parameter sets (one copy each, to flatten them).
    public init<S: BLASScalar & WireScalar>(times: [Double], parameters: [MLPParameters<S>]) throws {
        guard times.count == parameters.count else {
            throw WireError.invalidPayload("candidates: \(times.count) times for \(parameters.count) parameter sets")
        }
        try self.init(body: Body(times: times), arrays: parameters.enumerated().map {
            TypedArray(trusted: "theta\($0.offset)", $0.element.flattened, shape: [$0.element.count])
        })
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
            guard a.dtype == .f32 || a.dtype == .f64 else { throw WireError.dtypeMismatch(array: a.name, expected: [.f32, .f64], got: a.dtype) }
            guard a.shape.count == 1, a.shape == arrays[0].shape else {
                throw WireError.shapeMismatch(array: a.name, expected: [arrays[0].shape.first ?? -1], got: a.shape)
            }
        }
        self.body = body
        thetas = arrays
    }

    /// The candidate times.
    public var times: [Double] { body.times }

    /// The candidates as parameters, checked against the architecture.
    public func parameters<S: BLASScalar & WireScalar>(architecture: MLPArchitecture, as type: S.Type = S.self) throws -> [MLPParameters<S>] {
        try thetas.map { try MLPParameters<S>(flat: $0, architecture: architecture) }
    }
}
