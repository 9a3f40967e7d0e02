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
/// **Cost and limits.** Only the position pairs the readout needs are carried, found backwards per axis
/// (E.3.1: with a `flatten` readout "we only need to compute the entries where s = t"; a conv maps aligned
/// pairs to aligned pairs, an `avgpool` needs the pairs inside its windows, `gap` all `|P|²`). A sample pair
/// costs `O(N·k)` per conv for `N` carried pairs (separably along height then width), with `O(N)` memory per
/// thread: at most `|P|²` = 4096 numbers for an 8 × 8 image, `|P|` for a flatten readout without pooling
/// (`alignedPositionsOnly`). The `(m·|P|)²` covariance is never formed: work grows as `m²/2` pair
/// evaluations (8 × 8 inputs, 2 cores: the digits CNN `conv-relu-avgpool-conv-relu-flatten` 1.2 s at
/// m = 300, a GAP network 25 s; docs/infinite-width.md). The input covariances come from BLAS GEMMs over
/// bounded row blocks (`X_i X₂ᵀ`, up to 4 M numbers); pairs run in parallel. Activations without a closed
/// form (tanh, gelu) cost a 2-D Gauss–Hermite rule per position pair: use them only on small images.
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

    /// Which position pairs `(s, t)` a sample pair's tensors carry.
    public enum PositionPairs: Sendable {
        /// Only those the readout depends on (the default; the same numbers, less work).
        case needed
        /// All `|P|²` (a check of `needed`).
        case all
    }

    private let steps: [Step]
    private let expectation: [Activation: InfiniteWidthKernel]
    private let activationCount: Int
    private let input: (height: PairSet, width: PairSet)
    private let largestTensor: Int
    private let residualDepth: Int

    /// Checks the spec against the input shape (throws `NetworkSpecError` pointing at the layer that does
    /// not fit) and against what the limit needs (Gaussian inputs to activations and residual sums).
    public init(_ spec: NetworkSpec, inputShape: TensorShape, biasScale: Double = 0.1, weightScale: Double = 1,
                quadratureDegree: Int = 96, positionPairs: PositionPairs = .needed) throws {
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
        var compiler = Compiler()
        _ = try compiler.compile(spec.layers, shape: inputShape, gaussian: false, context: "")
        let plan = compiler.plan(allPairs: positionPairs == .all)
        steps = plan.steps
        input = plan.input
        largestTensor = plan.largestTensor
        activationCount = compiler.activations
        residualDepth = compiler.maxDepth
        var expectation: [Activation: InfiniteWidthKernel] = [:]
        for step in steps {
            if case .activation(let a, _) = step, expectation[a] == nil {
                expectation[a] = InfiniteWidthKernel(hiddenLayers: 0, activation: a, biasScale: biasScale,
                                                     weightScale: weightScale, quadratureDegree: quadratureDegree)
            }
        }
        self.expectation = expectation
    }

    /// Parses the spec and the input shape (`8x8x1`, or a feature count for an MLP).
    public init(parsing spec: String, inputShape: String, biasScale: Double = 0.1, weightScale: Double = 1,
                quadratureDegree: Int = 96, positionPairs: PositionPairs = .needed) throws {
        try self.init(NetworkSpec(parsing: spec), inputShape: TensorShape(parsing: inputShape),
                      biasScale: biasScale, weightScale: weightScale, quadratureDegree: quadratureDegree,
                      positionPairs: positionPairs)
    }

    /// True when only aligned position pairs `(s, s)` are carried throughout: networks whose spatial layers
    /// are conv, activations and residual blocks, read out by `flatten` (no pooling). TP II E.3.1: "in the
    /// vectorization case, we only need to compute the entries where s = t". A pair then costs `O(|P|)` per
    /// layer instead of `O(|P|²)`.
    public var alignedPositionsOnly: Bool {
        steps.allSatisfy { step in
            if case .activation(_, let a) = step { return a.height.isDiagonal && a.width.isDiagonal }
            return true
        } && input.height.isDiagonal && input.width.isDiagonal
    }

    /// Numbers held per sample pair while it is evaluated (the covariance and NTK tensors of the largest
    /// layer, with the scratch and residual copies); × 8 bytes × threads is the working memory, plus the
    /// input-covariance block (at most `blockBudget` numbers).
    public var scalarsPerPair: Int { (4 + 2 * residualDepth) * largestTensor }

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
        let (_, _, c) = spatial(inputShape)
        let p = inputShape.isFlat ? 1 : inputShape.height * inputShape.width
        let useGEMM = !(input.height.isDiagonal && input.width.isDiagonal)
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
                        // Position pairs beyond the aligned ones: ξ_i's positions against every position of
                        // samples first..<last, one GEMM (|P| × count·|P|). Aligned only: dot products per pair.
                        let gram = !useGEMM ? nil : Matrix.product(
                            Matrix(rows: p, columns: c, elements: x1.row(i)),
                            Matrix(rows: count * p, columns: c, elements: Array(other.elements[(first * d)..<(last * d)])),
                            transposeB: true, alpha: 1 / Double(c))
                        let base = first
                        DispatchQueue.concurrentPerform(iterations: workers) { worker in
                            var jj = worker
                            while jj < count {
                                let j = base + jj
                                let start: [Double]
                                if let gram {
                                    start = gram.withUnsafeBufferPointer { g in
                                        inputCovariance { s, t in g[s * (count * p) + jj * p + t] }
                                    }
                                } else {
                                    start = alignedInputCovariance(x1, i, other, j)
                                }
                                let r = propagate(start, left: chains1[i].variances, right: chains2[j].variances)
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

    /// The carried input entries, `C⁰` read from `covariance(s, t)` (`s`, `t` flat positions `a·w + b`).
    private func inputCovariance(_ covariance: (Int, Int) -> Double) -> [Double] {
        let w = inputShape.isFlat ? 1 : inputShape.width
        let (hs, ws) = (input.height, input.width)
        var q = [Double](repeating: 0, count: hs.count * ws.count)
        for (ih, (a1, a2)) in hs.pairs.enumerated() {
            for (iw, (b1, b2)) in ws.pairs.enumerated() {
                q[ih * ws.count + iw] = covariance(a1 * w + b1, a2 * w + b2)
            }
        }
        return q
    }

    /// `C⁰_{s,s} = ξ_s · ξ̄_s / C` for the aligned positions of rows `i` of `a` and `j` of `b` (when the input
    /// sets are the diagonals, in their order: `a`-major, `b`-minor).
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
        let (_, _, c) = spatial(inputShape)
        let p = inputShape.isFlat ? 1 : inputShape.height * inputShape.width
        let aligned = input.height.isDiagonal && input.width.isDiagonal
        var chains = [Chain](repeating: Chain(nngp: 0, ntk: 0, variances: []), count: x.rows)
        // In chunks, so that the input covariances held at once stay bounded.
        let chunk = max(threads * 4, 1)
        var start = 0
        while start < x.rows {
            let end = min(x.rows, start + chunk)
            let inputs: [[Double]] = (start..<end).map { i in
                if aligned { return alignedInputCovariance(x, i, x, i) }
                let xi = Matrix(rows: p, columns: c, elements: x.row(i))
                let g = Matrix.product(xi, xi, transposeB: true, alpha: 1 / Double(c))
                return inputCovariance { s, t in g[s, t] }
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

    /// Runs the compiled layers on one pair's input covariance (the carried entries, height pair major).
    /// `left`/`right`: the two samples' position variances before each activation; `nil` for a sample with
    /// itself, whose variances are the diagonal of its own covariance (returned).
    private func propagate(_ start: [Double], left: [[Double]]?, right: [[Double]]?)
        -> (nngp: Double, ntk: Double, variances: [[Double]]) {
        var k = start
        var t = [Double](repeating: 0, count: start.count)
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
            case .mean(let entries, let divisor):
                var sk = 0.0, st = 0.0
                for e in entries { sk += k[e]; st += t[e] }
                k = [sk / divisor]; t = [st / divisor]
            case let .activation(act, a):
                let diagonal: [Double] = a.diagonal.map { k[$0] }
                if left == nil { variances.append(diagonal) }
                let v1 = left?[a.index] ?? diagonal, v2 = right?[a.index] ?? diagonal
                // relu inline (Fact E.2 with sin(arccos c) = √((1−c)(1+c)): libm's sin was 30% of the time).
                let transform: (Double, Double, Double) -> (Double, Double) = act == .relu ? Self.relu : expectation[act]!.expectations
                let w = a.gridWidth
                let ws = a.width.pairs
                for (ih, (a1, a2)) in a.height.pairs.enumerated() {
                    let base = ih * ws.count
                    for (iw, (b1, b2)) in ws.enumerated() {
                        let e = base + iw
                        let (value, derivative) = transform(v1[a1 * w + b1], k[e], v2[a2 * w + b2])
                        k[e] = value
                        t[e] *= derivative
                    }
                }
            case .pushResidual:
                saved.append((k, t))
            case let .popResidual(scale, skip):
                let (sk, st) = saved.removeLast()
                let a2 = scale * scale
                for e in 0..<k.count {
                    k[e] = sk[skip[e]] + a2 * k[e]
                    t[e] = st[skip[e]] + a2 * t[e]
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

    // MARK: - Compilation

    /// What an activation step needs: its index among the activations, the carried pairs, and where each
    /// position's own pair `(s, s)` sits.
    private struct ActivationSite: Sendable {
        let index: Int
        let height: PairSet
        let width: PairSet
        let gridWidth: Int
        /// Entry of `(s, s)` for each position `s = a·w + b`.
        let diagonal: [Int]
    }

    /// One operation on a pair's `(C, Θ)` tensors (entries: carried height pairs × carried width pairs).
    private enum Step: Sendable {
        /// conv: the window sum along height then width, then the affine update.
        case window(Separable)
        /// dense on a flat (1 × 1) kernel.
        case dense
        /// average pooling: window means of both samples along height then width.
        case pool(Separable)
        /// `gap` (every entry, divisor `|P|²`) or `flatten` (the aligned entries, divisor `|P|`).
        case mean(entries: [Int], divisor: Double)
        case activation(Activation, ActivationSite)
        case pushResidual
        /// `out[e] = skip[map[e]] + α² branch[e]`.
        case popResidual(scale: Double, skip: [Int])
    }

    /// A layer with its position grids, before the carried pairs are chosen.
    private enum Op {
        case conv(size: Int, stride: Int, padding: LayerSpec.Padding)
        case dense
        case pool(size: Int, stride: Int)
        case gap
        case flatten
        case activation(Activation)
        case push
        case pop(scale: Double)
    }

    private struct Compiler {
        /// `(op, input grid h × w, output grid h × w)`.
        var ops: [(op: Op, hIn: Int, wIn: Int, hOut: Int, wOut: Int)] = []
        var activations = 0
        var depth = 0
        var maxDepth = 0

        /// Appends `layers`' ops; returns the output shape and whether the output is Gaussian.
        mutating func compile(_ layers: [LayerSpec], shape input: TensorShape, gaussian input0: Bool,
                              context: String) throws -> (TensorShape, Bool) {
            var shape = input
            var gaussian = input0
            for layer in layers {
                let next: TensorShape
                switch layer.outputShape(for: shape) {
                case .success(let s): next = s
                case .failure(let m): throw ModelError.invalidArchitecture(context + m.reason)
                }
                let (h, w) = shape.isFlat ? (1, 1) : (shape.height, shape.width)
                let (h2, w2) = next.isFlat ? (1, 1) : (next.height, next.width)
                func add(_ op: Op) { ops.append((op, h, w, h2, w2)) }
                switch layer {
                case let .conv(_, size, stride, padding):
                    add(.conv(size: size, stride: stride, padding: padding))
                    gaussian = true
                case .dense:
                    add(.dense)
                    gaussian = true
                case let .averagePool(size, stride):
                    add(.pool(size: size, stride: stride))
                case .globalAveragePool:
                    add(.gap)
                case .flatten:
                    if !shape.isFlat {
                        add(.flatten)
                        // The flat kernel is a mean over positions, not one coordinate's covariance (stax).
                        gaussian = false
                    }
                case .activation(let a):
                    guard gaussian else {
                        throw ModelError.invalidArchitecture(context + "\(a.rawValue) at infinite width needs a Gaussian input: put a conv or dense layer before it (an activation directly on the input, after another activation, after flatten or on a residual sum with a non-Gaussian term has no closed-form limit here; stax refuses it too)")
                    }
                    add(.activation(a))
                    activations += 1
                    gaussian = false
                case let .residual(branch, scale):
                    add(.push)
                    depth += 1
                    maxDepth = max(maxDepth, depth)
                    let (_, branchGaussian) = try compile(branch, shape: shape, gaussian: gaussian,
                                                          context: context + "inside res(…): ")
                    depth -= 1
                    guard branchGaussian, gaussian else {
                        throw ModelError.invalidArchitecture(context + "res(…) at infinite width needs a Gaussian skip input and a branch that ends in a conv or dense layer (pre-activation blocks such as conv(8,3)-res(relu-conv(8,3))); the sum of a non-Gaussian term has no closed-form limit after it (stax's FanInSum refuses it too)")
                    }
                    add(.pop(scale: scale))
                }
                shape = next
            }
            return (shape, gaussian)
        }

        /// Chooses the carried pairs per axis (backwards from the readout: what each layer's output needs of
        /// its input), then builds the steps forwards over those sets.
        func plan(allPairs: Bool) -> (steps: [Step], input: (height: PairSet, width: PairSet), largestTensor: Int) {
            typealias Need = (height: Set<Int>, width: Set<Int>)   // codes p1·n + p2 on the grid's axes
            func all(_ n: Int) -> Set<Int> { Set(0..<(n * n)) }
            func diagonal(_ n: Int) -> Set<Int> { Set((0..<n).map { $0 * n + $0 }) }
            // needIn[i]: pairs op i needs of its input.
            var needIn = [Need](repeating: (Set(), Set()), count: ops.count)
            var current: Need = ([0], [0])   // the flat output
            var skips: [Need] = []
            for i in ops.indices.reversed() {
                let (op, hIn, wIn, hOut, wOut) = ops[i]
                var need: Need
                switch op {
                case let .conv(size, stride, padding):
                    need = (Self.convSources(current.height, n: hIn, out: hOut, size: size, stride: stride, padding: padding),
                            Self.convSources(current.width, n: wIn, out: wOut, size: size, stride: stride, padding: padding))
                case .dense: need = ([0], [0])
                case let .pool(size, stride):
                    need = (Self.poolSources(current.height, n: hIn, out: hOut, size: size, stride: stride),
                            Self.poolSources(current.width, n: wIn, out: wOut, size: size, stride: stride))
                case .gap: need = (all(hIn), all(wIn))
                case .flatten: need = (diagonal(hIn), diagonal(wIn))
                case .activation:
                    // The own-pair variances come from the diagonal (self pairs run the same steps).
                    need = (current.height.union(diagonal(hIn)), current.width.union(diagonal(wIn)))
                case .pop:
                    skips.append(current)
                    need = current
                case .push:
                    let skip = skips.removeLast()
                    need = (current.height.union(skip.height), current.width.union(skip.width))
                }
                if allPairs { need = (all(hIn), all(wIn)) }
                needIn[i] = need
                current = need
            }
            // Forwards: the carried sets; coupling steps produce exactly what the next layer needs.
            var steps: [Step] = []
            let inputSets = (height: PairSet(n: ops.first?.hIn ?? 1, codes: needIn.first?.height ?? [0]),
                             width: PairSet(n: ops.first?.wIn ?? 1, codes: needIn.first?.width ?? [0]))
            var carried = inputSets
            var largest = carried.height.count * carried.width.count
            var saved: [(height: PairSet, width: PairSet)] = []
            var activationIndex = 0
            for (i, (op, hIn, wIn, hOut, wOut)) in ops.enumerated() {
                // What the next op needs of this one's output (the readout: the flat pair).
                let next: Need = i + 1 < ops.count ? needIn[i + 1] : ([0], [0])
                switch op {
                case let .conv(size, stride, padding):
                    let out = (height: PairSet(n: hOut, codes: next.height), width: PairSet(n: wOut, codes: next.width))
                    steps.append(.window(Separable(
                        height: AxisCoupling(convolving: carried.height, into: out.height, size: size, stride: stride, padding: padding),
                        width: AxisCoupling(convolving: carried.width, into: out.width, size: size, stride: stride, padding: padding))))
                    carried = out
                case .dense:
                    steps.append(.dense)
                case let .pool(size, stride):
                    let out = (height: PairSet(n: hOut, codes: next.height), width: PairSet(n: wOut, codes: next.width))
                    steps.append(.pool(Separable(
                        height: AxisCoupling(pooling: carried.height, into: out.height, size: size, stride: stride),
                        width: AxisCoupling(pooling: carried.width, into: out.width, size: size, stride: stride))))
                    carried = out
                case .gap:
                    let count = carried.height.count * carried.width.count
                    steps.append(.mean(entries: Array(0..<count), divisor: Double(hIn * hIn * wIn * wIn)))
                    carried = (PairSet(n: 1, codes: [0]), PairSet(n: 1, codes: [0]))
                case .flatten:
                    let entries = (0..<(hIn * wIn)).map { s in carried.height.entry(s / wIn, s / wIn)! * carried.width.count + carried.width.entry(s % wIn, s % wIn)! }
                    steps.append(.mean(entries: entries, divisor: Double(hIn * wIn)))
                    carried = (PairSet(n: 1, codes: [0]), PairSet(n: 1, codes: [0]))
                case .activation(let a):
                    let diagonal = (0..<(hIn * wIn)).map { s in carried.height.entry(s / wIn, s / wIn)! * carried.width.count + carried.width.entry(s % wIn, s % wIn)! }
                    steps.append(.activation(a, ActivationSite(index: activationIndex, height: carried.height, width: carried.width,
                                                               gridWidth: wIn, diagonal: diagonal)))
                    activationIndex += 1
                case .push:
                    saved.append(carried)
                    steps.append(.pushResidual)
                case .pop(let scale):
                    let skip = saved.removeLast()
                    // The branch ends in a coupling step that produced exactly `next`; the skip carries a superset.
                    let map = carried.height.pairs.flatMap { (a1, a2) in
                        carried.width.pairs.map { (b1, b2) in skip.height.entry(a1, a2)! * skip.width.count + skip.width.entry(b1, b2)! }
                    }
                    steps.append(.popResidual(scale: scale, skip: map))
                }
                _ = (hOut, wOut)
                largest = max(largest, carried.height.count * carried.width.count)
            }
            return (steps, inputSets, largest)
        }

        static func convSources(_ out: Set<Int>, n: Int, out outCount: Int, size k: Int, stride s: Int,
                                padding: LayerSpec.Padding) -> Set<Int> {
            let low = padding == .same ? max((outCount - 1) * s + k - n, 0) / 2 : 0
            var sources = Set<Int>()
            for code in out {
                let (o1, o2) = (code / outCount, code % outCount)
                for kappa in 0..<k {
                    let u1 = o1 * s + kappa - low, u2 = o2 * s + kappa - low
                    if u1 >= 0, u1 < n, u2 >= 0, u2 < n { sources.insert(u1 * n + u2) }
                }
            }
            return sources
        }

        static func poolSources(_ out: Set<Int>, n: Int, out outCount: Int, size k: Int, stride s: Int) -> Set<Int> {
            var sources = Set<Int>()
            for code in out {
                let (o1, o2) = (code / outCount, code % outCount)
                for u in 0..<k { for v in 0..<k { sources.insert((o1 * s + u) * n + (o2 * s + v)) } }
            }
            return sources
        }
    }
}

/// The position pairs `(p1, p2)` carried along one axis of length `n`, in increasing `p1·n + p2`.
private struct PairSet: Sendable {
    let n: Int
    let pairs: [(Int, Int)]
    /// `p1·n + p2` ↦ entry, or −1.
    private let lookup: [Int]

    init(n: Int, codes: Set<Int>) {
        self.n = n
        let sorted = codes.sorted()
        pairs = sorted.map { ($0 / n, $0 % n) }
        var lookup = [Int](repeating: -1, count: n * n)
        for (e, code) in sorted.enumerated() { lookup[code] = e }
        self.lookup = lookup
    }

    var count: Int { pairs.count }
    var isDiagonal: Bool { pairs.allSatisfy { $0.0 == $0.1 } }

    func entry(_ p1: Int, _ p2: Int) -> Int? {
        let e = lookup[p1 * n + p2]
        return e >= 0 ? e : nil
    }
}

/// A window operation applied along height, then along width, of a pair tensor whose entries are
/// (carried height pair) × (carried width pair), height major.
private struct Separable: Sendable {
    let height: AxisCoupling
    let width: AxisCoupling

    func apply(_ x: [Double]) -> [Double] {
        width.apply(alongWidth: height.apply(alongHeight: x, blocks: width.inEntries), blocks: height.entries,
                    inSize: width.inEntries)
    }
}

/// How output entries along one axis draw on input entries: `out(e) = weight · Σ in(source)` over the listed
/// sources (zero padding: missing positions add nothing). Entries are indices into carried `PairSet`s.
private struct AxisCoupling: Sendable {
    /// Carried input pairs.
    let inEntries: Int
    /// CSR offsets into `sources`, one range per carried output pair.
    let offsets: [Int]
    let sources: [Int]
    let weight: Double

    var entries: Int { offsets.count - 1 }

    /// A conv along an axis: E.3's 𝒯, `(1/k) Σ_κ in(σo1+κ−p, σo2+κ−p)` — aligned offsets only.
    init(convolving input: PairSet, into output: PairSet, size k: Int, stride s: Int, padding: LayerSpec.Padding) {
        let n = input.n
        let low = padding == .same ? max((output.n - 1) * s + k - n, 0) / 2 : 0
        var offsets = [0], sources: [Int] = []
        for (o1, o2) in output.pairs {
            for kappa in 0..<k {
                let u1 = o1 * s + kappa - low, u2 = o2 * s + kappa - low
                if u1 >= 0, u1 < n, u2 >= 0, u2 < n { sources.append(input.entry(u1, u2)!) }
            }
            offsets.append(sources.count)
        }
        self.init(inEntries: input.count, offsets: offsets, sources: sources, weight: 1 / Double(k))
    }

    /// Average pooling (valid) along an axis: `(1/k²) Σ_{u ∈ win(o1), v ∈ win(o2)} in(u, v)` — every pair.
    init(pooling input: PairSet, into output: PairSet, size k: Int, stride s: Int) {
        var offsets = [0], sources: [Int] = []
        for (o1, o2) in output.pairs {
            for u in 0..<k { for v in 0..<k { sources.append(input.entry(o1 * s + u, o2 * s + v)!) } }
            offsets.append(sources.count)
        }
        self.init(inEntries: input.count, offsets: offsets, sources: sources, weight: 1 / Double(k * k))
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
