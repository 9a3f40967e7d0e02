/// Where a `size × size` window sweep (a convolution or a pooling layer) reads its `H × W × C` input:
/// output size, stride and the zero border, and the gather (im2col) / scatter (col2im) it implies.
///
/// Images are stored per sample as `H × W × C` row-major (position-major, channel fastest), so one sample
/// is one row of an `m × (H·W·C)` matrix, and equivalently `m·H·W` rows of `C` channels. A patch is the
/// window's `size × size × C` values in (row, column, channel) order: the column order of a convolution's
/// weight matrix `C_out × (size·size·C_in)`.
public struct WindowGeometry: Equatable, Sendable {
    /// Input height, width and channels.
    public let inputHeight: Int, inputWidth: Int, channels: Int
    /// Window side and step.
    public let size: Int, stride: Int
    /// Zero rows above and zero columns left of the image (SAME padding puts the odd one after, as XLA does).
    public let padTop: Int, padLeft: Int
    /// Output height and width.
    public let outputHeight: Int, outputWidth: Int

    /// The sweep of `size × size` windows with `stride` over `input` (`.same`: XLA/TensorFlow's rule,
    /// `⌈n/s⌉` outputs, total padding `max((out−1)·s + size − n, 0)` split with the smaller half first).
    public init(input: TensorShape, size: Int, stride: Int, padding: LayerSpec.Padding) {
        inputHeight = input.height; inputWidth = input.width; channels = input.channels
        self.size = size; self.stride = stride
        outputHeight = LayerSpec.convolvedSize(input.height, size: size, stride: stride, padding: padding)
        outputWidth = LayerSpec.convolvedSize(input.width, size: size, stride: stride, padding: padding)
        if padding == .same {
            padTop = max((outputHeight - 1) * stride + size - input.height, 0) / 2
            padLeft = max((outputWidth - 1) * stride + size - input.width, 0) / 2
        } else {
            padTop = 0; padLeft = 0
        }
    }

    /// Output positions per sample, `S = H_out · W_out`.
    public var positions: Int { outputHeight * outputWidth }
    /// Values per patch, `size² · C`.
    public var patchLength: Int { size * size * channels }
    /// Values per input sample.
    public var inputCount: Int { inputHeight * inputWidth * channels }
    /// A 1×1 window with stride 1 reads each position alone: the input already is its patch matrix.
    public var isPointwise: Bool { size == 1 && stride == 1 }

    /// im2col: the patches of `samples` consecutive images at `x` as `(samples·S) × patchLength` rows
    /// (zeros where the window hangs over the border).
    func gatherPatches<S: BinaryFloatingPoint>(_ x: UnsafePointer<S>, samples: Int, into p: UnsafeMutablePointer<S>) {
        Self.gather(self, x, samples: samples, into: p)
    }

    /// col2im: adds each patch row back onto the positions it was read from (`x` accumulates).
    func scatterPatches<S: BinaryFloatingPoint>(_ p: UnsafePointer<S>, samples: Int, into x: UnsafeMutablePointer<S>) {
        Self.scatter(self, p, samples: samples, into: x)
    }

    // Specialized copies: the generic network code calling these may itself run unspecialized.
    @_specialize(where S == Float)
    @_specialize(where S == Double)
    static func gather<S: BinaryFloatingPoint>(_ g: WindowGeometry, _ x: UnsafePointer<S>, samples: Int, into p: UnsafeMutablePointer<S>) {
        let (h, w, c, k) = (g.inputHeight, g.inputWidth, g.channels, g.size)
        let row = g.patchLength, perSample = g.inputCount
        var out = p
        for n in 0..<samples {
            let image = x + n * perSample
            for oy in 0..<g.outputHeight {
                for ox in 0..<g.outputWidth {
                    for dy in 0..<k {
                        let iy = oy * g.stride + dy - g.padTop
                        let dst = out + dy * k * c
                        guard iy >= 0, iy < h else { dst.update(repeating: 0, count: k * c); continue }
                        for dx in 0..<k {
                            let ix = ox * g.stride + dx - g.padLeft
                            if ix >= 0, ix < w {
                                (dst + dx * c).update(from: image + (iy * w + ix) * c, count: c)
                            } else {
                                (dst + dx * c).update(repeating: 0, count: c)
                            }
                        }
                    }
                    out += row
                }
            }
        }
    }

