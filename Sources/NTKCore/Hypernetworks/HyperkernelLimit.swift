/// The infinite-width hyperkernel `Θ_h(u, u′) = Θ_f(x, x′) · Θ_g(u, u′)` of Theorem 5 (papers/wide-hypernetworks.txt §5).
///
/// `Θ_f` is the ordinary infinite-width NTK of `f` (`K^f → Θ_f · I`, eq. 22, 98). `Θ_g` is NOT the NTK of `g`
/// on `z` alone: it is the limit of `(∂h(u)/∂v)(∂h(u′)/∂v)ᵀ` (Lemma 8, claim 2) where `g`'s weights `V(x)`,
/// `V(x′)` are `f`'s outputs — Gaussian with entry covariance `Σ_f(x, x′)`, the NNGP of `f` (appendix A.6,
/// eq. 86) — so `Θ_g` depends on `u = (x, z)`. Appendix A.6 (eqs. 88–96) reads, with `S^l = lim a^l·a′^l/m_l`:
///
///   `S^0(u, u′) = zᵀz′/m_0`,
///   `Λ^l = Σ_f(x, x′) · S^{l−1}` (eq. 90, the covariance of the pre-activations `g^l(u)`, `g^l(u′)`),
///   `S^l = 2 E[ReLU(a) ReLU(b)]`, `Ṡ^l = 2 E[ReLU′(a) ReLU′(b)]`, `(a, b) ~ N(0, Λ^l)` (eq. 91),
///   `Σ̇_g^l = Σ_f(x, x′) · Ṡ^l` (eq. 95–96: `(2/m) V^l(x) Z Z′ V^l(x′)ᵀ`, whose weight factor is `Σ_f(x, x′)`),
///   `Θ_g = Σ_{l=0}^{H−1} S^l Π_{h=l+1}^{H−1} Σ̇_g^h` (Lemma 8, claim 2).
///
/// Three details of the printed A.6 are read as the parametrization of §2 forces them (and the empirical
/// kernel confirms it, see docs/hypernetworks.md): eq. 88–89 drop the `1/m_0` of eq. 85 (`S^0 = zᵀz′/m_0`
/// here); eq. 91 writes `√2 E[σσ]` for `E[a^l a′^l] = 2 E[σσ]`; and eq. 96 prints the forward expectation
/// `√2 E[σ(u)σ(v)]` for `Σ̇`, whose value is `Σ_f(x, x′) · 2 E[σ′σ′]` — the `Σ_f` factor matters whenever
/// `x ≠ x′` (dropping it misses the empirical kernel by 16% on the test's `x ≠ x′` entries, against 1.7%).
/// ReLU expectations are the arc-cosine closed forms of `InfiniteWidthKernel`. With `k > 1` outputs the full
/// limit is `Θ_h ⊗ I_k`.
public struct HyperkernelLimit: Sendable {
    /// Shapes of `f` and `g` (the widths that go to infinity are ignored; depths, β and input dimensions matter).
    public let architecture: HypernetworkArchitecture

    /// The limits of Theorem 5 for one pair of input batches (each matrix m × m′, per output).
    public struct Components: Sendable {
        /// `Σ_f(x_{c(i)}, x′_{c′(j)})`: the covariance of each entry of `v = f(x)` (the NNGP of `f`).
        public let metaCovariance: Matrix<Double>
        /// `Θ_f(x_{c(i)}, x′_{c′(j)})`: the NTK of `f`.
        public let metaKernel: Matrix<Double>
        /// `Θ_g(u_i, u′_j)`: the limit of `(∂h/∂v)(∂h/∂v)ᵀ` (A.6, Lemma 8).
        public let primaryKernel: Matrix<Double>
        /// `Θ_h = Θ_f ∘ Θ_g` (eq. 21).
        public let hyperkernel: Matrix<Double>
    }

    public init(_ architecture: HypernetworkArchitecture) { self.architecture = architecture }

    /// `Θ_h(u_i, u′_j)` (m × m′; `b = nil`: `a` with itself).
    public func kernel(_ a: HypernetworkInputs<Double>, _ b: HypernetworkInputs<Double>? = nil) -> Matrix<Double> {
        components(a, b).hyperkernel
    }

