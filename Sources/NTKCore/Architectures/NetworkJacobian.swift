/// The Jacobian `Z` (`P × mk`) of a `Network` on m samples, kept as each affine layer's input `X^ℓ` and
/// backward signal `Δ^ℓ` (the δ of every sample and output at the layer's output).
///
/// For an affine layer with patches `P_i` (`S × patchLength`) of sample i and signal `D_{i,a}` (`S × C_out`,
/// row `i·k + a` of `Δ^ℓ`), column `(i, a)` of `Z` restricted to the layer is `s_w D_{i,a}ᵀ P_i` for `W^ℓ`
/// (summed over the S output positions: the weights are shared) and `s_b 1ᵀ D_{i,a}` for `b^ℓ`. A dense
/// layer is the case `S = 1`, `P_i = x_i`: the MLP's outer product (DESIGN.md §2).
public struct NetworkJacobian<Scalar: BLASScalar>: Sendable {
    /// The affine layers in θ order.
    public let layers: [AffineLayer]
    /// `X^ℓ` per affine layer, m × inputCount.
    public let layerInputs: [Matrix<Scalar>]
    /// `Δ^ℓ` per affine layer, mk × (S · C_out); row `i·k + a` is `∂f_a(x_i)/∂h^ℓ`.
    public let deltas: [Matrix<Scalar>]
    /// `u = f(X; θ)`, m × k.
    public let outputs: Matrix<Scalar>
    /// Number of parameters P.
    public let parameterCount: Int
    /// Per affine layer index, when its signals factor by channel (see `ChannelFactors`).
    let channelFactors: [Int: ChannelFactors<Scalar>]

    /// Number of samples m.
    public var sampleCount: Int { outputs.rows }
    /// Number of outputs k.
    public var outputCount: Int { outputs.columns }

    /// Runs the forward pass and the batched backward pass for every output at once.
    // Specialized entry points: called from other modules the generic body would run unspecialized.
    @_specialize(where Scalar == Float)
    @_specialize(where Scalar == Double)
    public init(network: Network<Scalar>, inputs: Matrix<Scalar>) throws {
        try network.checkInputs(inputs)
        let m = inputs.rows, k = network.outputCount
        let (output, traces, deltas) = network.parameters.withUnsafeBufferPointer { theta -> (Matrix<Scalar>, [LayerTrace<Scalar>], [Matrix<Scalar>]) in
            let (output, traces) = NetworkPasses.forward(network.layers, inputs, theta: theta.baseAddress!, keepTrace: true)
            var top = Matrix<Scalar>(rows: m * k, columns: k)
            for i in 0..<m { for a in 0..<k { top[i * k + a, a] = 1 } }
            var deltas = [Matrix<Scalar>](repeating: Matrix(rows: 0, columns: 0), count: network.affineLayers.count)
            _ = NetworkPasses.backward(network.layers, traces, top, samples: m, outputs: k, upstream: false,
                                       theta: theta.baseAddress!, deltas: &deltas)
            return (output, traces, deltas)
        }
        self.channelFactors = network.parameters.withUnsafeBufferPointer { theta in
            ChannelFactors.find(network.layers, traces, samples: m, theta: theta.baseAddress!)
        }
        var inputsByLayer: [Matrix<Scalar>] = []
        Self.collectInputs(traces, into: &inputsByLayer)
        self.layers = network.affineLayers
        self.layerInputs = inputsByLayer
        self.deltas = deltas
        self.outputs = output
        self.parameterCount = network.parameterCount
    }

    private static func collectInputs(_ traces: [LayerTrace<Scalar>], into inputs: inout [Matrix<Scalar>]) {
        for trace in traces {
            switch trace {
            case .input(let x): inputs.append(x)
            case .residual(let inner): collectInputs(inner, into: &inputs)
            default: break
            }
        }
    }

    /// The dense block as the server consumes it (`JacobianBlock`, `Zᵀ` rows in θ order).
    public func denseBlock() throws -> JacobianBlock<Scalar> {
        try JacobianBlock(parameterCount: parameterCount, outputCount: outputCount, columnsAsRows: denseColumns(), outputs: outputs)
    }

