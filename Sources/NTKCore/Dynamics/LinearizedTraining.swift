import Foundation

/// The training loss of the linearized model.
public enum LossFunction: String, CaseIterable, Codable, Sendable {
    /// `(1/2m) Σ ‖y − u‖²`: closed form.
    case mse
    /// `(1/m) Σ CE(softmax(u), y)`: adaptive ODE integration.
    case crossEntropy = "xent"
}

/// How `H` is used: dense eigendecomposition of the formed Gram, or Lanczos on `v ↦ Zᵀ(Z v)`.
public enum KernelSolver: String, CaseIterable, Codable, Sendable {
    /// Whichever `SolverPlan` estimates faster within the memory budget (and `denseLimit` rows).
    case auto
    /// Form `H` and eigendecompose it (Float64).
    case eigen
    /// Never form `H` (exact kernel only).
    case lanczos
}

/// Settings of one linearization (one federated round's integration).
public struct LinearizationOptions: Sendable {
    public var loss: LossFunction = .mse
    public var kernel: KernelKind = .exact
    public var solver: KernelSolver = .auto
    public var flow: Flow = .gradientFlow
    /// η.
    public var learningRate: Double = 1
    /// ρ.
    public var ridge: Double = 0
    /// Relative tolerance of Lanczos (and of the cross-entropy ODE).
    public var tolerance: Double = 1e-8
    /// Largest Gram (rows) the automatic solver may form and decompose densely (a cap on top of `SolverPlan`).
    public var denseLimit: Int = Int.max
    /// Bytes the dense path may use (`SolverPlan`): the Gram, its eigenvectors and workspace.
    public var memoryBudget: Double = SolverPlan.defaultMemoryBudget

    public init() {}

    /// The dense-or-Lanczos decision for `sampleCount` samples with `outputCount` outputs, for a Jacobian of
    /// `parameterCount` rows whose exact Gram costs `gramDepth` multiply–adds per entry, with its reason.
    public func plan(parameterCount: Int, gramDepth: Int, outputCount: Int, sampleCount m: Int,
                     lanczosIterations: Int = 60) -> SolverPlan {
        let rows = kernel == .exact ? m * outputCount : m
        var solver = self.solver
        if solver == .auto && rows > denseLimit && kernel == .exact { solver = .lanczos }
        return SolverPlan(solver: solver, kernel: kernel, parameterCount: parameterCount, gramDepth: gramDepth, sampleCount: m,
                          rows: rows, memoryBudget: memoryBudget, speed: .measured, lanczosIterations: lanczosIterations)
    }

    /// The plan for a factored MLP Jacobian of `widths` (`n_0 … n_L`).
    public func plan(widths: [Int], sampleCount m: Int, lanczosIterations: Int = 60) -> SolverPlan {
        plan(parameterCount: zip(widths, widths.dropFirst()).reduce(0) { $0 + ($1.0 + 1) * $1.1 },
             gramDepth: widths.dropFirst().reduce(0, +), outputCount: widths.last!, sampleCount: m, lanczosIterations: lanczosIterations)
    }

    /// The plan for `jacobian`'s own sizes and representation.
    public func plan<S>(for jacobian: any JacobianOperator<S>, lanczosIterations: Int = 60) -> SolverPlan {
        plan(parameterCount: jacobian.parameterCount, gramDepth: jacobian.gramDepth, outputCount: jacobian.outputCount,
             sampleCount: jacobian.sampleCount, lanczosIterations: lanczosIterations)
    }
}

/// The linearized model `f_lin(x; θ) = f(x; θ_0) + ∇_θ f(x; θ_0)ᵀ(θ − θ_0)` trained in closed form (or by ODE).
///
/// Every solution is `θ_t = θ_0 + Z β_t`; predictions at any input are the linearized network at `θ_t`,
/// `f_0(x) + J(x)(θ_t − θ_0)` — for the exact kernel that is `f_0(x) + Θ̂(x, X)β_t`.
public struct LinearizedTraining<Scalar: BLASScalar> {
    /// `θ_0`: the linearization point (P entries, the network's flat parameter order).
    public let initialParameters: [Scalar]
    /// `Z` at `θ_0` on the training inputs (factored, dense, or a union of workers' blocks).
    public let jacobian: any JacobianOperator<Scalar>
    /// `y`, m × k flattened sample-major.
    public let targets: [Double]
    public let options: LinearizationOptions