    /// `Σ_f`, `Θ_f`, `Θ_g` and `Θ_h` between the samples of `a` (rows) and `b` (columns; `nil`: `a`).
    public func components(_ a: HypernetworkInputs<Double>, _ b: HypernetworkInputs<Double>? = nil) -> Components {
        let other = b ?? a
        precondition(a.metaInputs.columns == architecture.metaInputDimension && other.metaInputs.columns == architecture.metaInputDimension,
                     "x must have \(architecture.metaInputDimension) features")
        precondition(a.primaryInputs.columns == architecture.primaryInputDimension && other.primaryInputs.columns == architecture.primaryInputDimension,
                     "z must have \(architecture.primaryInputDimension) features")
        // f's NNGP and NTK over the distinct x of both batches at once (diagonals Σ_f(x, x) are needed too).
        let pA = a.metaInputCount
        let stacked = Matrix(rows: pA + other.metaInputCount, columns: a.metaInputs.columns,
                             elements: a.metaInputs.elements + other.metaInputs.elements)
        let metaKernels = (try! InfiniteWidthKernel(architecture.metaArchitecture)).kernels(Hypernetwork<Double>.metaNetworkInput(stacked))
        let relu = InfiniteWidthKernel(hiddenLayers: 0, activation: .relu, biasScale: 0)
        let m0 = Double(architecture.primaryInputDimension), H = architecture.primaryDepth
        let cross = Matrix.product(a.primaryInputs, other.primaryInputs, transposeB: true, alpha: 1 / m0)
        let normsA = (0..<a.sampleCount).map { dot(a.primaryInputs.row($0), a.primaryInputs.row($0)) / m0 }
        let normsB = (0..<other.sampleCount).map { dot(other.primaryInputs.row($0), other.primaryInputs.row($0)) / m0 }
        // S^l(u, u) per sample: the diagonal chain, computed once per sample rather than once per pair.
        func diagonalChain(_ s0: Double, metaVariance sf: Double) -> [Double] {
            var chain = [s0]
            for _ in 1..<max(H, 1) { let l = sf * chain.last!; chain.append(2 * relu.expectations(l, l, l).value) }
            return chain
        }
        let chainA = (0..<a.sampleCount).map { diagonalChain(normsA[$0], metaVariance: metaKernels.nngp[a.metaIndex[$0], a.metaIndex[$0]]) }
        let chainB = (0..<other.sampleCount).map {
            diagonalChain(normsB[$0], metaVariance: metaKernels.nngp[pA + other.metaIndex[$0], pA + other.metaIndex[$0]])
        }
        var sigmaF = Matrix<Double>(rows: a.sampleCount, columns: other.sampleCount)
        var thetaF = sigmaF, thetaG = sigmaF, thetaH = sigmaF
        for i in 0..<a.sampleCount {
            let ci = a.metaIndex[i]
            for j in 0..<other.sampleCount {
                let cj = pA + other.metaIndex[j]
                let sf12 = metaKernels.nngp[ci, cj], sf11 = metaKernels.nngp[ci, ci], sf22 = metaKernels.nngp[cj, cj]
                var s12 = cross[i, j]
                var theta = s12                                   // Θ^1 = S^0
                for l in 1..<max(H, 1) {
                    // Layer l's pre-activations: Λ^l = Σ_f · S^{l−1}; then S^l, and Θ^{l+1} = Θ^l Σ_f Ṡ^l + S^l.
                    let e = relu.expectations(sf11 * chainA[i][l - 1], sf12 * s12, sf22 * chainB[j][l - 1])
                    s12 = 2 * e.value
                    theta = theta * sf12 * 2 * e.derivative + s12
                }
                sigmaF[i, j] = sf12
                thetaF[i, j] = metaKernels.ntk[ci, cj]
                thetaG[i, j] = theta
                thetaH[i, j] = thetaF[i, j] * theta
            }
        }
        return Components(metaCovariance: sigmaF, metaKernel: thetaF, primaryKernel: thetaG, hyperkernel: thetaH)
    }
}
