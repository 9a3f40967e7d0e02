import Foundation

/// What a run trains, with θ always one flat vector of P numbers: a fully connected MLP (whose Jacobian
/// blocks travel factored), any network written as a spec (convolutions, pooling, residual blocks;
/// dense Jacobian blocks), or a hypernetwork (personalized federation; dense blocks).
///
/// For an MLP, θ's order is `MLPParameters.flattened`; for a network, `Network`'s documented layout (the
/// same for a spec made only of dense layers).
public enum ModelArchitecture: Equatable, Sendable, CustomStringConvertible {
    /// Widths, activation, parametrization of an MLP.
    case mlp(MLPArchitecture)
    /// A spec such as `conv(16,3)-relu-gap-dense(10)` on inputs of a given shape.
    case network(NetworkArchitecture)
    /// A hypernetwork `h(x, z) = g(z; f(x; w))` (θ = w, `Hypernetwork.parameters` order; dense blocks). A sample's
    /// input row is `[x, z]`: `metaInputDimension` values of `x` (e.g. a worker's one-hot id), then `z`.
    case hypernetwork(HypernetworkArchitecture)

    /// Number of parameters P.
    public var parameterCount: Int {
        switch self {
        case .mlp(let a): return a.parameterCount
        case .network(let n): return n.parameterCount
        case .hypernetwork(let h): return h.parameterCount
        }
    }

    /// Values per input sample (`H·W·C` for a network).
    public var inputDimension: Int {
        switch self {
        case .mlp(let a): return a.inputDimension
        case .network(let n): return n.inputShape.count
        case .hypernetwork(let h): return h.metaInputDimension + h.primaryInputDimension
        }
    }

    /// Number of outputs k.
    public var outputCount: Int {
        switch self {
        case .mlp(let a): return a.outputCount
        case .network(let n): return n.outputCount
        case .hypernetwork(let h): return h.outputCount
        }
    }

    /// The MLP, when the model is one (its blocks can travel factored).
    public var mlp: MLPArchitecture? { if case .mlp(let a) = self { return a } else { return nil } }

    /// The hypernetwork, when the model is one (its input rows are `[x, z]`).
    public var hypernetwork: HypernetworkArchitecture? { if case .hypernetwork(let h) = self { return h } else { return nil } }

    public var description: String {
        switch self {
        case .mlp(let a): return a.description
        case .network(let n): return n.description
        case .hypernetwork(let h): return h.description
        }
    }

    /// The seeded initialization `θ_0` (flat).
    public func initialParameters<S: BLASScalar>(seed: UInt64, as type: S.Type = S.self) throws -> [S] {
        switch self {
        case .mlp(let a): return MLPParameters<S>(initializing: a, seed: seed).flattened
        case .network(let n): return try n.network(seed: seed, as: S.self).parameters
        case .hypernetwork(let h): return Hypernetwork<S>(architecture: h, seed: seed).parameters
        }
    }

    /// `f(X; θ)`, m × k.
    public func outputs<S: BLASScalar>(_ inputs: Matrix<S>, parameters theta: [S]) throws -> Matrix<S> {
        switch self {
        case .mlp(let a): return try MLP(architecture: a, parameters: try mlpParameters(theta, a))(inputs)
        case .network(let n): return try n.network(parameters: theta)(inputs)
        case .hypernetwork(let h): return try Hypernetwork<S>(architecture: h, parameters: theta)(Self.hypernetworkInputs(inputs, h))
        }
    }

    /// The Jacobian block at θ on `inputs`: factored for an MLP, the network's dense columns otherwise.
    public func jacobian<S: BLASScalar>(_ inputs: Matrix<S>, parameters theta: [S]) throws -> any JacobianOperator<S> {
        switch self {
        case .mlp(let a):
            return try FactoredJacobian(network: MLP(architecture: a, parameters: try mlpParameters(theta, a)), inputs: inputs)
        case .network(let n):
            return try NetworkJacobian(network: n.network(parameters: theta), inputs: inputs).denseBlock()
        case .hypernetwork(let h):
            return try Hypernetwork<S>(architecture: h, parameters: theta).jacobian(Self.hypernetworkInputs(inputs, h)).dense
        }
    }

    /// Rows `[x, z]` as a hypernetwork batch: the distinct `x` (in order of first appearance) and each row's `z`.
    /// `f` then runs once per distinct `x` — once per worker in a federation, whose rows all carry its `x`.
    public static func hypernetworkInputs<S: BLASScalar>(_ rows: Matrix<S>, _ h: HypernetworkArchitecture) throws -> HypernetworkInputs<S> {
        let n0 = h.metaInputDimension, m0 = h.primaryInputDimension, d = n0 + m0
        guard rows.columns == d else {
            throw ModelError.shapeMismatch("hypernetwork input rows have \(rows.columns) values, expected [x, z] = \(n0) + \(m0)")
        }
        var metaRows: [[S]] = [], metaIndex: [Int] = [], lookup: [[S]: Int] = [:]
        var z = [S]()
        z.reserveCapacity(rows.rows * m0)
        metaIndex.reserveCapacity(rows.rows)
        let e = rows.elements
        for i in 0..<rows.rows {
            let x = Array(e[(i * d)..<(i * d + n0)])
            if let c = lookup[x] { metaIndex.append(c) } else {
                lookup[x] = metaRows.count
                metaIndex.append(metaRows.count)
                metaRows.append(x)
            }
            z += e[(i * d + n0)..<((i + 1) * d)]
        }
        return try HypernetworkInputs(metaInputs: Matrix(rows: metaRows.count, columns: n0, elements: metaRows.flatMap { $0 }),
                                      primaryInputs: Matrix(rows: rows.rows, columns: m0, elements: z), metaIndex: metaIndex)
    }

