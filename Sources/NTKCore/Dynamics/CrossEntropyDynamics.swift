import Foundation

/// Training the linearized network on softmax cross-entropy, which has no closed form.
///
/// Loss: `L(θ) = (1/m) Σ_i CE(softmax(u_i), y_i) + (ρ/2)‖θ − θ_0‖²`, `u = u_0 + Zᵀ(θ − θ_0)`.
/// With `θ_t = θ_0 + Z β_t` (the update stays in the span of `Z`), gradient flow becomes the
/// `2mk`-dimensional ODE in scaled time `τ = ηt`:
///   `dβ/dτ = −(∇_u C(u)/m + ρβ)`, `du/dτ = H dβ/dτ`, `∇_u C(u)_i = softmax(u_i) − y_i`,
/// integrated by Dormand–Prince 5(4) with error control on `(u, β)`. `H` enters only through `H v`,
/// so the exact kernel works from the factors (`FactoredJacobian.jvp ∘ contract`) or a dense Gram.
public struct CrossEntropyDynamics {
    /// `v ↦ H v` on sample-major vectors of length mk.
    public let gramProduct: ([Double]) -> [Double]
    /// m.
    public let sampleCount: Int
    /// k.
    public let outputCount: Int
    /// η.
    public let learningRate: Double
    /// ρ.
    public let ridge: Double
    /// Relative and absolute tolerances of the step-size control.
    public var relativeTolerance = 1e-8, absoluteTolerance = 1e-10
    /// Guard against runaway integrations.
    public var maxSteps = 1_000_000

    public init(gramProduct: @escaping ([Double]) -> [Double], sampleCount: Int, outputCount: Int,
                learningRate: Double, ridge: Double = 0) {
        self.gramProduct = gramProduct
        self.sampleCount = sampleCount
        self.outputCount = outputCount
        self.learningRate = learningRate
        self.ridge = ridge
    }

    /// The state at one requested time.
    public struct State: Sendable {
        /// `t`.
        public let time: Double
        /// `u_t`, sample-major.
        public let outputs: [Double]
        /// `β_t`: `θ_t = θ_0 + Z β_t`, `f_t(x) = f_0(x) + Θ̂(x, X) β_t`.
        public let coefficients: [Double]
    }

    /// `∇_u C(u)`: per sample `softmax(u_i) − y_i` (max-shifted, so large logits do not overflow).
    public static func lossGradient(_ u: [Double], targets y: [Double], outputCount k: Int) -> [Double] {
        var g = [Double](repeating: 0, count: u.count)
        for i in 0..<(u.count / k) {
            let base = i * k
            var top = -Double.infinity
            for a in 0..<k { top = max(top, u[base + a]) }
            var total = 0.0
            for a in 0..<k { let e = exp(u[base + a] - top); g[base + a] = e; total += e }
            for a in 0..<k { g[base + a] = g[base + a] / total - y[base + a] }
        }
        return g
    }

    /// Mean cross-entropy `(1/m) Σ_i −Σ_a y_ia log softmax(u_i)_a`.
    public static func loss(_ u: [Double], targets y: [Double], outputCount k: Int) -> Double {
        var total = 0.0
        let m = u.count / k
        for i in 0..<m {
            let base = i * k
            var top = -Double.infinity
            for a in 0..<k { top = max(top, u[base + a]) }
            var s = 0.0
            for a in 0..<k { s += exp(u[base + a] - top) }
            let logZ = top + log(s)
            for a in 0..<k where y[base + a] != 0 { total -= y[base + a] * (u[base + a] - logZ) }
        }
        return total / Double(m)
    }

