import Dispatch
import Foundation

/// The infinite-width NNGP and NTK of a network written as a `NetworkSpec`: convolutions (flatten or global
/// average pooling readout), average pooling, residual blocks, dense layers and element-wise activations, in
/// NTK parametrization — neural-tangents' `stax` with `parameterization='ntk'`, `W_std = σ_w`, `b_std = β`.
///
/// **The limit** (Tensor Programs II, `papers/tensor-programs-ii.txt`, Appendix E.3 "Convolution Neural
/// Network" and E.3.1 "Vectorized NTK Formula"; E.2 for pooling; E.1 / DESIGN.md §1 for the dense case).
/// As every hidden channel count goes to infinity, each pre-activation channel is a Gaussian process over
/// (sample, spatial position); the kernel of a pair of samples `(ξ, ξ̄)` is the covariance over all
/// position pairs, `C_{s,t} = lim h_sᵀ h̄_t / n`, an `|P| × |P|` matrix per sample pair. The NTK `Θ_{s,t}` is
/// carried along forward, as in `stax` (equivalent to E.3's backward `D` recursion summed over layers):
///
/// - input: `C⁰_{s,t} = ξ_s · ξ̄_t / C_in`, `Θ⁰ = 0`;
/// - `conv(k, stride σ)`: `C′_{s,t} = σ_w² 𝒯(C)_{s,t} + β²`, `Θ′ = σ_w² 𝒯(Θ) + C′`, with
///   `𝒯(C)_{s,t} = (1/k²) Σ_κ C_{σs+κ−p, σt+κ−p}` over the `k × k` offsets κ (zero outside the image:
///   `same` pads by `p`, `valid` by 0). The weight multiplier `σ_w/√(k² C_in)` turns E.3's sum over κ and
///   channels into this mean. Hidden channel counts drop out;
/// - `dense(n)` on a flat kernel: `C′ = σ_w² C + β²`, `Θ′ = σ_w² Θ + C′` (the 1 × 1 case of `conv`);
/// - activation φ: `C′_{s,t} = E[φ(u)φ(v)]`, `Θ′_{s,t} = Θ_{s,t} E[φ′(u)φ′(v)]`, `(u, v) ~ N(0, [[C(ξ,ξ)_{s,s},
///   C_{s,t}], [C_{s,t}, C(ξ̄,ξ̄)_{t,t}]])` — E.3's V-transforms (Facts E.2, E.3; quadrature otherwise),
///   computed by `InfiniteWidthKernel`'s expectations;
/// - `avgpool(k, stride σ)` (valid): `C′_{s,t} = (1/k⁴) Σ_{u ∈ win(s), v ∈ win(t)} C_{u,v}`, the same for Θ;
/// - `gap`: `C′ = |P|⁻² Σ_{s,t} C_{s,t}` (E.3's GAP readout couples every position pair), the same for Θ;
/// - `flatten`: `C′ = |P|⁻¹ Σ_s C_{s,s}` (E.3's "vectorization": only aligned positions couple, since
///   the next dense layer has its own weights per position), the same for Θ;
/// - `res(branch, scale = α)`: `C′ = C + α² C_branch`, `Θ′ = Θ + α² Θ_branch` (the branch ends in a fresh
///   affine layer, so it is independent of the skip; `stax.FanInSum`).
///
/// Every output has this kernel (the full limit is `Θ ⊗ I_k`). An activation needs a Gaussian input (an
/// affine layer, possibly pooled, before it), and a residual needs a Gaussian skip and branch output
/// (pre-activation blocks such as `conv(8,3)-res(relu-conv(8,3))`), as in `stax`; otherwise `init` throws.
///
/// **Cost and limits.** Per sample pair the work is `O(|P|²)` per layer (`|P|²·k` for a conv, evaluated
/// separably along height then width), with `O(|P|²)` memory per thread: 4096 numbers for an 8 × 8 image,
/// ≈ 0.6 M for 28 × 28. A network without pooling read out by `flatten` carries only the `|P|` aligned
/// pairs (`alignedPositionsOnly`, E.3.1). The whole `(m·|P|)²` covariance is never formed: work grows as
/// `m²/2` pair evaluations (8 × 8 inputs on 2 cores: a GAP network ≈ 2.7 s at m = 100, 26 s at m = 300; a
/// flatten network without pooling 0.3 s at m = 300; docs/infinite-width.md). The input covariances come
/// from BLAS GEMMs over bounded row blocks (`X_i X₂ᵀ`, `|P| ×` up to 4 M numbers); pairs run in parallel.
/// Activations without a closed form (tanh, gelu) cost a 2-D Gauss–Hermite rule per position pair: use
/// them only on small images.
public struct InfiniteWidthNetworkKernel: Sendable {
    /// The network.
    public let spec: NetworkSpec
    /// One sample's input shape (`H × W × C`, or flat for an MLP).
    public let inputShape: TensorShape
    /// `β`, the bias multiplier of every conv and dense layer.
    public let biasScale: Double
    /// `σ_w`, the weight multiplier of every conv and dense layer (over `√fan_in`).
    public let weightScale: Double
    /// Points per dimension of the quadrature rule (activations without a closed form).
    public let quadratureDegree: Int

