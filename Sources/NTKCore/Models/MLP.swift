/// A fully connected network: an architecture and its parameters `θ`.
public struct MLP<Scalar: BLASScalar>: Sendable {
    /// Widths, activation, parametrization.
    public let architecture: MLPArchitecture
    /// `θ`.
    public var parameters: MLPParameters<Scalar>

    /// A network at given parameters (shapes and finiteness are checked).
    public init(architecture: MLPArchitecture, parameters: MLPParameters<Scalar>) throws {
        try parameters.validate(against: architecture)
        self.architecture = architecture
        self.parameters = parameters
    }

    /// A network at its seeded initialization `θ_0`.
    public init(architecture: MLPArchitecture, seed: UInt64) {
        self.architecture = architecture
        self.parameters = MLPParameters(initializing: architecture, seed: seed)
    }

    /// `f(X; θ)` for a batch `X` (m × n_0); returns m × k.
    public func callAsFunction(_ inputs: Matrix<Scalar>) throws -> Matrix<Scalar> {
        try forwardTrace(inputs, keepDerivatives: false).outputs
    }

    /// The forward pass keeping what the Jacobian needs: every layer's input `X^{ℓ−1}` and `σ′(H^ℓ)`.
    public func forwardTrace(_ inputs: Matrix<Scalar>, keepDerivatives: Bool = true) throws -> ForwardTrace<Scalar> {
        let arch = architecture
        guard inputs.columns == arch.inputDimension else {
            throw ModelError.shapeMismatch("inputs have \(inputs.columns) features, the network expects \(arch.inputDimension)")
        }
        guard inputs.isFinite else { throw ModelError.nonFiniteParameters("inputs hold NaN or ∞") }
        let m = inputs.rows
        var layerInputs: [Matrix<Scalar>] = [inputs]
        var derivatives: [Matrix<Scalar>] = []
        var x = inputs
        for l in 1...arch.layerCount {
            // H^ℓ = s_w X^{ℓ−1} W^ℓᵀ + s_b 1 b^ℓᵀ
            var h = Matrix.product(x, parameters.weights[l - 1], transposeB: true,
                                   alpha: Scalar(arch.weightMultiplier(layer: l)))
            let sb = Scalar(arch.biasMultiplier(layer: l))
            let b = parameters.biases[l - 1]
            let n = h.columns
            h.withUnsafeMutableBufferPointer { p in
                b.withUnsafeBufferPointer { pb in Scalar.addRowVector(p.baseAddress!, rows: m, columns: n, pb.baseAddress!, scale: sb) }
            }
            if l == arch.layerCount { x = h; break }
            var value = Matrix<Scalar>(rows: m, columns: n)
            var deriv = Matrix<Scalar>(rows: keepDerivatives ? m : 0, columns: keepDerivatives ? n : 0)
            h.withUnsafeBufferPointer { ph in
                value.withUnsafeMutableBufferPointer { pv in
                    if keepDerivatives {
                        deriv.withUnsafeMutableBufferPointer { pd in Scalar.activate(arch.activation, ph, values: pv, derivatives: pd) }
                    } else {
                        Scalar.activate(arch.activation, ph, values: pv, derivatives: nil)
                    }
                }
            }
            x = value
            if keepDerivatives { layerInputs.append(x); derivatives.append(deriv) }
        }
        return ForwardTrace(layerInputs: layerInputs, activationDerivatives: derivatives, outputs: x)
    }
}

/// What a forward pass leaves behind for backpropagation.
public struct ForwardTrace<Scalar: BLASScalar>: Sendable {
    /// `X^{ℓ−1}` for ℓ = 1…L (m × n_{ℓ−1}); `layerInputs[0]` is the batch itself.
    public let layerInputs: [Matrix<Scalar>]
    /// `σ′(H^ℓ)` for ℓ = 1…L−1 (m × n_ℓ).
    public let activationDerivatives: [Matrix<Scalar>]
    /// `f(X; θ)`, m × k.
    public let outputs: Matrix<Scalar>
}