    @_specialize(where S == Float)
    @_specialize(where S == Double)
    static func scatter<S: BinaryFloatingPoint>(_ g: WindowGeometry, _ p: UnsafePointer<S>, samples: Int, into x: UnsafeMutablePointer<S>) {
        let (h, w, c, k) = (g.inputHeight, g.inputWidth, g.channels, g.size)
        let row = g.patchLength, perSample = g.inputCount
        var src = p
        for n in 0..<samples {
            let image = x + n * perSample
            for oy in 0..<g.outputHeight {
                for ox in 0..<g.outputWidth {
                    for dy in 0..<k {
                        let iy = oy * g.stride + dy - g.padTop
                        guard iy >= 0, iy < h else { continue }
                        for dx in 0..<k {
                            let ix = ox * g.stride + dx - g.padLeft
                            guard ix >= 0, ix < w else { continue }
                            let d = image + (iy * w + ix) * c, s = src + (dy * k + dx) * c
                            for ch in 0..<c { d[ch] += s[ch] }
                        }
                    }
                    src += row
                }
            }
        }
    }

    /// Average pooling: `out[pos, c] = mean of the window's values of channel c` (valid windows only).
    @_specialize(where S == Float)
    @_specialize(where S == Double)
    static func averagePool<S: BinaryFloatingPoint>(_ g: WindowGeometry, _ x: UnsafePointer<S>, samples: Int, into out: UnsafeMutablePointer<S>) {
        let (w, c, k) = (g.inputWidth, g.channels, g.size)
        let scale = 1 / S(k * k), perIn = g.inputCount, perOut = g.positions * c
        for n in 0..<samples {
            let image = x + n * perIn
            for oy in 0..<g.outputHeight {
                for ox in 0..<g.outputWidth {
                    let o = out + n * perOut + (oy * g.outputWidth + ox) * c
                    for ch in 0..<c { o[ch] = 0 }
                    for dy in 0..<k {
                        for dx in 0..<k {
                            let s = image + ((oy * g.stride + dy) * w + ox * g.stride + dx) * c
                            for ch in 0..<c { o[ch] += s[ch] }
                        }
                    }
                    for ch in 0..<c { o[ch] *= scale }
                }
            }
        }
    }

    /// The adjoint of `averagePool`: each output's signal spread evenly over its window (`x` must start at zero).
    @_specialize(where S == Float)
    @_specialize(where S == Double)
    static func averagePoolAdjoint<S: BinaryFloatingPoint>(_ g: WindowGeometry, _ d: UnsafePointer<S>, samples: Int, into x: UnsafeMutablePointer<S>) {
        let (w, c, k) = (g.inputWidth, g.channels, g.size)
        let scale = 1 / S(k * k), perIn = g.inputCount, perOut = g.positions * c
        for n in 0..<samples {
            let image = x + n * perIn
            for oy in 0..<g.outputHeight {
                for ox in 0..<g.outputWidth {
                    let s = d + n * perOut + (oy * g.outputWidth + ox) * c
                    for dy in 0..<k {
                        for dx in 0..<k {
                            let t = image + ((oy * g.stride + dy) * w + ox * g.stride + dx) * c
                            for ch in 0..<c { t[ch] += scale * s[ch] }
                        }
                    }
                }
            }
        }
    }

    /// Global average pooling `H × W × C → C` over `samples` rows of `positions · channels` values.
    @_specialize(where S == Float)
    @_specialize(where S == Double)
    static func globalAveragePool<S: BinaryFloatingPoint>(_ x: UnsafePointer<S>, samples: Int, positions: Int, channels c: Int,
                                                          into out: UnsafeMutablePointer<S>) {
        let scale = 1 / S(positions)
        for n in 0..<samples {
            let o = out + n * c, image = x + n * positions * c
            for ch in 0..<c { o[ch] = 0 }
            for p in 0..<positions {
                let s = image + p * c
                for ch in 0..<c { o[ch] += s[ch] }
            }
            for ch in 0..<c { o[ch] *= scale }
        }
    }

    /// The adjoint of `globalAveragePool`: every position gets the channel's signal over `positions`.
    @_specialize(where S == Float)
    @_specialize(where S == Double)
    static func globalAveragePoolAdjoint<S: BinaryFloatingPoint>(_ d: UnsafePointer<S>, samples: Int, positions: Int, channels c: Int,
                                                                 into x: UnsafeMutablePointer<S>) {
        let scale = 1 / S(positions)
        for n in 0..<samples {
            let s = d + n * c, image = x + n * positions * c
            for p in 0..<positions {
                let t = image + p * c
                for ch in 0..<c { t[ch] = scale * s[ch] }
            }
        }
    }
}
