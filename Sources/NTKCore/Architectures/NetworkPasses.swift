/// What a layer's forward pass leaves for the backward pass.
indirect enum LayerTrace<Scalar: BLASScalar>: Sendable {
    /// An affine layer's input `X` (m × inputCount): its patches and its Jacobian need it.
    case input(Matrix<Scalar>)
    /// An activation's `σ′(h)` (m × n).
    case derivative(Matrix<Scalar>)
    /// Pooling and flatten need nothing.
    case none
    case residual([LayerTrace<Scalar>])
}

/// The batched forward pass and the batched backward pass for all k outputs at once (the δ signals).
///
/// Every heavy step is a GEMM on contiguous buffers: a convolution is im2col then one GEMM per chunk of
/// samples (forward), and one GEMM then col2im per chunk of (sample, output) rows (backward). Chunks keep the
/// patch buffer near `chunkElements` values whatever the batch.
enum NetworkPasses {
    /// Patch-buffer size per chunk (values): large enough for efficient GEMMs, small enough that a chunk stays
    /// in L2 between the GEMM that writes it and the col2im that reads it back (1 MiB in Float32; 4 MiB chunks
    /// made the benchmark CNN's passes ~15% slower, 256 KiB ones no faster).
    static let chunkElements = 1 << 18

    static func chunk(perSample: Int) -> Int { max(1, chunkElements / max(perSample, 1)) }

    // MARK: Forward

    static func forward<S: BLASScalar>(_ layers: [NetworkLayer], _ input: Matrix<S>, theta: UnsafePointer<S>,
                                       keepTrace: Bool) -> (output: Matrix<S>, traces: [LayerTrace<S>]) {
        var x = input
        var traces: [LayerTrace<S>] = []
        let m = input.rows
        for layer in layers {
            switch layer {
            case .affine(let a):
                let h = affine(a, x, theta: theta)
                if keepTrace { traces.append(.input(x)) }
                x = h
            case .activation(let activation):
                let n = x.columns
                var value = Matrix<S>(uninitializedRows: m, columns: n)
                var derivative = Matrix<S>(uninitializedRows: keepTrace ? m : 0, columns: keepTrace ? n : 0)
                x.withUnsafeBufferPointer { ph in
                    value.withUnsafeMutableBufferPointer { pv in
                        if keepTrace {
                            derivative.withUnsafeMutableBufferPointer { pd in S.activate(activation, ph, values: pv, derivatives: pd) }
                        } else {
                            S.activate(activation, ph, values: pv, derivatives: nil)
                        }
                    }
                }
                if keepTrace { traces.append(.derivative(derivative)) }
                x = value
            case .averagePool(let g):
                var out = Matrix<S>(uninitializedRows: m, columns: g.positions * g.channels)
                x.withUnsafeBufferPointer { px in
                    out.withUnsafeMutableBufferPointer { po in WindowGeometry.averagePool(g, px.baseAddress!, samples: m, into: po.baseAddress!) }
                }
                if keepTrace { traces.append(.none) }
                x = out
            case let .globalAveragePool(positions, channels):
                var out = Matrix<S>(uninitializedRows: m, columns: channels)
                x.withUnsafeBufferPointer { px in
                    out.withUnsafeMutableBufferPointer { po in
                        WindowGeometry.globalAveragePool(px.baseAddress!, samples: m, positions: positions, channels: channels, into: po.baseAddress!)
                    }
                }
                if keepTrace { traces.append(.none) }
                x = out
            case .flatten:
                if keepTrace { traces.append(.none) }
            case let .residual(branch, scale):
                let (b, inner) = forward(branch, x, theta: theta, keepTrace: keepTrace)
                if keepTrace { traces.append(.residual(inner)) }
                x.add(b, scaledBy: S(scale))
            }
        }
        return (x, traces)
    }

    /// `H = s_w P Wᵀ + s_b 1 bᵀ` with `P` the patches of `x` (m·S × patchLength): m × (S·C_out).
    static func affine<S: BLASScalar>(_ a: AffineLayer, _ x: Matrix<S>, theta: UnsafePointer<S>) -> Matrix<S> {
        let g = a.geometry, m = x.rows
        let (positions, c, k) = (g.positions, a.outputChannels, g.patchLength)
        var out = Matrix<S>(uninitializedRows: m, columns: positions * c)
        let w = theta + a.weightOffset, sw = S(a.weightMultiplier)
        x.withUnsafeBufferPointer { px in
            out.withUnsafeMutableBufferPointer { po in
                let x = px.baseAddress!, o = po.baseAddress!
                if g.isPointwise {
                    S.gemm(transA: false, transB: true, m: m * positions, n: c, k: k, alpha: sw, a: x, lda: k, b: w, ldb: k,
                           beta: 0, c: o, ldc: c)
                } else {
                    let step = chunk(perSample: positions * k)
                    var patches = [S](unsafeUninitializedCapacity: min(step, m) * positions * k) { _, n in n = min(step, m) * positions * k }
                    patches.withUnsafeMutableBufferPointer { pp in
                        for start in stride(from: 0, to: m, by: step) {
                            let n = min(step, m - start)
                            g.gatherPatches(x + start * g.inputCount, samples: n, into: pp.baseAddress!)
                            S.gemm(transA: false, transB: true, m: n * positions, n: c, k: k, alpha: sw, a: pp.baseAddress!, lda: k,
                                   b: w, ldb: k, beta: 0, c: o + start * positions * c, ldc: c)
                        }
                    }
                }
                S.addRowVector(o, rows: m * positions, columns: c, theta + a.biasOffset, scale: S(a.biasMultiplier))
            }
        }
        return out
    }