    private let steps: [Step]
    private let expectation: [Activation: InfiniteWidthKernel]
    private let activationCount: Int
    private let diagonalOnly: Bool
    private let residualDepth: Int

    /// Checks the spec against the input shape (throws `NetworkSpecError` pointing at the layer that does
    /// not fit) and against what the limit needs (Gaussian inputs to activations and residual sums).
    public init(_ spec: NetworkSpec, inputShape: TensorShape, biasScale: Double = 0.1, weightScale: Double = 1,
                quadratureDegree: Int = 96) throws {
        guard biasScale.isFinite, biasScale >= 0 else {
            throw ModelError.invalidArchitecture("bias scale β must be finite and ≥ 0, got \(biasScale)")
        }
        guard weightScale.isFinite, weightScale > 0 else {
            throw ModelError.invalidArchitecture("weight scale σ_w must be finite and > 0, got \(weightScale)")
        }
        _ = try spec.shapes(for: inputShape)   // positional shape errors first
        self.spec = spec
        self.inputShape = inputShape
        self.biasScale = biasScale
        self.weightScale = weightScale
        self.quadratureDegree = quadratureDegree
        diagonalOnly = !Self.needsAllPositionPairs(spec.layers)
        var compiler = Compiler(diagonalOnly: diagonalOnly)
        _ = try compiler.compile(spec.layers, shape: inputShape, gaussian: false, context: "")
        steps = compiler.steps
        activationCount = compiler.activations
        residualDepth = compiler.maxDepth
        var expectation: [Activation: InfiniteWidthKernel] = [:]
        for step in compiler.steps {
            if case .activation(let a, _, _, _) = step, expectation[a] == nil {
                expectation[a] = InfiniteWidthKernel(hiddenLayers: 0, activation: a, biasScale: biasScale,
                                                     weightScale: weightScale, quadratureDegree: quadratureDegree)
            }
        }
        self.expectation = expectation
    }

    /// Parses the spec and the input shape (`8x8x1`, or a feature count for an MLP).
    public init(parsing spec: String, inputShape: String, biasScale: Double = 0.1, weightScale: Double = 1,
                quadratureDegree: Int = 96) throws {
        try self.init(NetworkSpec(parsing: spec), inputShape: TensorShape(parsing: inputShape),
                      biasScale: biasScale, weightScale: weightScale, quadratureDegree: quadratureDegree)
    }

    /// True when only aligned position pairs `(s, s)` are carried: networks whose spatial layers are conv,
    /// activations and residual blocks, read out by `flatten` (no pooling). TP II E.3.1: "in the
    /// vectorization case, we only need to compute the entries where s = t" — a conv maps aligned pairs to
    /// aligned pairs. Then a pair costs `O(|P|)` per layer instead of `O(|P|²)`.
    public var alignedPositionsOnly: Bool { diagonalOnly }

    /// Numbers held per sample pair while it is evaluated (the covariance and NTK tensors of the largest
    /// layer, with the scratch and residual copies); × 8 bytes × threads is the working memory, plus the
    /// input-covariance block (at most `blockBudget` numbers).
    public var scalarsPerPair: Int {
        let (h, w, _) = spatial(inputShape)
        let largest = steps.map(\.largestTensor).max() ?? 1
        return (4 + 2 * residualDepth) * max(largest, diagonalOnly ? h * w : h * h * w * w)
    }

    /// Numbers in one input-covariance block (`|P|` positions of a sample against those of many others).
    static let blockBudget = 1 << 22

