/// The primary network `g(z; v)` run on a batch with weights `v = f(x)` per sample group, forward and backward.
///
/// Eq. 7 of papers/wide-hypernetworks.txt §2: `g^l = V^l a^{l−1}/√m_{l−1}`, `a^l = √2 ReLU(g^l)`,
/// `a^0 = z`, output `g^H`. Backward (Lemma 8, eq. 92–93): `δ^H_a = e_a` and
/// `δ^l = √(2/m_l) (V^{l+1ᵀ} δ^{l+1}) ∘ ReLU′(g^l)`. The cotangent that `f` receives is
/// `∂h_a/∂V^l = δ^l_a ⊗ a^{l−1}/√m_{l−1}`, laid out like `v` (row-major `V^1`, then `V^2`, …).
/// Every matrix product is a GEMM over a group of samples that share one `x` (hence one set of weights).
struct PrimaryNetworkPass<Scalar: BLASScalar> {
    /// `a^{l−1}` for l = 1…H (m × m_{l−1}, sample order; `activations[0]` is `z`).
    let activations: [Matrix<Scalar>]
    /// `ReLU′(g^l)` for l = 1…H−1 (m × m_l, entries 0 or 1).
    let derivatives: [Matrix<Scalar>]
    /// `h = g^H`, m × k.
    let outputs: Matrix<Scalar>

    /// The forward pass; `weights` holds `v = f(x)` for each distinct `x` (p × n_L).
    init(architecture arch: HypernetworkArchitecture, weights: Matrix<Scalar>, inputs: HypernetworkInputs<Scalar>,
         keepDerivatives: Bool) {
        let widths = arch.primaryWidths, H = arch.primaryDepth, m = inputs.sampleCount
        var activations = [inputs.primaryInputs]
        var derivatives: [Matrix<Scalar>] = []
        var layerOutputs = (1...H).map { Matrix<Scalar>(rows: m, columns: widths[$0]) }
        let root2 = Scalar(2.0.squareRoot())
        var derivs = (1..<max(H, 1)).map { Matrix<Scalar>(rows: keepDerivatives ? m : 0, columns: widths[$0]) }
        for (c, samples) in inputs.groups.enumerated() where !samples.isEmpty {
            var a = inputs.primaryInputs.gatheringRows(samples)
            for l in 1...H {
                let g = Self.layer(a, weights: weights, metaRow: c, layer: l, architecture: arch)
                if l == H { layerOutputs[l - 1].scatterRows(g, to: samples); break }
                var value = Matrix<Scalar>(rows: g.rows, columns: g.columns)
                var deriv = Matrix<Scalar>(rows: g.rows, columns: g.columns)
                g.withUnsafeBufferPointer { pg in
                    value.withUnsafeMutableBufferPointer { pv in
                        deriv.withUnsafeMutableBufferPointer { pd in Scalar.activate(.relu, pg, values: pv, derivatives: pd) }
                    }
                }
                let count = value.count
                if count > 0 { value.withUnsafeMutableBufferPointer { Scalar.scal(n: count, alpha: root2, x: $0.baseAddress!) } }
                layerOutputs[l - 1].scatterRows(value, to: samples)
                if keepDerivatives { derivs[l - 1].scatterRows(deriv, to: samples) }
                a = value
            }
        }
        if H >= 2 { for l in 1..<H { activations.append(layerOutputs[l - 1]) } }
        if keepDerivatives && H >= 2 { derivatives = derivs }
        self.activations = activations
        self.derivatives = derivatives
        self.outputs = layerOutputs[H - 1]
    }

