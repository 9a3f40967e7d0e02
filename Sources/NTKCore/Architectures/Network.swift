/// A network built from a `NetworkSpec` (convolutions, pooling, residual blocks, dense layers, activations)
/// for one input shape, with its parameters `θ` as one flat contiguous vector.
///
/// **θ layout.** The affine layers (`conv` and `dense`) are numbered ℓ = 1, 2, … in the order they are
/// written, a residual branch's layers in place. θ lists, per layer, `W^ℓ` row-major as
/// `C_out × (size² · C_in)` (patch columns in (row, column, channel) order; `n_out × n_in` for a dense
/// layer), then `b^ℓ` (`C_out`). For a spec made only of `dense` layers and activations this is exactly
/// `MLPParameters.flattened`, and the seeded initialization is the MLP's too (`W^ℓ` from stream 2ℓ, `b^ℓ`
/// from stream 2ℓ+1 of the seed, see `PortableGaussian`). θ's order is the row order of the Jacobian `Z`.
///
/// **Data layout.** A batch is an `m × (H·W·C)` matrix, each row one sample `H × W × C` row-major
/// (channels fastest). Outputs are `m × k`.
public struct Network<Scalar: BLASScalar>: Sendable {
    /// The layers as written.
    public let spec: NetworkSpec
    /// One sample's shape.
    public let inputShape: TensorShape
    /// NTK or standard parametrization (see `AffineLayer`).
    public let parametrization: Parametrization
    /// `σ_w` (NTK: the multiplier's numerator; standard: the init gain).
    public let weightScale: Double
    /// `β` (NTK: the bias multiplier; standard: the bias init standard deviation).
    public let biasScale: Double
    /// The affine layers in θ order, with their offsets and multipliers.
    public let affineLayers: [AffineLayer]
    /// `θ` (see the type's documentation for the layout).
    public private(set) var parameters: [Scalar]

    let layers: [NetworkLayer]

    /// Number of parameters `P`.
    public var parameterCount: Int { parameters.count }
    /// Number of outputs `k`.
    public let outputCount: Int

    /// A network at its seeded initialization `θ_0`. `weightScale` defaults to 1 (NTK) or, in standard
    /// parametrization, to the He/LeCun gain of the spec's first activation (√2 for relu).
    public init(spec: NetworkSpec, inputShape: TensorShape, parametrization: Parametrization = .ntk,
                biasScale: Double = 0.1, weightScale: Double? = nil, seed: UInt64) throws {
        try self.init(spec: spec, inputShape: inputShape, parametrization: parametrization, biasScale: biasScale,
                      weightScale: weightScale, parameters: nil)
        var theta = [Scalar]()
        theta.reserveCapacity(parameterCount)
        for layer in affineLayers {
            var gw = PortableGaussian(seed: seed, stream: UInt64(2 * layer.index))
            var gb = PortableGaussian(seed: seed, stream: UInt64(2 * layer.index + 1))
            theta += gw.fill(layer.outputChannels * layer.geometry.patchLength, scale: layer.weightInitStd)
            theta += gb.fill(layer.outputChannels, scale: layer.biasInitStd)
        }
        parameters = theta
    }

    /// A network at given parameters `θ` (length and finiteness are checked).
    public init(spec: NetworkSpec, inputShape: TensorShape, parametrization: Parametrization = .ntk,
                biasScale: Double = 0.1, weightScale: Double? = nil, parameters: [Scalar]) throws {
        try self.init(spec: spec, inputShape: inputShape, parametrization: parametrization, biasScale: biasScale,
                      weightScale: weightScale, parameters: Optional(parameters))
    }

    private init(spec: NetworkSpec, inputShape: TensorShape, parametrization: Parametrization, biasScale: Double,
                 weightScale: Double?, parameters: [Scalar]?) throws {
        guard biasScale.isFinite, biasScale >= 0 else {
            throw ModelError.invalidArchitecture("bias scale β must be finite and ≥ 0, got \(biasScale)")
        }
        let firstActivation = Self.firstActivation(spec.layers)
        let scale = weightScale ?? (parametrization == .ntk ? 1 : (firstActivation?.standardInitGainSquared ?? 1).squareRoot())
        guard scale.isFinite, scale > 0 else {
            throw ModelError.invalidArchitecture("weight scale σ_w must be finite and > 0, got \(scale)")
        }
        let shapes = try spec.shapes(for: inputShape)   // positional errors for shapes that do not fit
        var counter = 0, offset = 0
        let (layers, _) = try NetworkLayer.build(spec.layers, input: inputShape, counter: &counter, offset: &offset,
                                                 parametrization: parametrization, weightScale: scale, biasScale: biasScale)
        self.spec = spec
        self.inputShape = inputShape
        self.parametrization = parametrization
        self.weightScale = scale
        self.biasScale = biasScale
        self.layers = layers
        self.affineLayers = NetworkLayer.affineLayers(layers)
        self.outputCount = shapes.last!.count
        if let parameters {
            guard parameters.count == offset else {
                throw ModelError.shapeMismatch("θ has \(parameters.count) entries, \(spec) on \(inputShape) needs \(offset)")
            }
            guard parameters.withUnsafeBufferPointer(Scalar.allFinite) else { throw ModelError.nonFiniteParameters("θ holds NaN or ∞") }
            self.parameters = parameters
        } else {
            self.parameters = Scalar.filled(0, count: offset)
        }
    }

    /// Replaces θ (same length, finite).
    public mutating func setParameters(_ theta: [Scalar]) throws {
        guard theta.count == parameters.count else {
            throw ModelError.shapeMismatch("θ has \(theta.count) entries, the network needs \(parameters.count)")
        }
        guard theta.withUnsafeBufferPointer(Scalar.allFinite) else { throw ModelError.nonFiniteParameters("θ holds NaN or ∞") }
        parameters = theta
    }

    /// The same network at parameters `θ`.
    public func withParameters(_ theta: [Scalar]) throws -> Network {
        var copy = self
        try copy.setParameters(theta)
        return copy
    }

    /// `f(X; θ)` for a batch `X` (m × H·W·C); returns m × k.
    @_specialize(where Scalar == Float)
    @_specialize(where Scalar == Double)
    public func callAsFunction(_ inputs: Matrix<Scalar>) throws -> Matrix<Scalar> {
        try checkInputs(inputs)
        return parameters.withUnsafeBufferPointer { theta in
            NetworkPasses.forward(layers, inputs, theta: theta.baseAddress!, keepTrace: false).output
        }
    }

    func checkInputs(_ inputs: Matrix<Scalar>) throws {
        guard inputs.columns == inputShape.count else {
            throw ModelError.shapeMismatch("inputs have \(inputs.columns) values per sample, the network expects \(inputShape) = \(inputShape.count)")
        }
        guard inputs.rows > 0 else { throw ModelError.shapeMismatch("no samples") }
        guard inputs.isFinite else { throw ModelError.nonFiniteParameters("inputs hold NaN or ∞") }
    }

    private static func firstActivation(_ specs: [LayerSpec]) -> Activation? {
        for spec in specs {
            if case .activation(let a) = spec { return a }
            if case .residual(let branch, _) = spec, let a = firstActivation(branch) { return a }
        }
        return nil
    }
}