    /// NNGP `Σ(x1, x2)` and NTK `Θ(x1, x2)` of the network output between the rows of `x1` (m1 × d) and `x2`
    /// (m2 × d; `nil`: `x1` itself, symmetric), each sample a row-major `H × W × C` image, `d = H·W·C`.
    /// `threads` defaults to the active processor count.
    public func kernels(_ x1: Matrix<Double>, _ x2: Matrix<Double>? = nil, threads: Int? = nil)
        -> (nngp: Matrix<Double>, ntk: Matrix<Double>) {
        let d = inputShape.count
        precondition(x1.columns == d, "inputs have \(x1.columns) columns, the input shape \(inputShape) has \(d)")
        precondition(x2 == nil || x2!.columns == d, "x2 has \(x2!.columns) columns, expected \(d)")
        let threadCount = max(1, threads ?? ProcessInfo.processInfo.activeProcessorCount)
        let other = x2 ?? x1
        let (m1, m2) = (x1.rows, other.rows)

        // Self pairs first: each sample's own covariance fixes the position variances C(ξ,ξ)_{s,s} that every
        // activation of every pair with that sample needs (E.3's diagonal entries), and the kernel's diagonal.
        let chains1 = selfChains(x1, threads: threadCount)
        let chains2 = x2 == nil ? chains1 : selfChains(other, threads: threadCount)

        var nngp = Matrix<Double>(rows: m1, columns: m2)
        var ntk = nngp
        if x2 == nil {
            for i in 0..<m1 { nngp[i, i] = chains1[i].nngp; ntk[i, i] = chains1[i].ntk }
        }
        let (h, w, c) = spatial(inputShape)
        let p = h * w
        nngp.withUnsafeMutableBufferPointer { pn in
            ntk.withUnsafeMutableBufferPointer { pt in
                let out = (nngp: SharedBuffer(pn.baseAddress!), ntk: SharedBuffer(pt.baseAddress!))
                for i in 0..<m1 {
                    var first = x2 == nil ? i + 1 : 0
                    // Columns in blocks, so that the input covariances held at once stay bounded.
                    let perBlock = max(1, Self.blockBudget / (p * p))
                    while first < m2 {
                        let last = min(m2, first + perBlock)
                        let count = last - first
                        let workers = min(threadCount, count)
                        // Full covariances: ξ_i's positions against every position of samples first..<last,
                        // one GEMM (|P| × count·|P|). Aligned positions only: plain dot products per pair.
                        let gram = diagonalOnly ? nil : Matrix.product(
                            Matrix(rows: p, columns: c, elements: x1.row(i)),
                            Matrix(rows: count * p, columns: c, elements: Array(other.elements[(first * d)..<(last * d)])),
                            transposeB: true, alpha: 1 / Double(c))
                        let base = first
                        DispatchQueue.concurrentPerform(iterations: workers) { worker in
                            var jj = worker
                            while jj < count {
                                let j = base + jj
                                let input: [Double]
                                if let gram {
                                    // C⁰ in the pair layout [a1][a2][b1][b2] from the GEMM's [s][(j, t)].
                                    input = gram.withUnsafeBufferPointer { g in
                                        var q = [Double](repeating: 0, count: p * p)
                                        for a1 in 0..<h { for b1 in 0..<w {
                                            let row = g.baseAddress! + (a1 * w + b1) * (count * p) + jj * p
                                            for a2 in 0..<h { for b2 in 0..<w {
                                                q[((a1 * h + a2) * w + b1) * w + b2] = row[a2 * w + b2]
                                            } }
                                        } }
                                        return q
                                    }
                                } else {
                                    input = alignedInputCovariance(x1, i, other, j)
                                }
                                let r = propagate(input, left: chains1[i].variances, right: chains2[j].variances)
                                out.nngp.pointer[i * m2 + j] = r.nngp
                                out.ntk.pointer[i * m2 + j] = r.ntk
                                jj += workers
                            }
                        }
                        first = last
                    }
                }
            }
        }
        if x2 == nil {
            for i in 0..<m1 { for j in 0..<i { nngp[i, j] = nngp[j, i]; ntk[i, j] = ntk[j, i] } }
        }
        return (nngp, ntk)
    }

    // MARK: - Evaluation

    /// A sample's own kernel and the position variances before each activation.
    private struct Chain: Sendable {
        var nngp: Double
        var ntk: Double
        var variances: [[Double]]
    }