    /// Integrates from `u_0` (with `β = initialCoefficients`, default 0) and returns the state at each
    /// requested time (any order).
    public func integrate(initialOutputs u0: [Double], targets y: [Double], times: [Double],
                          initialCoefficients: [Double]? = nil) throws -> [State] {
        let n = sampleCount * outputCount
        guard u0.count == n, y.count == n else {
            throw DynamicsError.invalidArgument("outputs and targets need \(n) entries (m·k), got \(u0.count) and \(y.count)")
        }
        guard u0.allSatisfy({ $0.isFinite }), y.allSatisfy({ $0.isFinite }) else {
            throw DynamicsError.invalidArgument("initial outputs or targets contain NaN or ∞")
        }
        for t in times where !(t >= 0 && t.isFinite) {
            throw DynamicsError.invalidArgument("time must be finite and ≥ 0, got \(t)")
        }
        let m = Double(sampleCount), k = outputCount, rho = ridge
        // Right-hand side in τ = ηt on the stacked state [u; β].
        func rhs(_ state: [Double]) throws -> [Double] {
            let u = Array(state[0..<n]), beta = state[n...]
            var dBeta = CrossEntropyDynamics.lossGradient(u, targets: y, outputCount: k)
            for i in 0..<n { dBeta[i] = -(dBeta[i] / m + rho * beta[beta.startIndex + i]) }
            let dU = gramProduct(dBeta)
            guard dU.count == n, dU.allSatisfy({ $0.isFinite }) else { throw DynamicsError.nonFiniteKernel }
            return dU + dBeta
        }
        let order = times.indices.sorted { times[$0] < times[$1] }
        var results = [State?](repeating: nil, count: times.count)
        if let b = initialCoefficients, b.count != n {
            throw DynamicsError.invalidArgument("initial coefficients need \(n) entries, got \(b.count)")
        }
        var state = u0 + (initialCoefficients ?? [Double](repeating: 0, count: n))
        var tau = 0.0
        var h = 0.0
        var k1 = try rhs(state)
        var steps = 0
        for index in order {
            let target = learningRate * times[index]
            if h == 0 { h = initialStep(state: state, derivative: k1, span: target) }
            while tau < target {
                let step = min(h, target - tau)
                let (next, errorNorm, kLast) = try dormandPrinceStep(state, k1, step, rhs)
                steps += 1
                if steps > maxSteps {
                    throw DynamicsError.notConverged("cross-entropy ODE needed more than \(maxSteps) steps")
                }
                if errorNorm <= 1 {
                    tau += step
                    state = next
                    k1 = kLast
                }
                let factor = errorNorm == 0 ? 5 : min(5, max(0.2, 0.9 * pow(errorNorm, -0.2)))
                h = step * factor
            }
            results[index] = State(time: times[index], outputs: Array(state[0..<n]), coefficients: Array(state[n...]))
        }
        return results.map { $0! }
    }

    /// Hairer–Wanner's starting step: `0.01 ‖y‖/‖f‖` in the weighted norm of the error control.
    private func initialStep(state: [Double], derivative: [Double], span: Double) -> Double {
        var d0 = 0.0, d1 = 0.0
        for i in state.indices {
            let scale = absoluteTolerance + relativeTolerance * abs(state[i])
            d0 += (state[i] / scale) * (state[i] / scale)
            d1 += (derivative[i] / scale) * (derivative[i] / scale)
        }
        let guess = (d0 < 1e-10 || d1 < 1e-10) ? 1e-6 : 0.01 * (d0 / d1).squareRoot()
        return max(min(guess, span > 0 ? span : 1), 1e-12)
    }

    // Dormand–Prince 5(4) tableau (first same as last).
    private static let a: [[Double]] = [
        [],
        [1.0 / 5],
        [3.0 / 40, 9.0 / 40],
        [44.0 / 45, -56.0 / 15, 32.0 / 9],
        [19372.0 / 6561, -25360.0 / 2187, 64448.0 / 6561, -212.0 / 729],
        [9017.0 / 3168, -355.0 / 33, 46732.0 / 5247, 49.0 / 176, -5103.0 / 18656],
        [35.0 / 384, 0, 500.0 / 1113, 125.0 / 192, -2187.0 / 6784, 11.0 / 84],
    ]
    private static let bLow: [Double] = [5179.0 / 57600, 0, 7571.0 / 16695, 393.0 / 640, -92097.0 / 339200, 187.0 / 2100, 1.0 / 40]

    private func dormandPrinceStep(_ y: [Double], _ k1: [Double], _ h: Double,
                                   _ f: ([Double]) throws -> [Double]) throws -> ([Double], Double, [Double]) {
        var stages = [k1]
        var y5 = y
        for s in 1...6 {
            var arg = y
            for (j, coeff) in Self.a[s].enumerated() where coeff != 0 {
                let kj = stages[j], c = h * coeff
                for i in arg.indices { arg[i] += c * kj[i] }
            }
            if s == 6 { y5 = arg }
            stages.append(try f(arg))
        }
        // Error = h Σ (b5 − b4) k, with b5 the last row of `a` (FSAL) and b5_7 = 0.
        var errorSum = 0.0
        for i in y.indices {
            var e = 0.0
            for j in 0..<7 {
                let b5 = j < 6 ? Self.a[6][j] : 0
                e += (b5 - Self.bLow[j]) * stages[j][i]
            }
            e *= h
            let scale = absoluteTolerance + relativeTolerance * max(abs(y[i]), abs(y5[i]))
            errorSum += (e / scale) * (e / scale)
        }
        return (y5, (errorSum / Double(y.count)).squareRoot(), stages[6])
    }
}
