/// The Jacobian `∂h/∂w` of a hypernetwork on a batch, factored per layer of the meta-network `f`.
///
/// `∂h_a(u_i)/∂w` restricted to `f`'s layer l is `s_w δ^l_{i,a} ⊗ q^{l−1}(x_{c(i)})` for `W^l` and
/// `s_b δ^l_{i,a}` for `b^l`, where `δ^l_{i,a}` is `f`'s backward signal started from the cotangent
/// `δ^L_{i,a} = ∂h_a(u_i)/∂v` (the chain rule of eq. 19). The forward factors `q^{l−1}` depend on `x` only,
/// so they are kept once per distinct `x`. The dense block (`JacobianBlock`, what a worker ships), the
/// empirical hyperkernel `Θ̂_h = Z_aᵀ Z_b` and `∂h/∂v` all come from these factors.
public struct HypernetworkJacobian<Scalar: BLASScalar>: Sendable {
    /// Shapes of `f` and `g`.
    public let architecture: HypernetworkArchitecture
    /// `f`'s layer inputs `q^{l−1}` for l = 1…L, per distinct `x` (p × n_{l−1}; `[0]` is `x/√2`, see `Hypernetwork`).
    public let metaLayerInputs: [Matrix<Scalar>]
    /// `c(i)`: sample i's row of `metaLayerInputs`.
    public let metaIndex: [Int]
    /// `Δ^l` for l = 1…L (mk × n_l, row `i·k + a`); `deltas[L−1]` is `∂h/∂v`.
    public let deltas: [Matrix<Scalar>]
    /// `h(u_i)`, m × k: the outputs at which the network was linearized.
    public let outputs: Matrix<Scalar>

    init(architecture: HypernetworkArchitecture, metaLayerInputs: [Matrix<Scalar>], metaIndex: [Int],
         deltas: [Matrix<Scalar>], outputs: Matrix<Scalar>) {
        self.architecture = architecture
        self.metaLayerInputs = metaLayerInputs
        self.metaIndex = metaIndex
        self.deltas = deltas
        self.outputs = outputs
    }

    /// Number of samples m.
    public var sampleCount: Int { outputs.rows }
    /// Number of outputs k.
    public var outputCount: Int { outputs.columns }
    /// `N`: the number of parameters `w`.
    public var parameterCount: Int { architecture.parameterCount }

    /// `∂h_a(u_i)/∂v` (mk × n_L): the Jacobian with respect to the primary network's weights (`∂g/∂v` of eq. 19).
    public var primaryWeightGradients: Matrix<Scalar> { deltas[deltas.count - 1] }

    /// The dense block `Zᵀ` (mk × N, row `i·k + a` = `∂h_a(u_i)/∂w` in `Hypernetwork.parameters` order).
    ///
    /// Each row's layer slice is the outer product `s_w δ^l ⊗ q^{l−1}`, written as a rank-1 GEMM; this
    /// is memory-bound (it writes N numbers per row), which is why the kernels below never call it.
    public var dense: JacobianBlock<Scalar> {
        let arch = architecture.metaArchitecture
        let z = JacobianBlock<Scalar>.expand(architecture: arch, layerInputs: metaLayerInputs, deltas: deltas,
                                             samples: sampleCount, outputs: outputCount, inputRow: metaIndex)
        return try! JacobianBlock(parameterCount: arch.parameterCount, outputCount: outputCount, columnsAsRows: z, outputs: outputs)
    }

    /// The empirical hyperkernel `Θ̂_h(u_i, u_i′)` of these samples (mk × mk exact, m × m output-averaged), never forming `Z`.
    public func gram(_ kind: KernelKind = .exact) -> Matrix<Scalar> { crossGram(with: self, kind) }

    /// The empirical hyperkernel between these samples (rows) and `other`'s (columns): `mk × m′k` (exact).
    ///
    /// `Θ̂_h = Σ_l (s_w² Q^{l−1}_c Q^{l−1ᵀ}_{c′} + s_b²)[c(i), c′(j)] ∘ (Δ^l Δ′^{lᵀ})` (DESIGN.md §2): per layer,
    /// one small GEMM over the distinct `x` and one GEMM of the backward signals. The output-averaged kernel
    /// (`KernelKind.outputAveraged`, m × m′) views each Δ as m × (k·n_l), as `EmpiricalKernel` does.
    public func crossGram(with other: HypernetworkJacobian, _ kind: KernelKind = .exact) -> Matrix<Scalar> {
        precondition(other.architecture == architecture, "cross hyperkernel needs the same hypernetwork")
        let arch = architecture.metaArchitecture
        let m = sampleCount, mB = other.sampleCount, k = outputCount
        let perSampleRows = kind == .exact ? k : 1
        var result = Matrix<Scalar>(rows: m * perSampleRows, columns: mB * perSampleRows)
        for l in 1...arch.layerCount {
            let sw = arch.weightMultiplier(layer: l), sb = arch.biasMultiplier(layer: l)
            let forward = Matrix.product(metaLayerInputs[l - 1], other.metaLayerInputs[l - 1], transposeB: true, alpha: Scalar(sw * sw))
            // Per sample pair (an m × m′ gather of the p × p′ forward Gram; m² scalars, no arithmetic).
            var perSample = Matrix<Scalar>(rows: m, columns: mB)
            let b2 = Scalar(sb * sb)
            for i in 0..<m {
                let c = metaIndex[i]
                for j in 0..<mB { perSample[i, j] = forward[c, other.metaIndex[j]] + b2 }
            }
            let backward = Matrix.product(Self.view(deltas[l - 1], kind, k), Self.view(other.deltas[l - 1], kind, k), transposeB: true)
            result.withUnsafeMutableBufferPointer { pr in
                backward.withUnsafeBufferPointer { pb in
                    perSample.withUnsafeBufferPointer { pf in
                        Scalar.accumulateBlockHadamard(pr.baseAddress!, pb.baseAddress!, pf.baseAddress!, rowSamples: m, columnSamples: mB,
                                                       perSample: perSampleRows, scale: kind == .exact ? 1 : 1 / Scalar(k), upperOnly: false)
                    }
                }
            }
        }
        return result
    }

    /// Δ (mk × n) as is, or as m × (k·n) for the output-averaged kernel (same storage).
    private static func view(_ delta: Matrix<Scalar>, _ kind: KernelKind, _ k: Int) -> Matrix<Scalar> {
        kind == .exact ? delta : Matrix(rows: delta.rows / k, columns: delta.columns * k, elements: delta.elements)
    }
}
