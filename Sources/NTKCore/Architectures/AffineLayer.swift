/// A layer with parameters — `dense(n)` or `conv(c, size)` — and where its weights and bias live in `θ`.
///
/// Both are one computation: a dense layer is a 1×1 convolution over a 1×1 image whose channels are the
/// features. Per output position the layer computes `h = s_w W p + s_b b`, with `p` the input patch
/// (`size² · C_in` values), `W` of shape `C_out × (size² · C_in)` (row-major; the columns in the patch's
/// (row, column, channel) order) and `b` of `C_out` entries. In NTK parametrization `s_w = σ_w/√(size²·C_in)`
/// and `s_b = β` with every parameter drawn from N(0, 1) — neural-tangents' `Conv`/`Dense(…, parameterization='ntk')`;
/// in standard parametrization `s_w = s_b = 1` and `W ~ N(0, σ_w²/(size²·C_in))`, `b ~ N(0, β²)`.
public struct AffineLayer: Equatable, Sendable {
    /// 1-based index among the network's affine layers, in θ order (`ℓ` of DESIGN.md).
    public let index: Int
    /// The window sweep (for a dense layer: a 1×1 window over a 1×1 × n_in image).
    public let geometry: WindowGeometry
    /// `C_out` (a dense layer's width).
    public let outputChannels: Int
    /// Whether the spec wrote `dense` (otherwise `conv`).
    public let isDense: Bool
    /// Offset of `W` (row-major `C_out × patchLength`) in θ; `b` follows at `biasOffset`.
    public let weightOffset: Int
    /// Offset of `b` in θ (`weightOffset + C_out · patchLength`).
    public var biasOffset: Int { weightOffset + outputChannels * geometry.patchLength }
    /// Parameters of this layer, `C_out · (patchLength + 1)`.
    public var parameterCount: Int { outputChannels * (geometry.patchLength + 1) }
    /// `s_w`: the factor in front of `W p`.
    public let weightMultiplier: Double
    /// `s_b`: the factor in front of `b`.
    public let biasMultiplier: Double
    /// Standard deviations of the initial `W` and `b` entries.
    public let weightInitStd: Double, biasInitStd: Double

    /// Output values per sample, `S · C_out`.
    public var outputCount: Int { geometry.positions * outputChannels }
    /// Input values per sample.
    public var inputCount: Int { geometry.inputCount }

    init(index: Int, geometry: WindowGeometry, outputChannels: Int, isDense: Bool, weightOffset: Int,
         parametrization: Parametrization, weightScale: Double, biasScale: Double) {
        self.index = index
        self.geometry = geometry
        self.outputChannels = outputChannels
        self.isDense = isDense
        self.weightOffset = weightOffset
        let fanIn = Double(geometry.patchLength)
        switch parametrization {
        case .ntk:
            weightMultiplier = weightScale / fanIn.squareRoot(); biasMultiplier = biasScale
            weightInitStd = 1; biasInitStd = 1
        case .standard:
            weightMultiplier = 1; biasMultiplier = 1
            weightInitStd = weightScale / fanIn.squareRoot(); biasInitStd = biasScale
        }
    }
}

/// One layer of a built network: shapes resolved, affine layers placed in θ.
indirect enum NetworkLayer: Sendable {
    case affine(AffineLayer)
    case averagePool(WindowGeometry)
    /// Positions and channels of the pooled input.
    case globalAveragePool(positions: Int, channels: Int)
    /// The storage order already is the flattened order: nothing to do.
    case flatten
    case activation(Activation)
    /// `x + scale · branch(x)`.
    case residual(branch: [NetworkLayer], scale: Double)

    /// Builds `specs` for `input`, numbering affine layers from `counter` and placing them from `offset` in θ.
    static func build(_ specs: [LayerSpec], input: TensorShape, counter: inout Int, offset: inout Int,
                      parametrization: Parametrization, weightScale: Double, biasScale: Double) throws -> ([NetworkLayer], TensorShape) {
        var layers: [NetworkLayer] = []
        var shape = input
        for spec in specs {
            let next: TensorShape
            switch spec.outputShape(for: shape) {
            case .success(let s): next = s
            case .failure(let mismatch): throw ModelError.invalidArchitecture(mismatch.reason)
            }
            switch spec {
            case .dense(let n):
                counter += 1
                let geometry = WindowGeometry(input: TensorShape(height: 1, width: 1, channels: shape.count), size: 1, stride: 1, padding: .valid)
                let layer = AffineLayer(index: counter, geometry: geometry, outputChannels: n, isDense: true, weightOffset: offset,
                                        parametrization: parametrization, weightScale: weightScale, biasScale: biasScale)
                offset += layer.parameterCount
                layers.append(.affine(layer))
            case let .conv(c, k, s, padding):
                counter += 1
                let geometry = WindowGeometry(input: shape, size: k, stride: s, padding: padding)
                let layer = AffineLayer(index: counter, geometry: geometry, outputChannels: c, isDense: false, weightOffset: offset,
                                        parametrization: parametrization, weightScale: weightScale, biasScale: biasScale)
                offset += layer.parameterCount
                layers.append(.affine(layer))
            case let .averagePool(k, s):
                layers.append(.averagePool(WindowGeometry(input: shape, size: k, stride: s, padding: .valid)))
            case .globalAveragePool:
                layers.append(.globalAveragePool(positions: shape.height * shape.width, channels: shape.channels))
            case .flatten:
                layers.append(.flatten)
            case .activation(let a):
                layers.append(.activation(a))
            case let .residual(branch, scale):
                let (inner, _) = try build(branch, input: shape, counter: &counter, offset: &offset,
                                           parametrization: parametrization, weightScale: weightScale, biasScale: biasScale)
                layers.append(.residual(branch: inner, scale: scale))
            }
            shape = next
        }
        return (layers, shape)
    }

    /// The affine layers of `layers` in θ order (residual branches in place).
    static func affineLayers(_ layers: [NetworkLayer]) -> [AffineLayer] {
        layers.flatMap { layer -> [AffineLayer] in
            switch layer {
            case .affine(let a): return [a]
            case .residual(let branch, _): return affineLayers(branch)
            default: return []
            }
        }
    }
}