    /// `C⁰_{s,s} = ξ_s · ξ̄_s / C` for the aligned positions of rows `i` of `a` and `j` of `b`.
    private func alignedInputCovariance(_ a: Matrix<Double>, _ i: Int, _ b: Matrix<Double>, _ j: Int) -> [Double] {
        let (h, w, c) = spatial(inputShape)
        let d = inputShape.count
        var q = [Double](repeating: 0, count: h * w)
        a.withUnsafeBufferPointer { pa in
            b.withUnsafeBufferPointer { pb in
                let xa = pa.baseAddress! + i * d, xb = pb.baseAddress! + j * d
                for s in 0..<(h * w) {
                    var sum = 0.0
                    for ch in 0..<c { sum += xa[s * c + ch] * xb[s * c + ch] }
                    q[s] = sum / Double(c)
                }
            }
        }
        return q
    }

    private func selfChains(_ x: Matrix<Double>, threads: Int) -> [Chain] {
        let (h, w, c) = spatial(inputShape)
        let p = h * w
        var chains = [Chain](repeating: Chain(nngp: 0, ntk: 0, variances: []), count: x.rows)
        // In chunks, so that the input covariances held at once stay bounded.
        let chunk = max(threads * 4, 1)
        var start = 0
        while start < x.rows {
            let end = min(x.rows, start + chunk)
            let inputs: [[Double]] = (start..<end).map { i in
                if diagonalOnly { return alignedInputCovariance(x, i, x, i) }
                let xi = Matrix(rows: p, columns: c, elements: x.row(i))
                let g = Matrix.product(xi, xi, transposeB: true, alpha: 1 / Double(c))
                var q = [Double](repeating: 0, count: p * p)
                for a1 in 0..<h { for b1 in 0..<w { for a2 in 0..<h { for b2 in 0..<w {
                    q[((a1 * h + a2) * w + b1) * w + b2] = g[a1 * w + b1, a2 * w + b2]
                } } } }
                return q
            }
            let results = UnsafeMutableBufferPointer<Chain>.allocate(capacity: end - start)
            results.initialize(repeating: Chain(nngp: 0, ntk: 0, variances: []))
            let shared = SharedBuffer(results.baseAddress!)
            let n = end - start
            DispatchQueue.concurrentPerform(iterations: min(threads, n)) { worker in
                var k = worker
                while k < n {
                    let r = propagate(inputs[k], left: nil, right: nil)
                    shared.pointer[k] = Chain(nngp: r.nngp, ntk: r.ntk, variances: r.variances)
                    k += min(threads, n)
                }
            }
            for k in 0..<n { chains[start + k] = results[k] }
            results.deinitialize()
            results.deallocate()
            start = end
        }
        return chains
    }

