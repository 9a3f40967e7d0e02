/// The Jacobian block `Z` (`P × mk`) of an MLP on m samples, kept in factored form.
///
/// For a dense layer `h^ℓ = s_w W^ℓ x^{ℓ−1} + s_b b^ℓ`, column `(i, a)` of `Z` restricted to layer ℓ is
/// `s_w δ^ℓ_{i,a} ⊗ x^{ℓ−1}_i` for `W^ℓ` and `s_b δ^ℓ_{i,a}` for `b^ℓ`, with `δ^ℓ_{i,a} = ∂f_a(x_i)/∂h^ℓ`
/// (DESIGN.md §2). So `Z` is fully described by the layer inputs `X^{ℓ−1}` (m × n_{ℓ−1}) and the
/// backward signals `Δ^ℓ` (mk × n_ℓ, row `i·k + a`), about `n/2` times smaller than `Z` itself.
/// Nothing here ever materializes `Z`: Grams, `Z v` and `Zᵀ w` are GEMMs on the factors.
public struct FactoredJacobian<Scalar: BLASScalar>: Sendable {
    /// The network's architecture (multipliers `s_w`, `s_b` per layer).
    public let architecture: MLPArchitecture
    /// `X^{ℓ−1}` for ℓ = 1…L, each m × n_{ℓ−1}.
    public let layerInputs: [Matrix<Scalar>]
    /// `Δ^ℓ` for ℓ = 1…L, each mk × n_ℓ; row `i·k + a` is `δ^ℓ_{i,a}` (for ℓ = L it is `e_a`).
    public let deltas: [Matrix<Scalar>]
    /// `u = f(X; θ)`, m × k: the outputs at which the network was linearized.
    public let outputs: Matrix<Scalar>

    /// Number of samples m.
    public var sampleCount: Int { outputs.rows }
    /// Number of outputs k.
    public var outputCount: Int { outputs.columns }
    /// `mk`: the number of columns of `Z`.
    public var columnCount: Int { outputs.count }

    /// Runs the forward pass and the batched backward pass for every output at once.
    ///
    /// `Δ^{ℓ} = (s_w^{ℓ+1} Δ^{ℓ+1} W^{ℓ+1}) ∘ σ′(H^ℓ)` (rows of `σ′` repeated k times): one GEMM per layer
    /// for all samples and outputs together.
    public init(network: MLP<Scalar>, inputs: Matrix<Scalar>) throws {
        let arch = network.architecture
        let trace = try network.forwardTrace(inputs)
        let m = inputs.rows, k = arch.outputCount, L = arch.layerCount
        var deltas = [Matrix<Scalar>](repeating: Matrix(rows: 0, columns: 0), count: L)
        var top = Matrix<Scalar>(rows: m * k, columns: k)
        for i in 0..<m { for a in 0..<k { top[i * k + a, a] = 1 } }
        deltas[L - 1] = top
        if L >= 2 {
            for l in stride(from: L - 1, through: 1, by: -1) {
                var d = Matrix.product(deltas[l], network.parameters.weights[l],
                                       alpha: Scalar(arch.weightMultiplier(layer: l + 1)))
                let sigmaPrime = trace.activationDerivatives[l - 1]
                let n = d.columns
                d.withUnsafeMutableBufferPointer { pd in
                    sigmaPrime.withUnsafeBufferPointer { ps in
                        Scalar.scaleRepeatedRows(pd.baseAddress!, samples: m, outputs: k, width: n, by: ps.baseAddress!)
                    }
                }
                deltas[l - 1] = d
            }
        }
        self.architecture = arch
        self.layerInputs = trace.layerInputs
        self.deltas = deltas
        self.outputs = trace.outputs
    }

    /// Factors assembled directly (from a worker's upload, for instance); shapes are checked.
    public init(architecture: MLPArchitecture, layerInputs: [Matrix<Scalar>], deltas: [Matrix<Scalar>],
                outputs: Matrix<Scalar>) throws {
        let L = architecture.layerCount, m = outputs.rows, k = outputs.columns
        guard layerInputs.count == L, deltas.count == L, k == architecture.outputCount else {
            throw ModelError.shapeMismatch("factored Jacobian needs \(L) layer inputs and deltas and \(architecture.outputCount) outputs")
        }
        for l in 1...L {
            guard layerInputs[l - 1].rows == m, layerInputs[l - 1].columns == architecture.widths[l - 1] else {
                throw ModelError.shapeMismatch("X^\(l - 1) is \(layerInputs[l - 1].rows)×\(layerInputs[l - 1].columns), expected \(m)×\(architecture.widths[l - 1])")
            }
            guard deltas[l - 1].rows == m * k, deltas[l - 1].columns == architecture.widths[l] else {
                throw ModelError.shapeMismatch("Δ^\(l) is \(deltas[l - 1].rows)×\(deltas[l - 1].columns), expected \(m * k)×\(architecture.widths[l])")
            }
        }
        self.architecture = architecture
        self.layerInputs = layerInputs
        self.deltas = deltas
        self.outputs = outputs
    }

