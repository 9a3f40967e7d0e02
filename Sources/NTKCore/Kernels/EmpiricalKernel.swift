/// Which empirical NTK Gram to form from a Jacobian.
public enum KernelKind: String, CaseIterable, Codable, Sendable {
    /// The exact `mk × mk` Gram `H = ZᵀZ` (the default everywhere).
    case exact
    /// The output-averaged `m × m` Gram `H̄ = (1/k) Σ_a Z_aᵀ Z_a`: a cheaper APPROXIMATION, exact only
    /// in the infinite-width limit (where `H = H̄ ⊗ I_k`). neural-tangents' `trace_axes=(-1,)`.
    case outputAveraged = "averaged"
}

extension FactoredJacobian {
    /// The empirical NTK Gram of these samples from the factors, never forming `Z`:
    /// `H = Σ_ℓ (s_w² X^{ℓ−1} X^{ℓ−1ᵀ} + s_b²) ⊗ 1_{k×k} ∘ (Δ^ℓ Δ^ℓᵀ)` — two SYRKs per layer.
    public func gram(_ kind: KernelKind = .exact) -> Matrix<Scalar> {
        EmpiricalKernel.gram(self, nil, kind: kind)
    }

    /// The cross kernel `Θ̂(self, other)` (rows: these samples, columns: `other`'s).
    public func crossGram(with other: FactoredJacobian, _ kind: KernelKind = .exact) -> Matrix<Scalar> {
        precondition(other.architecture == architecture, "cross kernel needs the same network")
        return EmpiricalKernel.gram(self, other, kind: kind)
    }
}

/// The per-layer "forward × backward" assembly of empirical NTK Grams (Tensor Programs II, eq. 2–9).
enum EmpiricalKernel {
    static func gram<S: BLASScalar>(_ a: FactoredJacobian<S>, _ b: FactoredJacobian<S>?, kind: KernelKind) -> Matrix<S> {
        let arch = a.architecture
        let k = a.outputCount
        let rowsPerSample = kind == .exact ? k : 1
        var result: Matrix<S>? = nil   // the first layer's backward product, turned into its term in place
        for l in 1...arch.layerCount {
            let sw = arch.weightMultiplier(layer: l), sb = arch.biasMultiplier(layer: l)
            // Forward part: s_w² X Xᵀ + s_b² (mA × mB).
            let xA = a.layerInputs[l - 1]
            var forward = b.map { Matrix.product(xA, $0.layerInputs[l - 1], transposeB: true, alpha: S(sw * sw)) }
                ?? xA.rowGram(alpha: S(sw * sw), upperOnly: true)
            let constant = S.filled(S(sb * sb), count: forward.columns)
            let (fr, fc) = (forward.rows, forward.columns)
            forward.withUnsafeMutableBufferPointer { p in
                constant.withUnsafeBufferPointer { c in S.addRowVector(p.baseAddress!, rows: fr, columns: fc, c.baseAddress!, scale: 1) }
            }
            let scale = kind == .exact ? 1 : 1 / S(k)
            // The output layer's Δ is `1 ⊗ I_k` (∂f_a/∂h^L = e_a): its backward product is known, so its term
            // goes straight onto the block diagonals (exact) or the whole m × m (averaged: Σ_a 1 / k = 1) —
            // no product and no pass over the full result. Checked, since a block may come from elsewhere.
            if l == arch.layerCount, result != nil, isOutputIdentity(a.deltas[l - 1], k: k),
               b.map({ isOutputIdentity($0.deltas[l - 1], k: k) }) ?? true {
                var sum = result!
                result = nil   // `sum` is now the only reference: written in place, not copied
                let (r, c) = (forward.rows, forward.columns)
                sum.withUnsafeMutableBufferPointer { pr in
                    forward.withUnsafeBufferPointer { pf in
                        S.addToBlockDiagonals(pr.baseAddress!, pf.baseAddress!, rowSamples: r, columnSamples: c,
                                              perSample: rowsPerSample, scale: 1, upperOnly: b == nil)
                    }
                }
                result = sum
                continue
            }
            // Backward part: Δ Δᵀ (exact, mk × mk) or Σ_a δ_a δ_aᵀ / k (averaged, m × m), by viewing Δ as m × (k n).
            let dA = reshapedDelta(a.deltas[l - 1], kind: kind, k: k)
            let backward = b.map { Matrix.product(dA, reshapedDelta($0.deltas[l - 1], kind: kind, k: k), transposeB: true) }
                ?? dA.rowGram(upperOnly: true)
            if result == nil {
                var first = backward
                let (r, c) = (forward.rows, forward.columns)
                first.withUnsafeMutableBufferPointer { pr in
                    forward.withUnsafeBufferPointer { pf in
                        S.multiplyBlockHadamard(pr.baseAddress!, pf.baseAddress!, rowSamples: r, columnSamples: c,
                                                perSample: rowsPerSample, scale: scale, upperOnly: b == nil)
                    }
                }
                result = first
            } else {
                accumulateHadamard(into: &result!, backward: backward, forward: forward,
                                   rowsPerSample: rowsPerSample, scale: scale, upperOnly: b == nil)
            }
        }
        // The symmetric Gram was accumulated on and above the diagonal only: one mirror at the end.
        if b == nil { result!.mirrorUpperTriangle() }
        return result!
    }

    /// Whether Δ (mk × k) is the output layer's `1 ⊗ I_k`: row `i·k + a` is `e_a`.
    private static func isOutputIdentity<S: BLASScalar>(_ delta: Matrix<S>, k: Int) -> Bool {
        guard delta.columns == k, delta.rows % k == 0 else { return false }
        return delta.withUnsafeBufferPointer { p in
            for row in 0..<delta.rows {
                for c in 0..<k where p[row * k + c] != (c == row % k ? 1 : 0) { return false }
            }
            return true
        }
    }

    /// Δ (mk × n) as is, or viewed as m × (k·n) for the averaged kernel (same storage, no copy of data order).
    private static func reshapedDelta<S: BLASScalar>(_ delta: Matrix<S>, kind: KernelKind, k: Int) -> Matrix<S> {
        kind == .exact ? delta : Matrix(rows: delta.rows / k, columns: delta.columns * k, elements: delta.elements)
    }

    /// `result[(i,a),(j,b)] += scale · backward[(i,a),(j,b)] · forward[i,j]`.
    private static func accumulateHadamard<S: BLASScalar>(into result: inout Matrix<S>, backward: Matrix<S>, forward: Matrix<S>,
                                                          rowsPerSample r: Int, scale: S, upperOnly: Bool) {
        let (mA, mB) = (forward.rows, forward.columns)
        result.withUnsafeMutableBufferPointer { pr in
            backward.withUnsafeBufferPointer { pb in
                forward.withUnsafeBufferPointer { pf in
                    S.accumulateBlockHadamard(pr.baseAddress!, pb.baseAddress!, pf.baseAddress!,
                                              rowSamples: mA, columnSamples: mB, perSample: r, scale: scale, upperOnly: upperOnly)
                }
            }
        }
    }
}
