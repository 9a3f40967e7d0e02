/// How an affine layer's term of the empirical Gram is formed.
public enum LayerGramMethod: String, CaseIterable, Sendable {
    /// The cheaper of the two below by a flop estimate, per layer (a layer with one output position always
    /// uses its Kronecker structure, which is cheaper than both).
    case automatic
    /// The layer's Jacobian columns `s_w D_{i,a}ᵀ P_i` formed explicitly (tile by tile), then one SYRK/GEMM:
    /// cost ∝ (mk)² · P_ℓ. Cheap when the layer has few parameters (neural-tangents' structured derivatives
    /// do the same for convolutions).
    case explicitColumns
    /// `⟨s_w² P_i P_jᵀ + s_b² 1 1ᵀ, D_{i,a} D_{j,b}ᵀ⟩` over pairs of output positions (Tensor Programs II,
    /// eq. 2–9: forward × backward inner products): no per-parameter work, cost ∝ m² S² (patchLength + k C_out).
    /// Cheap when a layer has few output positions S and many channels.
    case structured
    /// For the convolution feeding global average pooling and the output dense layer through channel-wise
    /// layers only: one signal per sample and per-channel Grams (`ChannelFactors`); cost ∝ m² C (patchLength
    /// + 1 + k²). Other layers asked for it use explicit columns.
    case channelFactored
}

extension NetworkJacobian {
    /// The empirical NTK Gram `H = ZᵀZ` of these samples (exact, mk × mk, rows `i·k + a`) or its
    /// output average `H̄ = (1/k) Σ_a Z_aᵀ Z_a` (m × m), never forming `Z`: a sum of per-layer terms.
    @_specialize(where Scalar == Float)
    @_specialize(where Scalar == Double)
    public func gram(_ kind: KernelKind = .exact, method: LayerGramMethod = .automatic) -> Matrix<Scalar> {
        NetworkGram.gram(self, nil, kind: kind, method: method)
    }

    /// The cross kernel `Θ̂(self, other)` (rows: these samples, columns: `other`'s); same network.
    @_specialize(where Scalar == Float)
    @_specialize(where Scalar == Double)
    public func crossGram(with other: NetworkJacobian, _ kind: KernelKind = .exact, method: LayerGramMethod = .automatic) -> Matrix<Scalar> {
        precondition(other.layers == layers, "cross kernel needs the same network")
        return NetworkGram.gram(self, other, kind: kind, method: method)
    }

    /// The method `gram(kind, method: .automatic)` picks for each affine layer (`.structured` for the
    /// Kronecker case of one output position).
    public func gramMethods(_ kind: KernelKind = .exact) -> [LayerGramMethod] {
        layers.indices.map { NetworkGram.choose(self, self, layer: $0, kind: kind, symmetric: true, requested: .automatic) }
    }
}

/// The per-layer assembly of empirical Grams for `Network`s.
enum NetworkGram {
    /// Jacobian tiles (explicit columns) are bounded by this many values, or by the result's size if larger.
    static let tileElements = 1 << 26

    static func gram<S: BLASScalar>(_ a: NetworkJacobian<S>, _ b: NetworkJacobian<S>?, kind: KernelKind, method: LayerGramMethod) -> Matrix<S> {
        let k = a.outputCount
        let r = kind == .exact ? k : 1
        let rhs = b ?? a
        let symmetric = b == nil
        var result = Matrix<S>(rows: a.sampleCount * r, columns: rhs.sampleCount * r)
        for l in a.layers.indices {
            switch choose(a, rhs, layer: l, kind: kind, symmetric: symmetric, requested: method) {
            case .explicitColumns:
                explicitTerm(a, rhs, layer: l, kind: kind, symmetric: symmetric, into: &result)
            case .channelFactored:
                channelTerm(a, rhs, layer: l, kind: kind, symmetric: symmetric, into: &result)
            default:
                if a.layers[l].geometry.positions == 1 {
                    kroneckerTerm(a, rhs, layer: l, kind: kind, symmetric: symmetric, into: &result)
                } else {
                    structuredTerm(a, rhs, layer: l, kind: kind, symmetric: symmetric, into: &result)
                }
            }
        }
        if symmetric { result.mirrorUpperTriangle() }
        return result
    }

