import Foundation

/// The choice between forming the Gram and eigendecomposing it (dense) and Lanczos on `v ↦ Zᵀ(Zv)`, from the
/// problem's sizes, a memory budget and the machine's measured speed, with the reason in words.
///
/// Costs (flops, `n` = Gram rows = mk for the exact kernel, `P` = parameters, `Σn` = Σ_ℓ n_ℓ for a factored MLP
/// block, P for a dense block):
/// - dense: the Gram from the factors `≈ 2 n² Σn` at GEMM speed, then `dsyevd` `≈ 9 n³` at the measured
///   eigensolver speed; memory `≈ 4 n²` Float64 values (Gram, eigenvectors, workspace).
/// - Lanczos: `iterations × 4 m P` (one contraction and one JVP through the factors per product) at GEMM
///   speed, plus full reorthogonalization `≈ 2 iterations² n`; memory: the Krylov basis, `iterations × n`.
public struct SolverPlan: Sendable, Equatable {
    public enum Method: String, Sendable { case dense, lanczos }

    public let method: Method
    /// Estimated seconds and bytes of each method (nil: not applicable).
    public let dense: (seconds: Double, bytes: Double)?
    public let lanczos: (seconds: Double, bytes: Double)?
    /// Why, e.g. "Lanczos: est. 1.1 s, 7 MB; dense: est. 240 s, 6.6 GB".
    public let reason: String

    public static func == (a: SolverPlan, b: SolverPlan) -> Bool { a.method == b.method && a.reason == b.reason }

    /// The machine's speed, measured once per process (`MachineSpeed.measured`).
    public struct MachineSpeed: Sendable {
        /// Float32 GEMM, flop/s.
        public var gemm: Double
        /// Float64 symmetric eigendecomposition with vectors, in "9 n³ flops" per second.
        public var eigen: Double

        public init(gemm: Double, eigen: Double) {
            self.gemm = gemm
            self.eigen = eigen
        }

        /// A 768³ sgemm and a 400 × 400 dsyevd, timed (best of 3; ~0.1 s in all, once per process).
        public static let measured: MachineSpeed = {
            let n = 768
            var g = PortableGaussian(seed: 7)
            let a = Matrix<Float>(rows: n, columns: n, elements: g.fill(n * n, scale: 1))
            let gemm = best(3) { _ = Matrix.product(a, a) }
            let e = 400
            let b = Matrix<Double>(rows: e, columns: e, elements: g.fill(e * e, scale: 1))
            let s = Matrix.product(b, b, transposeB: true)
            let eigen = best(3) { _ = try? SymmetricEigen(s) }
            return MachineSpeed(gemm: 2 * pow(Double(n), 3) / gemm, eigen: 9 * pow(Double(e), 3) / eigen)
        }()

        private static func best(_ runs: Int, _ body: () -> Void) -> Double {
            (0..<runs).map { _ in
                let t0 = ContinuousClock.now
                body()
                let d = ContinuousClock.now - t0
                return max(1e-6, Double(d.components.seconds) + Double(d.components.attoseconds) * 1e-18)
            }.min()!
        }
    }

    /// Plans one solve. `parameterCount` is P; `gramDepth` the multiply–adds per Gram entry (`Σn` for factored MLP
    /// blocks, P for dense blocks); `sampleCount` is m; `rows` the Gram's rows (mk exact, m averaged);
    /// `lanczosIterations` the expected Krylov dimension (the last round's, or 60).
    public init(solver: KernelSolver, kernel: KernelKind, parameterCount: Int, gramDepth: Int, sampleCount m: Int, rows n: Int,
                memoryBudget: Double, speed: MachineSpeed, lanczosIterations: Int = 60) {
        let N = Double(n), P = Double(parameterCount)
        let sumWidths = Double(gramDepth)
        let dense = (seconds: 2 * N * N * sumWidths / speed.gemm + 9 * N * N * N / speed.eigen, bytes: 4 * N * N * 8)
        let iterations = Double(min(lanczosIterations, n))
        let lanczos = kernel == .exact
            ? (seconds: iterations * 4 * Double(m) * P / speed.gemm + 2 * iterations * iterations * N / speed.gemm,
               bytes: iterations * N * 8)
            : nil
        self.dense = dense
        self.lanczos = lanczos
        func describe(_ c: (seconds: Double, bytes: Double)) -> String {
            "est. \(String(format: "%.2g", c.seconds)) s, \(Self.formatBytes(c.bytes))"
        }
        let budget = "budget \(Self.formatBytes(memoryBudget))"
        switch (solver, lanczos) {
        case (.eigen, _):
            method = .dense
            reason = "dense (solver: eigen): \(describe(dense))"
        case (.lanczos, let l?):
            method = .lanczos
            reason = "Lanczos (solver: lanczos): \(describe(l))"
        case (_, nil):
            method = .dense
            reason = "dense (the output-averaged kernel is solved densely): \(describe(dense))"
        case (_, let l?):
            // A small Gram is decomposed densely even when Lanczos would be a little faster: every eigenvalue,
            // no tolerance, and the estimates ignore per-call overheads that dominate at this size.
            let denseFits = dense.bytes <= memoryBudget
            if denseFits && dense.seconds <= max(l.seconds, Self.smallProblemSeconds) {
                method = .dense
                reason = "dense: \(describe(dense)) vs Lanczos \(describe(l))"
            } else {
                method = .lanczos
                reason = "Lanczos: \(describe(l)) vs dense \(describe(dense))" + (denseFits ? "" : " > \(budget)")
            }
        }
    }

    /// Below this estimate the dense path is taken regardless.
    static let smallProblemSeconds = 0.25

    static func formatBytes(_ b: Double) -> String {
        b >= 1e9 ? String(format: "%.1f GB", b / 1e9) : b >= 1e6 ? String(format: "%.0f MB", b / 1e6) : String(format: "%.0f kB", b / 1e3)
    }

    /// Half the machine's memory: the server holds blocks and more besides the solver's arrays.
    public static var defaultMemoryBudget: Double { Double(ProcessInfo.processInfo.physicalMemory) / 2 }
}
