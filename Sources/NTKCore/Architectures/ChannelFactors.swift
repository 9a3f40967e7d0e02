/// The signals of a convolution whose output reaches the network's output only through channel-wise layers
/// (activations, average pooling), global average pooling and the output dense layer `f = s_L W_L g + s_b b_L`:
/// then `D_{i,a}[pos, o] = V[a, o] E_i[pos, o]` with `V = s_L W_L` (k × C) and `E_i` the backward signal of the
/// all-ones vector at the dense layer's input — one signal per sample instead of k.
///
/// So the layer's Jacobian column is `J_{i,a}[o, ·] = V[a, o] M_i[o, ·]` with `M_i` the columns of the single
/// signal `E_i`, and its Gram term is `Σ_o V[a, o] V[b, o] G_o[i, j]`, `G_o = M[·, o] M[·, o]ᵀ` per channel:
/// cost m² C (patchLength + 1) + m² k² C instead of (mk)² C (patchLength + 1) for explicit columns (exact),
/// and one SYRK over m rows instead of over mk (averaged). This is the common "conv … gap dense" head.
struct ChannelFactors<Scalar: BLASScalar>: Sendable {
    /// `E`: m × (S · C), row i is `E_i`.
    let signal: Matrix<Scalar>
    /// `V = s_L W_L`: k × C.
    let outputWeights: Matrix<Scalar>

    /// The factors of the one convolution (if any) that the network's tail allows, keyed by its position in
    /// θ order (0-based).
    static func find(_ layers: [NetworkLayer], _ traces: [LayerTrace<Scalar>], samples m: Int,
                     theta: UnsafePointer<Scalar>) -> [Int: ChannelFactors] {
        guard let last = layers.indices.last, case .affine(let output) = layers[last], output.isDense else { return [:] }
        var i = last - 1
        var pooled = false
        while i >= 0 {
            switch layers[i] {
            case .activation:
                break
            case .flatten where !pooled:
                break                                   // of global pooling's flat output: no reordering
            case .globalAveragePool where !pooled:
                pooled = true
            case .averagePool where pooled:
                break
            case .affine(let conv) where pooled:
                guard conv.outputChannels == output.geometry.patchLength else { return [:] }
                let tail = Array(layers[(i + 1)..<last]), tailTraces = Array(traces[(i + 1)..<last])
                let ones = Matrix<Scalar>(rows: m, columns: conv.outputChannels, repeating: 1)
                var unused: [Matrix<Scalar>] = []
                guard let e = NetworkPasses.backward(tail, tailTraces, ones, samples: m, outputs: 1, upstream: true,
                                                     theta: theta, deltas: &unused) else { return [:] }
                let k = output.outputChannels, c = conv.outputChannels
                let w = UnsafeBufferPointer(start: theta + output.weightOffset, count: k * c)
                let s = Scalar(output.weightMultiplier)
                let v = Matrix<Scalar>(rows: k, columns: c, elements: w.map { s * $0 })
                return [conv.index - 1: ChannelFactors(signal: e, outputWeights: v)]
            default:
                return [:]
            }
            i -= 1
        }
        return [:]
    }
}