    /// What the solver did, for logs.
    public private(set) var report: String = ""
    /// The dense Gram (Float64) when the dense path is used: given (assembled as blocks arrived) or formed once.
    public private(set) var denseGram: Matrix<Double>?
    /// Lanczos' Krylov dimension in the last solve (the next round's plan expects about as many).
    public private(set) var lanczosIterations: Int?
    /// The Gram's eigenvalues after the last solve: all of them (dense path) or Lanczos' Ritz values.
    public private(set) var spectrum: KernelSpectrum?
    /// Its eigendecomposition, kept so that later solves on the same kernel cost only GEMVs.
    private var dynamics: LinearizedDynamics?

    /// Linearizes `network` on `inputs` (factored Jacobian).
    public init(network: MLP<Scalar>, inputs: Matrix<Scalar>, targets: Matrix<Double>, options: LinearizationOptions) throws {
        try self.init(initialParameters: network.parameters.flattened, jacobian: FactoredJacobian(network: network, inputs: inputs),
                      targets: targets, options: options)
    }

    /// Linearization from a Jacobian computed elsewhere (a worker's block, a union of blocks).
    public init(initialParameters: [Scalar], jacobian: any JacobianOperator<Scalar>, targets: Matrix<Double>,
                options: LinearizationOptions, gram: Matrix<Double>? = nil) throws {
        guard initialParameters.count == jacobian.parameterCount else {
            throw ModelError.shapeMismatch("θ_0 has \(initialParameters.count) entries, the Jacobian \(jacobian.parameterCount) rows")
        }
        guard targets.rows == jacobian.sampleCount, targets.columns == jacobian.outputCount else {
            throw ModelError.shapeMismatch("targets are \(targets.rows)×\(targets.columns), expected \(jacobian.sampleCount)×\(jacobian.outputCount)")
        }
        guard targets.isFinite else { throw ModelError.nonFiniteParameters("targets hold NaN or ∞") }
        self.initialParameters = initialParameters
        self.jacobian = jacobian
        self.targets = targets.elements
        self.options = options
        if let gram {
            let n = options.kernel == .exact ? jacobian.columnCount : jacobian.sampleCount
            guard gram.rows == n, gram.columns == n else {
                throw ModelError.shapeMismatch("given Gram is \(gram.rows)×\(gram.columns), expected \(n)×\(n)")
            }
            self.denseGram = gram
        }
    }

    /// One solution of the linearized dynamics.
    public struct Solution: Sendable {
        /// `t`.
        public let time: Double
        /// `β_t` (mk entries).
        public let coefficients: [Double]
        /// `u_t`: the linearized network on the training inputs (mk entries).
        public let trainOutputs: [Double]
    }

    /// `u_0`, flattened.
    public var initialOutputs: [Double] { jacobian.outputs.elements.map { Double($0) } }

    /// `H v` through the factors (exact kernel), never forming `H`.
    public func gramProduct(_ v: [Double]) -> [Double] {
        jacobian.jvp(jacobian.contract(v.map { Scalar($0) })).map { Double($0) }
    }

    /// The linearized network on the training inputs at `θ_0 + Zβ`.
    public func trainOutputs(_ beta: [Double]) -> [Double] {
        var u = gramProduct(beta)
        let u0 = jacobian.outputs.elements
        for i in u.indices { u[i] += Double(u0[i]) }
        return u
    }

    /// `θ_t = θ_0 + Z β_t` (flat, P entries).
    public func parameters(_ beta: [Double]) -> [Scalar] {
        var theta = jacobian.contract(beta.map { Scalar($0) })
        theta.withUnsafeMutableBufferPointer { pt in
            initialParameters.withUnsafeBufferPointer { p0 in Scalar.axpy(n: p0.count, alpha: 1, x: p0.baseAddress!, y: pt.baseAddress!) }
        }
        return theta
    }

    /// The linearized network at `θ_0 + Zβ` on other inputs (their factors at `θ_0`).
    public func predict(_ other: any JacobianOperator<Scalar>, _ beta: [Double]) -> [Double] {
        let delta = jacobian.contract(beta.map { Scalar($0) })
        let f0 = other.outputs.elements
        return zip(other.jvp(delta), f0).map { Double($0) + Double($1) }
    }

    /// Relative eigenvalue size below which `H`'s directions are rounding noise: the Gram's precision
    /// (Float32 blocks: ~1e-6), never below Float64's `n ε`.
    private func noiseFloor(_ n: Int) -> Double {
        max(Double(n) * Double.ulpOfOne, 10 * Double(Scalar.ulpOfOne))
    }