    /// Runs the compiled layers on one pair's input covariance (pair layout `[a1][a2][b1][b2]`, or `[a][b]` for
    /// aligned positions only). `left`/`right`: the two samples' position variances before each activation;
    /// `nil` for a sample with itself, whose variances are the diagonal of its own covariance (returned).
    private func propagate(_ input: [Double], left: [[Double]]?, right: [[Double]]?)
        -> (nngp: Double, ntk: Double, variances: [[Double]]) {
        var k = input
        var t = [Double](repeating: 0, count: input.count)
        var saved: [([Double], [Double])] = []
        var variances: [[Double]] = []
        if left == nil { variances.reserveCapacity(activationCount) }
        let sw2 = weightScale * weightScale, b2 = biasScale * biasScale
        for step in steps {
            switch step {
            case .window(let window):
                // C′ = σ_w² 𝒯(C) + β², Θ′ = σ_w² 𝒯(Θ) + C′.
                var ck = window.apply(k)
                var ct = window.apply(t)
                for e in 0..<ck.count {
                    ck[e] = sw2 * ck[e] + b2
                    ct[e] = sw2 * ct[e] + ck[e]
                }
                k = ck; t = ct
            case .dense:
                k[0] = sw2 * k[0] + b2
                t[0] = sw2 * t[0] + k[0]
            case .pool(let window):
                k = window.apply(k)
                t = window.apply(t)
            case .globalPool:
                let n = Double(k.count)
                k = [k.reduce(0, +) / n]
                t = [t.reduce(0, +) / n]
            case let .flatten(h, w):
                var sk = 0.0, st = 0.0
                for s in 0..<(h * w) {
                    let e = diagonalIndex(s, h, w)
                    sk += k[e]; st += t[e]
                }
                let n = Double(h * w)
                k = [sk / n]; t = [st / n]
            case let .activation(act, index, h, w):
                let diagonal: [Double] = (0..<(h * w)).map { k[diagonalIndex($0, h, w)] }
                if left == nil { variances.append(diagonal) }
                let v1 = left?[index] ?? diagonal, v2 = right?[index] ?? diagonal
                let rule = expectation[act]!
                // relu inline (Fact E.2 with sin(arccos c) = √((1−c)(1+c)): libm's sin was 30% of the time).
                let transform: (Double, Double, Double) -> (Double, Double) = act == .relu ? Self.relu : rule.expectations
                if diagonalOnly {
                    for e in 0..<(h * w) {
                        let (value, derivative) = transform(v1[e], k[e], v2[e])
                        k[e] = value
                        t[e] *= derivative
                    }
                } else {
                    for a1 in 0..<h { for a2 in 0..<h { for b1 in 0..<w {
                        let k11 = v1[a1 * w + b1]
                        let base = ((a1 * h + a2) * w + b1) * w
                        for b2 in 0..<w {
                            let e = base + b2
                            let (value, derivative) = transform(k11, k[e], v2[a2 * w + b2])
                            k[e] = value
                            t[e] *= derivative
                        }
                    } } }
                }
            case .pushResidual:
                saved.append((k, t))
            case .popResidual(let scale):
                let (sk, st) = saved.removeLast()
                let a2 = scale * scale
                for e in 0..<k.count {
                    k[e] = sk[e] + a2 * k[e]
                    t[e] = st[e] + a2 * t[e]
                }
            }
        }
        precondition(k.count == 1, "the network must end flat")
        return (k[0], t[0], variances)
    }

    /// `(E[relu(u)relu(v)], E[relu′(u)relu′(v)])`, the arc-cosine kernel (TP II Fact E.2), as in
    /// `InfiniteWidthKernel` but with `sin θ = √((1 − c)(1 + c))`.
    @inline(__always)
    private static func relu(_ k11: Double, _ k12: Double, _ k22: Double) -> (Double, Double) {
        let s = (k11 * k22).squareRoot()
        guard s > 0 else { return (0, 0.25) }
        let c = max(-1, min(1, k12 / s))
        let angle = Foundation.acos(c)
        let sine = ((1 - c) * (1 + c)).squareRoot()
        return (s / (2 * .pi) * (sine + (.pi - angle) * c), (.pi - angle) / (2 * .pi))
    }

    /// Where position `s = a·w + b` paired with itself sits in a pair tensor.
    @inline(__always)
    private func diagonalIndex(_ s: Int, _ h: Int, _ w: Int) -> Int {
        if diagonalOnly { return s }
        let (a, b) = (s / w, s % w)
        return ((a * h + a) * w + b) * w + b
    }

    // MARK: - Compilation

    /// One operation on a pair's `(C, Θ)` tensors; `h × w` is the step's input position grid.
    private enum Step: Sendable {
        /// conv: the window sum along height then width, then the affine update.
        case window(Separable)
        /// dense on a flat (1 × 1) kernel.
        case dense
        /// average pooling: window means of both samples along height then width.
        case pool(Separable)
        case globalPool
        case flatten(h: Int, w: Int)
        case activation(Activation, index: Int, h: Int, w: Int)
        case pushResidual
        case popResidual(scale: Double)

        var largestTensor: Int {
            switch self {
            case .window(let s), .pool(let s): return s.largestTensor
            default: return 1
            }
        }
    }

    /// Whether any layer couples position pairs that are not aligned (pooling of either kind).
    private static func needsAllPositionPairs(_ layers: [LayerSpec]) -> Bool {
        layers.contains { layer in
            switch layer {
            case .averagePool, .globalAveragePool: return true
            case .residual(let branch, _): return needsAllPositionPairs(branch)
            default: return false
            }
        }
    }

    private struct Compiler {
        let diagonalOnly: Bool
        var steps: [Step] = []
        var activations = 0
        var depth = 0
        var maxDepth = 0

        init(diagonalOnly: Bool) { self.diagonalOnly = diagonalOnly }