    /// A flop estimate per layer: explicit columns cost (pairs of columns) × P_ℓ plus forming them; the
    /// structured form m² S² (patchLength + k C_out) plus the signal dots. The structured form runs as many
    /// small GEMMs, so it is charged double.
    static func choose<S: BLASScalar>(_ a: NetworkJacobian<S>, _ b: NetworkJacobian<S>, layer l: Int, kind: KernelKind,
                                      symmetric: Bool, requested: LayerGramMethod) -> LayerGramMethod {
        let layer = a.layers[l], g = layer.geometry
        if g.positions == 1 { return .structured }
        let factored = a.channelFactors[l] != nil && b.channelFactors[l] != nil
        if requested == .channelFactored { return factored ? .channelFactored : .explicitColumns }
        if requested != .automatic { return requested }
        let k = Double(a.outputCount), pairs = Double(a.sampleCount) * Double(b.sampleCount) * (symmetric ? 0.5 : 1)
        let outputPairs = kind == .exact ? k * k : k
        let (s, c, n) = (Double(g.positions), Double(layer.outputChannels), Double(g.patchLength))
        let explicit = pairs * outputPairs * Double(layer.parameterCount)
            + Double(a.sampleCount + (symmetric ? 0 : b.sampleCount)) * k * s * c * n
        let structured = 2 * pairs * (s * s * n + k * s * s * c + outputPairs * s * c)
        let channel = factored ? pairs * c * (n + 1 + (kind == .exact ? k * k : 0)) + Double(a.sampleCount) * s * c * n : .infinity
        if channel <= min(explicit, structured) { return .channelFactored }
        return structured < explicit ? .structured : .explicitColumns
    }

    // MARK: One output position: the MLP's Kronecker form

    /// `(s_w² P Pᵀ + s_b²) ⊗ 1_{k×k} ∘ Δ Δᵀ`: two products per layer (DESIGN.md §2).
    static func kroneckerTerm<S: BLASScalar>(_ a: NetworkJacobian<S>, _ b: NetworkJacobian<S>, layer l: Int, kind: KernelKind,
                                             symmetric: Bool, into result: inout Matrix<S>) {
        let layer = a.layers[l]
        let k = a.outputCount, r = kind == .exact ? k : 1
        let sw = layer.weightMultiplier, sb = layer.biasMultiplier
        let pa = patchMatrix(a, layer: l)
        var forward = symmetric ? pa.rowGram(alpha: S(sw * sw), upperOnly: true)
                                : Matrix.product(pa, patchMatrix(b, layer: l), transposeB: true, alpha: S(sw * sw))
        let constant = S.filled(S(sb * sb), count: forward.columns)
        let (fr, fc) = (forward.rows, forward.columns)
        forward.withUnsafeMutableBufferPointer { p in
            constant.withUnsafeBufferPointer { c in S.addRowVector(p.baseAddress!, rows: fr, columns: fc, c.baseAddress!, scale: 1) }
        }
        // The output layer's Δ is 1 ⊗ I_k: its backward product is known, the term goes onto the block diagonals.
        if isOutputIdentity(a.deltas[l], k: k), isOutputIdentity(b.deltas[l], k: k) {
            result.withUnsafeMutableBufferPointer { pr in
                forward.withUnsafeBufferPointer { pf in
                    S.addToBlockDiagonals(pr.baseAddress!, pf.baseAddress!, rowSamples: fr, columnSamples: fc, perSample: r,
                                          scale: 1, upperOnly: symmetric)
                }
            }
            return
        }
        let da = outputView(a.deltas[l], kind: kind, k: k)
        let backward = symmetric ? da.rowGram(alpha: kind == .exact ? 1 : 1 / S(k), upperOnly: true)
            : Matrix.product(da, outputView(b.deltas[l], kind: kind, k: k), transposeB: true, alpha: kind == .exact ? 1 : 1 / S(k))
        result.withUnsafeMutableBufferPointer { pr in
            backward.withUnsafeBufferPointer { pb in
                forward.withUnsafeBufferPointer { pf in
                    S.accumulateBlockHadamard(pr.baseAddress!, pb.baseAddress!, pf.baseAddress!, rowSamples: fr, columnSamples: fc,
                                              perSample: r, scale: 1, upperOnly: symmetric)
                }
            }
        }
    }