    /// `Zᵀ` (mk × P): row `i·k + a` is `∂_θ f_a(x_i)` in θ's order — `JacobianBlock.columnsAsRows`' layout,
    /// the dense block a worker ships for a network without usable structure.
    @_specialize(where Scalar == Float)
    @_specialize(where Scalar == Double)
    public func denseColumns() -> Matrix<Scalar> {
        let m = sampleCount
        var z = Matrix<Scalar>(uninitializedRows: m * outputCount, columns: parameterCount)
        z.withUnsafeMutableBufferPointer { pz in
            for l in layers.indices {
                writeColumns(layer: l, samples: 0..<m, into: pz.baseAddress! + layers[l].weightOffset, leadingDimension: parameterCount)
            }
        }
        return z
    }

    /// Writes layer `l`'s part of the columns `(i, a)`, i ∈ `samples`: row `(i − lowerBound)·k + a` of `out`
    /// (leading dimension `ld`) gets `s_w D_{i,a}ᵀ P_i` (C_out × patchLength, row-major) then `s_b 1ᵀ D_{i,a}`.
    /// One GEMM per (sample, output) over the S positions; patches gathered per chunk of samples.
    func writeColumns(layer l: Int, samples: Range<Int>, into out: UnsafeMutablePointer<Scalar>, leadingDimension ld: Int) {
        writeColumns(layer: l, signals: deltas[l], outputs: outputCount, samples: samples, into: out, leadingDimension: ld)
    }

    /// `writeColumns` with other signals in place of `Δ^ℓ` (`outputs` rows per sample): the channel
    /// factorization's per-sample `M_i` is this with the single signal `E_i`.
    func writeColumns(layer l: Int, signals: Matrix<Scalar>, outputs k: Int, samples: Range<Int>,
                      into out: UnsafeMutablePointer<Scalar>, leadingDimension ld: Int) {
        let a = layers[l], g = a.geometry
        let (positions, c, length) = (g.positions, a.outputChannels, g.patchLength)
        let sw = Scalar(a.weightMultiplier), sb = Scalar(a.biasMultiplier)
        let step = NetworkPasses.chunk(perSample: positions * length)
        layerInputs[l].withUnsafeBufferPointer { px in
            signals.withUnsafeBufferPointer { pd in
                var patches = [Scalar](unsafeUninitializedCapacity: g.isPointwise ? 0 : min(step, samples.count) * positions * length) {
                    _, n in n = g.isPointwise ? 0 : min(step, samples.count) * positions * length
                }
                patches.withUnsafeMutableBufferPointer { pp in
                    for start in stride(from: samples.lowerBound, to: samples.upperBound, by: step) {
                        let n = min(step, samples.upperBound - start)
                        let base: UnsafePointer<Scalar>
                        if g.isPointwise {
                            base = px.baseAddress! + start * g.inputCount
                        } else {
                            g.gatherPatches(px.baseAddress! + start * g.inputCount, samples: n, into: pp.baseAddress!)
                            base = UnsafePointer(pp.baseAddress!)
                        }
                        for i in 0..<n {
                            let patch = base + i * positions * length
                            for o in 0..<k {
                                let row = (start + i - samples.lowerBound) * k + o
                                let d = pd.baseAddress! + ((start + i) * k + o) * positions * c
                                let dst = out + row * ld
                                Scalar.gemm(transA: true, transB: false, m: c, n: length, k: positions, alpha: sw, a: d, lda: c,
                                            b: patch, ldb: length, beta: 0, c: dst, ldc: length)
                                NetworkKernels.columnSums(d, rows: positions, columns: c, scale: sb, into: dst + c * length)
                            }
                        }
                    }
                }
            }
        }
    }
}

/// Small loops of the Architectures code, specialized for `Float` and `Double` (the generic callers may run unspecialized).
enum NetworkKernels {
    /// `out[j] = α Σ_r a[r, j]` for a row-major r × c matrix.
    @_specialize(where S == Float)
    @_specialize(where S == Double)
    static func columnSums<S: BinaryFloatingPoint>(_ a: UnsafePointer<S>, rows: Int, columns: Int, scale: S, into out: UnsafeMutablePointer<S>) {
        for j in 0..<columns { out[j] = 0 }
        for r in 0..<rows {
            let row = a + r * columns
            for j in 0..<columns { out[j] += row[j] }
        }
        for j in 0..<columns { out[j] *= scale }
    }
}