        /// Appends `layers`' steps; returns the output shape and whether the output is Gaussian.
        mutating func compile(_ layers: [LayerSpec], shape input: TensorShape, gaussian input0: Bool,
                              context: String) throws -> (TensorShape, Bool) {
            var shape = input
            var gaussian = input0
            for layer in layers {
                let (h, w) = shape.isFlat ? (1, 1) : (shape.height, shape.width)
                let next: TensorShape
                switch layer.outputShape(for: shape) {
                case .success(let s): next = s
                case .failure(let m): throw ModelError.invalidArchitecture(context + m.reason)
                }
                switch layer {
                case let .conv(_, size, stride, padding):
                    let aligned = diagonalOnly
                    let along = { (n: Int) in
                        AxisCoupling(convolving: n, size: size, stride: stride, padding: padding, alignedOnly: aligned)
                    }
                    steps.append(.window(Separable(h: h, w: w, height: along(h), width: along(w), alignedOnly: diagonalOnly)))
                    gaussian = true
                case .dense:
                    steps.append(.dense)
                    gaussian = true
                case let .averagePool(size, stride):
                    steps.append(.pool(Separable(h: h, w: w, height: AxisCoupling(pooling: h, size: size, stride: stride),
                                                 width: AxisCoupling(pooling: w, size: size, stride: stride), alignedOnly: false)))
                case .globalAveragePool:
                    steps.append(.globalPool)
                case .flatten:
                    if !shape.isFlat {
                        steps.append(.flatten(h: h, w: w))
                        // The flat kernel is a mean over positions, not one coordinate's covariance (stax).
                        gaussian = false
                    }
                case .activation(let a):
                    guard gaussian else {
                        throw ModelError.invalidArchitecture(context + "\(a.rawValue) at infinite width needs a Gaussian input: put a conv or dense layer before it (an activation directly on the input, after another activation, after flatten or on a residual sum with a non-Gaussian term has no closed-form limit here; stax refuses it too)")
                    }
                    steps.append(.activation(a, index: activations, h: h, w: w))
                    activations += 1
                    gaussian = false
                case let .residual(branch, scale):
                    steps.append(.pushResidual)
                    depth += 1
                    maxDepth = max(maxDepth, depth)
                    let (_, branchGaussian) = try compile(branch, shape: shape, gaussian: gaussian,
                                                          context: context + "inside res(…): ")
                    depth -= 1
                    guard branchGaussian, gaussian else {
                        throw ModelError.invalidArchitecture(context + "res(…) at infinite width needs a Gaussian skip input and a branch that ends in a conv or dense layer (pre-activation blocks such as conv(8,3)-res(relu-conv(8,3))); the sum of a non-Gaussian term has no closed-form limit after it (stax's FanInSum refuses it too)")
                    }
                    steps.append(.popResidual(scale: scale))
                }
                shape = next
            }
            return (shape, gaussian)
        }
    }
}

/// A window operation applied along height, then along width, of a pair tensor: `[a1][a2][b1][b2]`
/// (all position pairs) or `[a][b]` (aligned positions only).
private struct Separable: Sendable {
    let height: AxisCoupling
    let width: AxisCoupling
    /// Numbers per height entry of the input (`w²`, or `w` aligned).
    let heightBlock: Int
    /// Width blocks after the height pass (`h′²`, or `h′`), each `widthIn` numbers (`w²`, or `w`).
    let widthBlocks: Int
    let widthIn: Int

    init(h: Int, w: Int, height: AxisCoupling, width: AxisCoupling, alignedOnly: Bool) {
        self.height = height
        self.width = width
        heightBlock = alignedOnly ? w : w * w
        widthBlocks = height.entries
        widthIn = heightBlock
    }

    var largestTensor: Int { max(height.inEntries * heightBlock, widthBlocks * widthIn) }

    func apply(_ x: [Double]) -> [Double] {
        width.apply(alongWidth: height.apply(alongHeight: x, blocks: heightBlock), blocks: widthBlocks, inSize: widthIn)
    }
}

/// How output entries along one axis draw on input entries: `out(e) = weight · Σ in(source)` over the listed
/// sources (zero padding: missing positions add nothing). An entry is a position pair `(o1, o2)` ↦
/// `o1·out + o2` (sources `i1·n + i2`), or one aligned position `o` (sources `i`).
private struct AxisCoupling: Sendable {
    /// Entries of the input (`n²`, or `n` aligned).
    let inEntries: Int
    /// CSR offsets into `sources`, one range per output entry.
    let offsets: [Int]
    let sources: [Int]
    let weight: Double