    /// The layer's patches of every sample as an m·S × patchLength matrix (the input itself when pointwise).
    static func patchMatrix<S: BLASScalar>(_ j: NetworkJacobian<S>, layer l: Int, samples: Range<Int>? = nil) -> Matrix<S> {
        let g = j.layers[l].geometry, x = j.layerInputs[l]
        let range = samples ?? 0..<j.sampleCount
        if g.isPointwise {
            if range == 0..<j.sampleCount { return Matrix(rows: x.rows * g.positions, columns: g.patchLength, elements: x.elements) }
            return Matrix(rows: range.count * g.positions, columns: g.patchLength,
                          elements: Array(x.elements[(range.lowerBound * g.inputCount)..<(range.upperBound * g.inputCount)]))
        }
        var p = Matrix<S>(uninitializedRows: range.count * g.positions, columns: g.patchLength)
        x.withUnsafeBufferPointer { px in
            p.withUnsafeMutableBufferPointer { pp in
                g.gatherPatches(px.baseAddress! + range.lowerBound * g.inputCount, samples: range.count, into: pp.baseAddress!)
            }
        }
        return p
    }

    /// Δ (mk × n) as is, or viewed as m × (k·n) for the averaged kernel (same storage).
    static func outputView<S: BLASScalar>(_ delta: Matrix<S>, kind: KernelKind, k: Int) -> Matrix<S> {
        kind == .exact ? delta : Matrix(rows: delta.rows / k, columns: delta.columns * k, elements: delta.elements)
    }

    /// Whether Δ (mk × k) is `1 ⊗ I_k`: row `i·k + a` is `e_a`.
    static func isOutputIdentity<S: BLASScalar>(_ delta: Matrix<S>, k: Int) -> Bool {
        guard delta.columns == k, delta.rows % k == 0 else { return false }
        return delta.withUnsafeBufferPointer { p in
            for row in 0..<delta.rows {
                for c in 0..<k where p[row * k + c] != (c == row % k ? 1 : 0) { return false }
            }
            return true
        }
    }

    // MARK: Explicit layer columns

    /// `J_A J_Bᵀ` with `J` the layer's columns (mk × P_ℓ), formed tile by tile over samples; SYRK on
    /// diagonal tiles of a symmetric Gram, lower tiles skipped (mirrored at the end).
    static func explicitTerm<S: BLASScalar>(_ a: NetworkJacobian<S>, _ b: NetworkJacobian<S>, layer l: Int, kind: KernelKind,
                                            symmetric: Bool, into result: inout Matrix<S>) {
        let k = a.outputCount, p = a.layers[l].parameterCount
        let r = kind == .exact ? k : 1
        let alpha: S = kind == .exact ? 1 : 1 / S(k)
        let ldr = result.columns
        let budget = max(tileElements, result.count)
        let tile = max(1, budget / (2 * k * p))   // two tiles (A and B) live at once
        let tileA = symmetric ? max(1, budget / (k * p)) : tile
        // Columns of tile `range`, rows (i,a) → as (samples × k·P_ℓ) for the averaged kernel.
        func columns(_ j: NetworkJacobian<S>, _ range: Range<Int>) -> [S] {
            var out = [S](unsafeUninitializedCapacity: range.count * k * p) { _, n in n = range.count * k * p }
            out.withUnsafeMutableBufferPointer { po in j.writeColumns(layer: l, samples: range, into: po.baseAddress!, leadingDimension: p) }
            return out
        }
        let width = kind == .exact ? p : k * p   // values per Gram row of J
        result.withUnsafeMutableBufferPointer { pr in
            for startA in stride(from: 0, to: a.sampleCount, by: tileA) {
                let rangeA = startA..<min(startA + tileA, a.sampleCount)
                let ja = columns(a, rangeA)
                let rowsA = rangeA.count * r
                ja.withUnsafeBufferPointer { pa in
                    if symmetric {
                        // Diagonal tile: SYRK; tiles right of it: GEMM with freshly formed columns.
                        S.syrk(trans: false, n: rowsA, k: width, alpha: alpha, a: pa.baseAddress!, lda: width, beta: 1,
                               c: pr.baseAddress! + startA * r * ldr + startA * r, ldc: ldr)
                    }
                    let firstB = symmetric ? rangeA.upperBound : 0
                    let stepB = symmetric ? tileA : tile
                    for startB in stride(from: firstB, to: b.sampleCount, by: stepB) {
                        let rangeB = startB..<min(startB + stepB, b.sampleCount)
                        let jb = columns(b, rangeB)
                        jb.withUnsafeBufferPointer { pb in
                            S.gemm(transA: false, transB: true, m: rowsA, n: rangeB.count * r, k: width, alpha: alpha,
                                   a: pa.baseAddress!, lda: width, b: pb.baseAddress!, ldb: width, beta: 1,
                                   c: pr.baseAddress! + startA * r * ldr + startB * r, ldc: ldr)
                        }
                    }
                }
            }
        }
    }

