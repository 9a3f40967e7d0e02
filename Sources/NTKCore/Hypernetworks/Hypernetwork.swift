/// A ReLU hypernetwork `h(u; w) = g(z; f(x; w))`: the meta-network `f` produces every weight of `g`.
///
/// papers/wide-hypernetworks.txt §2, eq. 6: `u = (x, z)`; only `f`'s parameters `w` are trained, `v = f(x; w)`
/// is `g`'s weight vector `(vec V^1, …, vec V^H)`. Parametrization and shapes: `HypernetworkArchitecture`.
/// `w` is `f`'s `MLPParameters`, flat in the order of `MLPParameters.flattened` (W^1, b^1, …, W^L, b^L): the
/// row order of the Jacobian `Z` and of `parameters`, so a worker can take and return one flat vector.
public struct Hypernetwork<Scalar: BLASScalar>: Sendable {
    /// Shapes of `f` and `g`.
    public let architecture: HypernetworkArchitecture
    /// The meta-network `f` (an MLP fed `x/√2`, see `HypernetworkArchitecture.metaArchitecture`); its parameters are `w`.
    public var meta: MLP<Scalar>

    /// The seeded initialization `w_0` (every entry N(0, 1), §2), bit-identical everywhere (`PortableGaussian`).
    public init(architecture: HypernetworkArchitecture, seed: UInt64) {
        self.architecture = architecture
        self.meta = MLP(architecture: architecture.metaArchitecture, seed: seed)
    }

    /// The network at a flat parameter vector `w` (N entries in `MLPParameters.flattened` order).
    public init(architecture: HypernetworkArchitecture, parameters w: [Scalar]) throws {
        let metaArch = architecture.metaArchitecture
        guard w.count == metaArch.parameterCount else {
            throw ModelError.shapeMismatch("flat w has \(w.count) entries, the hypernetwork has \(metaArch.parameterCount)")
        }
        // Sliced straight into per-layer storage (no zero-filled template to overwrite: w can hold millions).
        var weights: [Matrix<Scalar>] = [], biases: [[Scalar]] = []
        var offset = 0
        for l in 1...metaArch.layerCount {
            let nIn = metaArch.widths[l - 1], nOut = metaArch.widths[l]
            weights.append(Matrix(rows: nOut, columns: nIn, elements: Array(w[offset..<(offset + nOut * nIn)])))
            offset += nOut * nIn
            biases.append(Array(w[offset..<(offset + nOut)]))
            offset += nOut
        }
        self.architecture = architecture
        self.meta = try MLP(architecture: metaArch, parameters: MLPParameters(weights: weights, biases: biases))
    }

    /// `N`: the number of trainable parameters.
    public var parameterCount: Int { architecture.parameterCount }

    /// `w` as one flat vector (the Jacobian's row order); setting it keeps the shapes.
    public var parameters: [Scalar] {
        get { meta.parameters.flattened }
        set { meta.parameters = meta.parameters.reshaping(newValue) }
    }

    /// What `f`'s MLP is fed: `x/√2`, which turns the MLP's uniform `σ_w = √2` into eq. 5's bare first layer.
    public static func metaNetworkInput(_ x: Matrix<Scalar>) -> Matrix<Scalar> {
        var scaled = x
        let n = scaled.count
        if n > 0 { scaled.withUnsafeMutableBufferPointer { Scalar.scal(n: n, alpha: Scalar(0.5.squareRoot()), x: $0.baseAddress!) } }
        return scaled
    }

    /// `v = f(x; w)` for each row of `x` (p × n_0): the primary network's weights, p × n_L.
    public func primaryWeights(_ x: Matrix<Scalar>) throws -> Matrix<Scalar> {
        try checkMetaInputs(x)
        return try meta(Self.metaNetworkInput(x))
    }

    /// `h(u_i; w)` for every sample, m × k; `f` runs once per distinct `x`.
    public func callAsFunction(_ inputs: HypernetworkInputs<Scalar>) throws -> Matrix<Scalar> {
        try checkPrimaryInputs(inputs)
        let v = try primaryWeights(inputs.metaInputs)
        return PrimaryNetworkPass(architecture: architecture, weights: v, inputs: inputs, keepDerivatives: false).outputs
    }

    /// The Jacobian `∂h/∂w` of the batch, by the chain rule `∂h/∂w = (∂g/∂v)(∂f/∂w)` (eq. 19).
    ///
    /// `∂f/∂w` (n_L × N, n_L ≈ m² can be large) is never formed: the rows `∂h_a(u_i)/∂v` are backpropagated
    /// through `f` as its output cotangents, one GEMM per layer of `f` for the whole batch, which leaves the
    /// Jacobian in the factored form of `HypernetworkJacobian` (dense on demand).
    public func jacobian(_ inputs: HypernetworkInputs<Scalar>) throws -> HypernetworkJacobian<Scalar> {
        try checkPrimaryInputs(inputs)
        try checkMetaInputs(inputs.metaInputs)
        let metaArch = meta.architecture, L = metaArch.layerCount
        let m = inputs.sampleCount, k = architecture.outputCount
        let trace = try meta.forwardTrace(Self.metaNetworkInput(inputs.metaInputs))
        let pass = PrimaryNetworkPass(architecture: architecture, weights: trace.outputs, inputs: inputs, keepDerivatives: true)
        var deltas = [Matrix<Scalar>](repeating: Matrix(rows: 0, columns: 0), count: L)
        deltas[L - 1] = pass.primaryWeightGradients(architecture: architecture, weights: trace.outputs, inputs: inputs)
        // Δ_f^l = (s_w^{l+1} Δ_f^{l+1} W^{l+1}) ∘ σ′(H^l)[c(i)]: f's backward pass with the cotangents as its top signal.
        if L >= 2 {
            for l in stride(from: L - 1, through: 1, by: -1) {
                var d = Matrix.product(deltas[l], meta.parameters.weights[l], alpha: Scalar(metaArch.weightMultiplier(layer: l + 1)))
                let mask = trace.activationDerivatives[l - 1].gatheringRows(inputs.metaIndex)
                let n = d.columns
                d.withUnsafeMutableBufferPointer { pd in
                    mask.withUnsafeBufferPointer { pm in
                        Scalar.scaleRepeatedRows(pd.baseAddress!, samples: m, outputs: k, width: n, by: pm.baseAddress!)
                    }
                }
                deltas[l - 1] = d
            }
        }
        return HypernetworkJacobian(architecture: architecture, metaLayerInputs: trace.layerInputs, metaIndex: inputs.metaIndex,
                                    deltas: deltas, outputs: pass.outputs)
    }

    private func checkMetaInputs(_ x: Matrix<Scalar>) throws {
        guard x.columns == architecture.metaInputDimension else {
            throw ModelError.shapeMismatch("x has \(x.columns) features, the meta-network expects \(architecture.metaInputDimension)")
        }
    }

    private func checkPrimaryInputs(_ inputs: HypernetworkInputs<Scalar>) throws {
        guard inputs.primaryInputs.columns == architecture.primaryInputDimension else {
            throw ModelError.shapeMismatch("z has \(inputs.primaryInputs.columns) features, the primary network expects \(architecture.primaryInputDimension)")
        }
    }
}