    // MARK: Products with Z without forming it

    /// `Z v` for `v ∈ R^{mk}`: the weight-space vector `Σ_{i,a} v_{i,a} ∂_θ f_a(x_i)`, shaped as parameters.
    ///
    /// Per layer, `∂W^ℓ = s_w D̃ᵀ X^{ℓ−1}` and `∂b^ℓ = s_b Σ_i D̃_i`, with `D̃_i = Σ_a v_{i,a} δ^ℓ_{i,a}`.
    public func contractByLayer(_ v: [Scalar]) -> MLPParameters<Scalar> {
        precondition(v.count == columnCount, "contract: vector has \(v.count) entries, Z has \(columnCount) columns")
        let m = sampleCount, k = outputCount
        var out = MLPParameters<Scalar>(zerosFor: architecture)
        for l in 1...architecture.layerCount {
            let delta = deltas[l - 1]
            let n = delta.columns
            let mixed = combineOutputs(delta, weights: v, m: m, k: k)       // D̃: m × n_ℓ
            out.weights[l - 1] = Matrix.product(mixed, layerInputs[l - 1], transposeA: true,
                                                alpha: Scalar(architecture.weightMultiplier(layer: l)))
            let ones = Scalar.filled(1, count: m)
            var b = mixed.times(ones, transposed: true)
            let sb = Scalar(architecture.biasMultiplier(layer: l))
            for j in 0..<n { b[j] *= sb }
            out.biases[l - 1] = b
        }
        return out
    }

    /// `Zᵀ w` for a weight-space vector `w`: the directional derivative (JVP) `∂_θ f_a(x_i) · w` for every
    /// sample and output, i.e. one forward-mode pass through the stored factors.
    ///
    /// Per layer, `T^ℓ = s_w X^{ℓ−1} ∂W^ℓᵀ + s_b 1 ∂b^ℓᵀ` (m × n_ℓ), and `(Zᵀw)_{i,a} = Σ_ℓ δ^ℓ_{i,a} · T^ℓ_i`.
    public func jvp(layers w: MLPParameters<Scalar>) -> [Scalar] {
        let m = sampleCount, k = outputCount
        var out = Scalar.filled(0, count: m * k)
        for l in 1...architecture.layerCount {
            var t = Matrix.product(layerInputs[l - 1], w.weights[l - 1], transposeB: true,
                                   alpha: Scalar(architecture.weightMultiplier(layer: l)))
            let sb = Scalar(architecture.biasMultiplier(layer: l))
            let n = t.columns
            w.biases[l - 1].withUnsafeBufferPointer { pb in
                t.withUnsafeMutableBufferPointer { pt in Scalar.addRowVector(pt.baseAddress!, rows: m, columns: n, pb.baseAddress!, scale: sb) }
            }
            // (Zᵀw)_{i,a} += δ^ℓ_{i,a} · T^ℓ_i: per-sample row dots (k × n_ℓ each), one pass over Δ.
            deltas[l - 1].withUnsafeBufferPointer { pd in
                t.withUnsafeBufferPointer { pt in
                    out.withUnsafeMutableBufferPointer { po in
                        Scalar.accumulateRowDots(pd.baseAddress!, pt.baseAddress!, samples: m, outputs: k, width: n, into: po.baseAddress!)
                    }
                }
            }
        }
        return out
    }

    /// `D̃_i = Σ_a v_{i,a} δ_{i,a}`: per sample a (1 × k)·(k × n) product, one pass over Δ.
    private func combineOutputs(_ delta: Matrix<Scalar>, weights v: [Scalar], m: Int, k: Int) -> Matrix<Scalar> {
        let n = delta.columns
        var mixed = Matrix<Scalar>(rows: m, columns: n)
        delta.withUnsafeBufferPointer { pd in
            v.withUnsafeBufferPointer { pv in
                mixed.withUnsafeMutableBufferPointer { pm in
                    Scalar.combineRows(pd.baseAddress!, weights: pv.baseAddress!, samples: m, outputs: k, width: n, into: pm.baseAddress!)
                }
            }
        }
        return mixed
    }
}