extension NetworkGram {
    /// The Gram term of a channel-factored layer (see `ChannelFactors`).
    static func channelTerm<S: BLASScalar>(_ a: NetworkJacobian<S>, _ b: NetworkJacobian<S>, layer l: Int, kind: KernelKind,
                                           symmetric: Bool, into result: inout Matrix<S>) {
        let fa = a.channelFactors[l]!, fb = b.channelFactors[l]!
        let layer = a.layers[l]
        let (c, length, p) = (layer.outputChannels, layer.geometry.patchLength, layer.parameterCount)
        let k = a.outputCount, (mA, mB) = (a.sampleCount, b.sampleCount)
        let ldr = result.columns
        // M (m × P_ℓ, θ's layout: C × patchLength weights, then C biases): the columns of the single signal E.
        func moments(_ j: NetworkJacobian<S>, _ f: ChannelFactors<S>) -> [S] {
            var out = [S](unsafeUninitializedCapacity: j.sampleCount * p) { _, n in n = j.sampleCount * p }
            out.withUnsafeMutableBufferPointer { po in
                j.writeColumns(layer: l, signals: f.signal, outputs: 1, samples: 0..<j.sampleCount, into: po.baseAddress!, leadingDimension: p)
            }
            return out
        }
        var ma = moments(a, fa)
        let mb = symmetric ? ma : moments(b, fb)
        let va = fa.outputWeights, vb = fb.outputWeights

        if kind == .outputAveraged {
            // H̄ term = Σ_o c_o G_o with c_o = (1/k) Σ_a V_A[a, o] V_B[a, o]: scale channel o of M_A, one product.
            var weight = [Double](repeating: 0, count: c)
            for o in 0..<c { for r in 0..<k { weight[o] += Double(va[r, o]) * Double(vb[r, o]) / Double(k) } }
            let factor = weight.map { S(symmetric ? $0.squareRoot() : $0) }   // symmetric: c_o ≥ 0, split as √c_o · √c_o
            ma.withUnsafeMutableBufferPointer { pm in
                NetworkKernels.scaleChannels(pm.baseAddress!, samples: mA, channels: c, length: length, by: factor)
            }
            result.withUnsafeMutableBufferPointer { pr in
                ma.withUnsafeBufferPointer { pa in
                    if symmetric {
                        S.syrk(trans: false, n: mA, k: p, alpha: 1, a: pa.baseAddress!, lda: p, beta: 1, c: pr.baseAddress!, ldc: ldr)
                    } else {
                        mb.withUnsafeBufferPointer { pb in
                            S.gemm(transA: false, transB: true, m: mA, n: mB, k: p, alpha: 1, a: pa.baseAddress!, lda: p,
                                   b: pb.baseAddress!, ldb: p, beta: 1, c: pr.baseAddress!, ldc: ldr)
                        }
                    }
                }
            }
            return
        }

        // Exact: B_a[o, b] = V_A[a, o] V_B[b, o], so row (i, a) of the term, read as mB × k, is G_i (mB × C) · B_a.
        var outer = [S](repeating: 0, count: k * c * k)
        for r in 0..<k { for o in 0..<c { for q in 0..<k { outer[(r * c + o) * k + q] = va[r, o] * vb[q, o] } } }
        let tile = max(1, (1 << 23) / max(1, mB * c))
        var g = [S](repeating: 0, count: min(tile, mA) * mB * c)
        var gt = g
        result.withUnsafeMutableBufferPointer { pr in
            ma.withUnsafeBufferPointer { pa in
                mb.withUnsafeBufferPointer { pb in
                    outer.withUnsafeBufferPointer { pouter in
                        g.withUnsafeMutableBufferPointer { pg in
                            gt.withUnsafeMutableBufferPointer { pgt in
                                for i0 in stride(from: 0, to: mA, by: tile) {
                                    let rows = min(tile, mA - i0)
                                    let col0 = symmetric ? i0 : 0, w = mB - col0
                                    // G_o for this tile's rows, one C × (rows·w) block per channel, then (rows·w) × C.
                                    for o in 0..<c {
                                        let go = pg.baseAddress! + o * rows * w
                                        S.gemm(transA: false, transB: true, m: rows, n: w, k: length, alpha: 1,
                                               a: pa.baseAddress! + i0 * p + o * length, lda: p,
                                               b: pb.baseAddress! + col0 * p + o * length, ldb: p, beta: 0, c: go, ldc: w)
                                        S.gemm(transA: false, transB: true, m: rows, n: w, k: 1, alpha: 1,
                                               a: pa.baseAddress! + i0 * p + c * length + o, lda: p,
                                               b: pb.baseAddress! + col0 * p + c * length + o, ldb: p, beta: 1, c: go, ldc: w)
                                    }
                                    S.copyMatrix(transpose: true, rows: c, columns: rows * w, a: pg.baseAddress!, lda: rows * w,
                                                 b: pgt.baseAddress!, ldb: c)
                                    for i in i0..<(i0 + rows) {
                                        let j0 = symmetric ? i : 0
                                        let gi = pgt.baseAddress! + ((i - i0) * w + (j0 - col0)) * c
                                        for r in 0..<k {
                                            S.gemm(transA: false, transB: false, m: mB - j0, n: k, k: c, alpha: 1, a: gi, lda: c,
                                                   b: pouter.baseAddress! + r * c * k, ldb: k, beta: 1,
                                                   c: pr.baseAddress! + (i * k + r) * ldr + j0 * k, ldc: k)
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

extension NetworkKernels {
    /// Multiplies channel o of each sample's layer columns (weights `o·length ..< (o+1)·length`, bias `C·length + o`)
    /// by `factor[o]`.
    @_specialize(where S == Float)
    @_specialize(where S == Double)
    static func scaleChannels<S: BinaryFloatingPoint>(_ m: UnsafeMutablePointer<S>, samples: Int, channels c: Int, length: Int, by factor: [S]) {
        let p = c * (length + 1)
        for i in 0..<samples {
            let row = m + i * p
            for o in 0..<c {
                let f = factor[o], w = row + o * length
                for q in 0..<length { w[q] *= f }
                row[c * length + o] *= f
            }
        }
    }
}