    /// Multiply–adds per exact Gram entry from this model's blocks (`JacobianOperator.gramDepth`): Σ_ℓ n_ℓ for
    /// factored MLP blocks, P for dense blocks.
    public func gramDepth(factored: Bool) -> Int {
        if factored, let a = mlp { return a.widths.dropFirst().reduce(0, +) }
        return parameterCount
    }

    /// θ as a `.npz` archive: an MLP's `W1, b1, …` (see `MLPParameters.archive`), a network's flat `theta`.
    public func archive<S: BLASScalar>(_ theta: [S]) throws -> NumpyArchive {
        switch self {
        case .mlp(let a): return try mlpParameters(theta, a).archive
        case .network, .hypernetwork: return NumpyArchive(arrays: ["theta": NumpyArray(theta)])
        }
    }

    private func mlpParameters<S: BLASScalar>(_ theta: [S], _ a: MLPArchitecture) throws -> MLPParameters<S> {
        guard theta.count == a.parameterCount else {
            throw ModelError.shapeMismatch("θ has \(theta.count) entries, \(a) has \(a.parameterCount) parameters")
        }
        return MLPParameters<S>(zerosFor: a).reshaping(theta)
    }
}

/// A network written as a spec, for one input shape and parametrization: everything but its parameters.
public struct NetworkArchitecture: Codable, Equatable, Sendable, CustomStringConvertible {
    /// The spec as written, e.g. `conv(16,3)-relu-conv(16,3)-relu-gap-dense(10)`.
    public let spec: String
    /// One sample's shape, e.g. `8x8x1`.
    public let inputShape: TensorShape
    public let parametrization: Parametrization
    /// `β`.
    public let biasScale: Double
    /// `σ_w` (nil: the parametrization's default).
    public let weightScale: Double?
    /// P and k, found by building the network once.
    public let parameterCount: Int
    public let outputCount: Int

    /// Parses and checks the spec against the input shape (positional errors for either).
    public init(spec: String, inputShape: TensorShape, parametrization: Parametrization = .ntk,
                biasScale: Double = 0.1, weightScale: Double? = nil) throws {
        self.spec = spec
        self.inputShape = inputShape
        self.parametrization = parametrization
        self.biasScale = biasScale
        self.weightScale = weightScale
        let probe = try Network<Float>(spec: NetworkSpec(parsing: spec), inputShape: inputShape, parametrization: parametrization,
                                       biasScale: biasScale, weightScale: weightScale, seed: 0)
        parameterCount = probe.parameterCount
        outputCount = probe.outputCount
    }

    public var description: String { "\(spec) on \(inputShape)" }

    /// The network at its seeded initialization.
    public func network<S: BLASScalar>(seed: UInt64, as type: S.Type = S.self) throws -> Network<S> {
        try Network<S>(spec: NetworkSpec(parsing: spec), inputShape: inputShape, parametrization: parametrization,
                       biasScale: biasScale, weightScale: weightScale, seed: seed)
    }

    /// The network at θ.
    public func network<S: BLASScalar>(parameters theta: [S]) throws -> Network<S> {
        try Network<S>(spec: NetworkSpec(parsing: spec), inputShape: inputShape, parametrization: parametrization,
                       biasScale: biasScale, weightScale: weightScale, parameters: theta)
    }

    private enum CodingKeys: String, CodingKey { case spec, inputShape, parametrization, biasScale, weightScale }

    /// Decoding re-runs the checks (a peer's description is input like any other).
    public init(from decoder: Decoder) throws {
        let c = try decoder.container(keyedBy: CodingKeys.self)
        try self.init(spec: c.decode(String.self, forKey: .spec),
                      inputShape: TensorShape(parsing: c.decode(String.self, forKey: .inputShape)),
                      parametrization: c.decode(Parametrization.self, forKey: .parametrization),
                      biasScale: c.decode(Double.self, forKey: .biasScale),
                      weightScale: c.decodeIfPresent(Double.self, forKey: .weightScale))
    }

    public func encode(to encoder: Encoder) throws {
        var c = encoder.container(keyedBy: CodingKeys.self)
        try c.encode(spec, forKey: .spec)
        try c.encode(inputShape.isFlat ? "\(inputShape.count)" : "\(inputShape.height)x\(inputShape.width)x\(inputShape.channels)",
                     forKey: .inputShape)
        try c.encode(parametrization, forKey: .parametrization)
        try c.encode(biasScale, forKey: .biasScale)
        try c.encodeIfPresent(weightScale, forKey: .weightScale)
    }
}