    /// `g^l = a^{l−1} V^lᵀ/√m_{l−1}` for the samples of meta input `metaRow`: one GEMM reading `V^l` in place.
    private static func layer(_ a: Matrix<Scalar>, weights: Matrix<Scalar>, metaRow c: Int, layer l: Int,
                              architecture arch: HypernetworkArchitecture) -> Matrix<Scalar> {
        let nIn = arch.primaryWidths[l - 1], nOut = arch.primaryWidths[l]
        var g = Matrix<Scalar>(rows: a.rows, columns: nOut)
        guard a.rows > 0 else { return g }
        let offset = c * weights.columns + arch.primaryWeightOffset(layer: l)
        a.withUnsafeBufferPointer { pa in
            weights.withUnsafeBufferPointer { pw in
                g.withUnsafeMutableBufferPointer { pg in
                    Scalar.gemm(transA: false, transB: true, m: a.rows, n: nOut, k: nIn,
                                alpha: Scalar(1 / Double(nIn).squareRoot()), a: pa.baseAddress!, lda: nIn,
                                b: pw.baseAddress! + offset, ldb: nIn, beta: 0, c: pg.baseAddress!, ldc: nOut)
                }
            }
        }
        return g
    }

    /// `∂h_a(u_i)/∂v` for every sample and output: row `i·k + a` of an mk × n_L matrix, in `v`'s layout.
    ///
    /// Backpropagates `δ^l` group by group (one GEMM per layer and group) and writes each layer's outer
    /// product `δ^l ⊗ a^{l−1}/√m_{l−1}` into its slice of the row as a rank-1 GEMM.
    func primaryWeightGradients(architecture arch: HypernetworkArchitecture, weights: Matrix<Scalar>,
                                inputs: HypernetworkInputs<Scalar>) -> Matrix<Scalar> {
        let widths = arch.primaryWidths, H = arch.primaryDepth, k = arch.outputCount
        let m = inputs.sampleCount, nL = arch.primaryWeightCount
        var cotangent = Matrix<Scalar>(rows: m * k, columns: nL)
        for (c, samples) in inputs.groups.enumerated() where !samples.isEmpty {
            let s = samples.count
            // δ^H: row (i, a) is e_a.
            var delta = Matrix<Scalar>(rows: s * k, columns: k)
            for r in 0..<s { for o in 0..<k { delta[r * k + o, o] = 1 } }
            for l in stride(from: H, through: 1, by: -1) {
                let nIn = widths[l - 1], nOut = widths[l]
                let a = activations[l - 1].gatheringRows(samples)
                let offset = arch.primaryWeightOffset(layer: l)
                let alpha = Scalar(1 / Double(nIn).squareRoot())
                delta.withUnsafeBufferPointer { pd in
                    a.withUnsafeBufferPointer { pa in
                        cotangent.withUnsafeMutableBufferPointer { pc in
                            for (r, i) in samples.enumerated() {
                                for o in 0..<k {
                                    Scalar.gemm(transA: false, transB: false, m: nOut, n: nIn, k: 1, alpha: alpha,
                                                a: pd.baseAddress! + (r * k + o) * nOut, lda: 1,
                                                b: pa.baseAddress! + r * nIn, ldb: nIn, beta: 0,
                                                c: pc.baseAddress! + (i * k + o) * nL + offset, ldc: nIn)
                                }
                            }
                        }
                    }
                }
                guard l > 1 else { break }
                // δ^{l−1} = √(2/m_{l−1}) (δ^l V^l) ∘ ReLU′(g^{l−1}).
                var next = Matrix<Scalar>(rows: s * k, columns: nIn)
                let vOffset = c * weights.columns + offset
                delta.withUnsafeBufferPointer { pd in
                    weights.withUnsafeBufferPointer { pw in
                        next.withUnsafeMutableBufferPointer { pn in
                            Scalar.gemm(transA: false, transB: false, m: s * k, n: nIn, k: nOut,
                                        alpha: Scalar((2 / Double(nIn)).squareRoot()), a: pd.baseAddress!, lda: nOut,
                                        b: pw.baseAddress! + vOffset, ldb: nIn, beta: 0, c: pn.baseAddress!, ldc: nIn)
                        }
                    }
                }
                let mask = derivatives[l - 2].gatheringRows(samples)
                next.withUnsafeMutableBufferPointer { pn in
                    mask.withUnsafeBufferPointer { pm in
                        Scalar.scaleRepeatedRows(pn.baseAddress!, samples: s, outputs: k, width: nIn, by: pm.baseAddress!)
                    }
                }
                delta = next
            }
        }
        return cotangent
    }
}