    var entries: Int { offsets.count - 1 }

    /// A conv along an axis of length `n`: E.3's 𝒯, `(1/k) Σ_κ in(σo1+κ−p, σo2+κ−p)` — aligned offsets only,
    /// so aligned pairs `(o, o)` draw on aligned pairs only.
    init(convolving n: Int, size k: Int, stride s: Int, padding: LayerSpec.Padding, alignedOnly: Bool) {
        let out = LayerSpec.convolvedSize(n, size: k, stride: s, padding: padding)
        let low = padding == .same ? max((out - 1) * s + k - n, 0) / 2 : 0
        var offsets = [0], sources: [Int] = []
        for o1 in 0..<out {
            for o2 in (alignedOnly ? o1..<(o1 + 1) : 0..<out) {
                for kappa in 0..<k {
                    let u1 = o1 * s + kappa - low, u2 = o2 * s + kappa - low
                    if u1 >= 0, u1 < n, u2 >= 0, u2 < n { sources.append(alignedOnly ? u1 : u1 * n + u2) }
                }
                offsets.append(sources.count)
            }
        }
        self.init(inEntries: alignedOnly ? n : n * n, offsets: offsets, sources: sources, weight: 1 / Double(k))
    }

    /// Average pooling (valid) along an axis: `(1/k²) Σ_{u ∈ win(o1), v ∈ win(o2)} in(u, v)` — every pair.
    init(pooling n: Int, size k: Int, stride s: Int) {
        let out = LayerSpec.convolvedSize(n, size: k, stride: s, padding: .valid)
        var offsets = [0], sources: [Int] = []
        for o1 in 0..<out {
            for o2 in 0..<out {
                for u in 0..<k { for v in 0..<k { sources.append((o1 * s + u) * n + (o2 * s + v)) } }
                offsets.append(sources.count)
            }
        }
        self.init(inEntries: n * n, offsets: offsets, sources: sources, weight: 1 / Double(k * k))
    }

    private init(inEntries: Int, offsets: [Int], sources: [Int], weight: Double) {
        self.inEntries = inEntries; self.offsets = offsets; self.sources = sources; self.weight = weight
    }

    /// Along the leading (height) axis of `[height entry][rest]`, `rest` = `blocks` contiguous numbers.
    func apply(alongHeight input: [Double], blocks: Int) -> [Double] {
        var out = [Double](repeating: 0, count: entries * blocks)
        input.withUnsafeBufferPointer { pin in
            out.withUnsafeMutableBufferPointer { pout in
                for entry in 0..<entries {
                    let o = pout.baseAddress! + entry * blocks
                    for e in offsets[entry]..<offsets[entry + 1] {
                        let src = pin.baseAddress! + sources[e] * blocks
                        for z in 0..<blocks { o[z] += src[z] }
                    }
                    for z in 0..<blocks { o[z] *= weight }
                }
            }
        }
        return out
    }

    /// Along the trailing (width) axis of `[block][width entry]`: `blocks` blocks of `inSize` numbers.
    func apply(alongWidth input: [Double], blocks: Int, inSize: Int) -> [Double] {
        let outSize = entries
        var out = [Double](repeating: 0, count: blocks * outSize)
        input.withUnsafeBufferPointer { pin in
            out.withUnsafeMutableBufferPointer { pout in
                for block in 0..<blocks {
                    let src = pin.baseAddress! + block * inSize
                    let o = pout.baseAddress! + block * outSize
                    for entry in 0..<outSize {
                        var sum = 0.0
                        for e in offsets[entry]..<offsets[entry + 1] { sum += src[sources[e]] }
                        o[entry] = sum * weight
                    }
                }
            }
        }
        return out
    }
}

/// `(height, width, channels)` of a shape, a flat one as `1 × 1 × n`.
private func spatial(_ shape: TensorShape) -> (Int, Int, Int) {
    shape.isFlat ? (1, 1, shape.channels) : (shape.height, shape.width, shape.channels)
}

/// A result buffer written at disjoint indices by `concurrentPerform` workers.
private struct SharedBuffer<T>: @unchecked Sendable {
    let pointer: UnsafeMutablePointer<T>
    init(_ pointer: UnsafeMutablePointer<T>) { self.pointer = pointer }
}