    // MARK: Structured: patches × deltas over output positions

    /// `Σ_{pos,pos'} F[(i,pos),(j,pos')] (D_{i,a} D_{j,b}ᵀ)[pos,pos']` with `F = s_w² P_A P_Bᵀ + s_b²`: per tile
    /// pair one GEMM for F, then per (j, b) one GEMM `F[:, j] D_{j,b}` and the row dots with `D_{i,a}`.
    static func structuredTerm<S: BLASScalar>(_ a: NetworkJacobian<S>, _ b: NetworkJacobian<S>, layer l: Int, kind: KernelKind,
                                              symmetric: Bool, into result: inout Matrix<S>) {
        let layer = a.layers[l], g = layer.geometry
        let k = a.outputCount
        let (positions, c) = (g.positions, layer.outputChannels)
        let signal = positions * c          // values per (sample, output) row of Δ
        let sw = layer.weightMultiplier, sb = layer.biasMultiplier
        let tile = max(1, 2048 / positions)   // F is (tile·S)² values at most
        let ldr = result.columns
        var q = [S](repeating: 0, count: tile * signal)
        var dots = [S](repeating: 0, count: tile * k)
        result.withUnsafeMutableBufferPointer { pr in
            for startA in stride(from: 0, to: a.sampleCount, by: tile) {
                let rangeA = startA..<min(startA + tile, a.sampleCount)
                let patchesA = patchMatrix(a, layer: l, samples: rangeA)
                for startB in stride(from: symmetric ? startA : 0, to: b.sampleCount, by: tile) {
                    let rangeB = startB..<min(startB + tile, b.sampleCount)
                    var f = Matrix.product(patchesA, patchMatrix(b, layer: l, samples: rangeB), transposeB: true, alpha: S(sw * sw))
                    let constant = S.filled(S(sb * sb), count: f.columns)
                    let (fr, fc) = (f.rows, f.columns)
                    f.withUnsafeMutableBufferPointer { p in
                        constant.withUnsafeBufferPointer { cc in S.addRowVector(p.baseAddress!, rows: fr, columns: fc, cc.baseAddress!, scale: 1) }
                    }
                    f.withUnsafeBufferPointer { pf in
                        a.deltas[l].withUnsafeBufferPointer { pda in
                            b.deltas[l].withUnsafeBufferPointer { pdb in
                                q.withUnsafeMutableBufferPointer { pq in
                                    dots.withUnsafeMutableBufferPointer { pdots in
                                        for j in rangeB {
                                            for ob in 0..<k {
                                                // Q = F[:, j-block] · D_{j,b}: (|A|·S × S)(S × C_out), row i of Q per sample.
                                                S.gemm(transA: false, transB: false, m: rangeA.count * positions, n: c, k: positions, alpha: 1,
                                                       a: pf.baseAddress! + (j - startB) * positions, lda: fc,
                                                       b: pdb.baseAddress! + (j * k + ob) * signal, ldb: c, beta: 0,
                                                       c: pq.baseAddress!, ldc: c)
                                                pdots.baseAddress!.update(repeating: 0, count: rangeA.count * k)
                                                S.accumulateRowDots(pda.baseAddress! + startA * k * signal, pq.baseAddress!, samples: rangeA.count,
                                                                    outputs: k, width: signal, into: pdots.baseAddress!)
                                                for i in rangeA {
                                                    let d = pdots.baseAddress! + (i - startA) * k
                                                    if kind == .exact {
                                                        let row = pr.baseAddress! + (i * k) * ldr + j * k + ob
                                                        for oa in 0..<k { row[oa * ldr] += d[oa] }
                                                    } else {
                                                        pr[i * ldr + j] += d[ob] / S(k)
                                                    }
                                                }
                                            }
                                        }
                                    }
                                }
                            }
                        }
                    }
                }
            }
        }
    }
}