    // MARK: Backward

    /// Propagates `delta` (rows `i·k + a`: `∂f_a(x_i)/∂(output of layers)`) back through `layers`,
    /// storing each affine layer's output signal `Δ^ℓ` in `deltas[ℓ − 1]`. Returns the signal at the input of
    /// `layers`, or nil when nothing upstream has parameters (`upstream` false and no affine layer before):
    /// the pass stops as soon as no parameter is left to reach.
    static func backward<S: BLASScalar>(_ layers: [NetworkLayer], _ traces: [LayerTrace<S>], _ delta: Matrix<S>,
                                        samples m: Int, outputs k: Int, upstream: Bool, theta: UnsafePointer<S>,
                                        deltas: inout [Matrix<S>]) -> Matrix<S>? {
        // affineBefore[i]: affine layers (nested ones included) in layers[0..<i].
        var affineBefore = [0]
        for layer in layers { affineBefore.append(affineBefore.last! + NetworkLayer.affineLayers([layer]).count) }
        var d = delta
        let rows = delta.rows
        for i in layers.indices.reversed() {
            let needInput = upstream || affineBefore[i] > 0
            switch (layers[i], traces[i]) {
            case (.affine(let a), .input):
                deltas[a.index - 1] = d
                guard needInput else { return nil }
                d = affineAdjoint(a, d, theta: theta)
            case (.activation, .derivative(let sigmaPrime)):
                guard needInput else { return nil }
                let n = d.columns
                d.withUnsafeMutableBufferPointer { pd in
                    sigmaPrime.withUnsafeBufferPointer { ps in
                        S.scaleRepeatedRows(pd.baseAddress!, samples: m, outputs: k, width: n, by: ps.baseAddress!)
                    }
                }
            case (.averagePool(let g), _):
                guard needInput else { return nil }
                var back = Matrix<S>(rows: rows, columns: g.inputCount)
                d.withUnsafeBufferPointer { pd in
                    back.withUnsafeMutableBufferPointer { pb in
                        WindowGeometry.averagePoolAdjoint(g, pd.baseAddress!, samples: rows, into: pb.baseAddress!)
                    }
                }
                d = back
            case let (.globalAveragePool(positions, channels), _):
                guard needInput else { return nil }
                var back = Matrix<S>(uninitializedRows: rows, columns: positions * channels)
                d.withUnsafeBufferPointer { pd in
                    back.withUnsafeMutableBufferPointer { pb in
                        WindowGeometry.globalAveragePoolAdjoint(pd.baseAddress!, samples: rows, positions: positions, channels: channels,
                                                                into: pb.baseAddress!)
                    }
                }
                d = back
            case (.flatten, _):
                continue
            case let (.residual(branch, scale), .residual(inner)):
                // out = x + α·branch(x): the branch sees α·δ, the skip path δ itself.
                var scaled = d
                scaled.withUnsafeMutableBufferPointer { p in S.scal(n: p.count, alpha: S(scale), x: p.baseAddress!) }
                let through = backward(branch, inner, scaled, samples: m, outputs: k, upstream: needInput, theta: theta, deltas: &deltas)
                guard needInput, let through else { return nil }
                d.add(through)
            default:
                preconditionFailure("backward: trace does not match the layer")
            }
        }
        return d
    }

    /// The signal at an affine layer's input: `col2im(s_w Δ W)`, chunked over (sample, output) rows.
    static func affineAdjoint<S: BLASScalar>(_ a: AffineLayer, _ delta: Matrix<S>, theta: UnsafePointer<S>) -> Matrix<S> {
        let g = a.geometry, rows = delta.rows
        let (positions, c, k) = (g.positions, a.outputChannels, g.patchLength)
        let w = theta + a.weightOffset, sw = S(a.weightMultiplier)
        if g.isPointwise {
            var out = Matrix<S>(uninitializedRows: rows, columns: g.inputCount)
            delta.withUnsafeBufferPointer { pd in
                out.withUnsafeMutableBufferPointer { po in
                    S.gemm(transA: false, transB: false, m: rows * positions, n: k, k: c, alpha: sw, a: pd.baseAddress!, lda: c,
                           b: w, ldb: k, beta: 0, c: po.baseAddress!, ldc: k)
                }
            }
            return out
        }
        var out = Matrix<S>(rows: rows, columns: g.inputCount)
        let step = chunk(perSample: positions * k)
        var columns = [S](unsafeUninitializedCapacity: min(step, rows) * positions * k) { _, n in n = min(step, rows) * positions * k }
        delta.withUnsafeBufferPointer { pd in
            out.withUnsafeMutableBufferPointer { po in
                columns.withUnsafeMutableBufferPointer { pc in
                    for start in stride(from: 0, to: rows, by: step) {
                        let n = min(step, rows - start)
                        S.gemm(transA: false, transB: false, m: n * positions, n: k, k: c, alpha: sw,
                               a: pd.baseAddress! + start * positions * c, lda: c, b: w, ldb: k, beta: 0, c: pc.baseAddress!, ldc: k)
                        g.scatterPatches(pc.baseAddress!, samples: n, into: po.baseAddress! + start * g.inputCount)
                    }
                }
            }
        }
        return out
    }
}