    /// Set when Lanczos did not converge within its budget and the dense Gram fits: the solve is redone densely.
    private var lanczosGaveUp = false

    /// Whether this problem runs on the dense Gram.
    public var usesDenseGram: Bool { lanczosGaveUp || options.plan(for: jacobian).method == .dense }

    /// Krylov dimensions Lanczos may use: 300, 3–10× the 26–90 iterations it takes on the kernels measured
    /// so far. Past it, a residual that is nearly all in the flat bottom of the spectrum (a network that fits
    /// its training set) would make it crawl (each step is two passes through every block); the iterate
    /// reached is then good to its reported error estimate.
    private static func lanczosBudget(_ n: Int) -> Int { min(n, 300) }

    /// Solves for every time at once, from `β = 0` or, to continue on the same kernel, from `start`
    /// (then every returned `β_t` is the total, `start` plus the new integration over `t`).
    public mutating func solve(times: [Double], from start: [Double]? = nil) throws -> [Solution] {
        let m = jacobian.sampleCount, k = jacobian.outputCount
        if let start, start.count != jacobian.columnCount {
            throw DynamicsError.invalidArgument("start has \(start.count) coefficients, the kernel has \(jacobian.columnCount) columns")
        }
        let u0 = start.map { trainOutputs($0) } ?? initialOutputs
        var residual = zip(targets, u0).map { $0 - $1 }
        if let start, options.ridge > 0 {
            // The ridge pulls towards θ_0 of this linearization: continuing from β_0 shifts the residual by m ρ β_0.
            for i in residual.indices { residual[i] -= Double(m) * options.ridge * start[i] }
        }
        if usesDenseGram && denseGram == nil { denseGram = jacobian.gram(options.kernel).converted(to: Double.self) }
        let dense: Matrix<Double>? = usesDenseGram ? denseGram : nil
        if let h = dense, !h.isFinite { throw DynamicsError.nonFiniteKernel }
        func total(_ beta: [Double]) -> [Double] {
            guard let start else { return beta }
            return zip(beta, start).map { $0 + $1 }
        }
        switch options.loss {
        case .mse:
            let betas: [[Double]]
            if let h = dense {
                if dynamics == nil {
                    dynamics = try LinearizedDynamics(gram: h, sampleCount: m, learningRate: options.learningRate,
                                                      ridge: options.ridge, noiseFloor: noiseFloor(h.rows))
                    spectrum = KernelSpectrum(eigenvalues: dynamics!.eigen.values, relativeFloor: dynamics!.noiseFloor, method: "dense")
                    spectrum!.addDiagnostics(measure: KernelSpectrum.measure(of: residual, on: dynamics!.eigen),
                                             residualNorm2: dot(residual, residual), sampleCount: m, learningRate: options.learningRate,
                                             ridge: options.ridge, time: times.max() ?? 0)
                }
                let dynamics = self.dynamics!
                betas = try dynamics.coefficients(residual: residual, times: times, flow: options.flow)
                report = "dense \(options.kernel.rawValue) Gram \(h.rows)×\(h.rows), λ_max/m = \(String(format: "%.4g", dynamics.operatorEigenvalues.last ?? 0))"
            } else {
                let rho = options.ridge, eta = options.learningRate, flow = options.flow
                let n = jacobian.columnCount
                var lanczos = LanczosSpectralFilter(tolerance: options.tolerance, maxIterations: Self.lanczosBudget(n),
                                                    noiseFloor: noiseFloor(n), shift: rho)
                // Past its budget Lanczos hands over to the dense Gram when that is affordable (fits the memory
                // budget, estimated ≤ 30 s); otherwise its last iterate is used and its error estimate reported.
                let densePlan = options.plan(for: jacobian).dense
                let denseAffordable = options.kernel == .exact && densePlan.map { $0.bytes <= options.memoryBudget && $0.seconds <= 30 } ?? false
                lanczos.acceptsUnconverged = !denseAffordable
                let result: LanczosSpectralFilter.Result
                do {
                    result = try lanczos.apply({ v in
                        var hv = self.gramProduct(v)
                        for i in hv.indices { hv[i] = hv[i] / Double(m) + rho * v[i] }
                        return hv
                    }, to: residual, scales: times, phi: { mu, t in
                        flow == .gradientFlow ? SpectralFilter.flow(mu, etaT: eta * t) : SpectralFilter.descent(mu, eta: eta, steps: t)
                    })
                } catch DynamicsError.notConverged(let why) where denseAffordable {
                    // A spectrum Lanczos resolves slowly: the dense Gram (which fits) is the cheaper way now.
                    lanczosGaveUp = true
                    let solutions = try solve(times: times, from: start)
                    report += " (Lanczos gave up: \(why))"
                    return solutions
                }
                // Ritz values are of H/m + ρ; the spectrum is reported for H.
                spectrum = KernelSpectrum(eigenvalues: result.ritzValues.map { ($0 - rho) * Double(m) },
                                          relativeFloor: noiseFloor(jacobian.columnCount), method: "ritz")
                // The Krylov space starts from the residual: the Ritz weights are its spectral measure (Gauss quadrature).
                let r2 = dot(residual, residual)
                spectrum!.addDiagnostics(measure: zip(result.ritzValues, result.ritzWeights).map { (($0 - rho) * Double(m), $1 * r2) },
                                         residualNorm2: r2, sampleCount: m, learningRate: eta, ridge: rho, time: times.max() ?? 0)
                if flow == .gradientDescent, let top = result.ritzValues.last, eta * top >= 2 {
                    throw DynamicsError.unstableLearningRate(eta: eta, bound: 2 / top)
                }
                betas = result.vectors.map { $0.map { $0 / Double(m) } }
                lanczosIterations = result.iterations
                let worst = result.errorEstimates.max() ?? 0
                report = "Lanczos on the exact kernel (\(jacobian.columnCount) columns), \(result.iterations) iterations, error estimate \(String(format: "%.1e", worst))"
                    + (worst > options.tolerance ? " (not converged to \(options.tolerance) within \(Self.lanczosBudget(n)) iterations; the dense path would cost more)" : "")
            }
            return zip(times, betas).map { Solution(time: $0, coefficients: total($1), trainOutputs: trainOutputs(total($1))) }
        case .crossEntropy:
            guard options.flow == .gradientFlow else {
                throw DynamicsError.invalidArgument("cross-entropy is integrated as gradient flow only")
            }
            let product: ([Double]) -> [Double]
            if let h = dense {
                product = { v in Matrix.product(h, Matrix(rows: h.columns, columns: v.count / h.columns, elements: v)).elements }
            } else {
                let frozen = self
                product = { v in frozen.gramProduct(v) }
            }
            var ode = CrossEntropyDynamics(gramProduct: product, sampleCount: m, outputCount: k,
                                           learningRate: options.learningRate, ridge: options.ridge)
            ode.relativeTolerance = options.tolerance
            ode.absoluteTolerance = options.tolerance * 1e-2
            let states = try ode.integrate(initialOutputs: u0, targets: targets, times: times, initialCoefficients: start)
            report = "cross-entropy ODE (Dormand–Prince 5(4)) on the \(dense == nil ? "factored exact" : "dense \(options.kernel.rawValue)") kernel"
            return states.map { Solution(time: $0.time, coefficients: $0.coefficients, trainOutputs: trainOutputs($0.coefficients)) }
        }
    }
}

/// Mean loss and accuracy of outputs against targets (both m × k flattened).
public struct Evaluation: Sendable, Codable {
    /// Mean loss (mse: `(1/2m) Σ‖y − u‖²`; xent: mean cross-entropy).
    public let loss: Double
    /// Fraction of samples whose arg-max output is the arg-max target (classification).
    public let accuracy: Double

    public init(outputs u: [Double], targets y: [Double], outputCount k: Int, loss kind: LossFunction) {
        let m = u.count / k
        switch kind {
        case .mse:
            var s = 0.0
            for i in u.indices { s += (u[i] - y[i]) * (u[i] - y[i]) }
            loss = s / (2 * Double(m))
        case .crossEntropy:
            loss = CrossEntropyDynamics.loss(u, targets: y, outputCount: k)
        }
        var correct = 0
        for i in 0..<m {
            var bu = 0, by = 0
            for a in 1..<max(k, 1) {
                if u[i * k + a] > u[i * k + bu] { bu = a }
                if y[i * k + a] > y[i * k + by] { by = a }
            }
            if bu == by { correct += 1 }
        }
        accuracy = m == 0 ? 0 : Double(correct) / Double(m)
    }
}
