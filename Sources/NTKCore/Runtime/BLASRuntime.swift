import CLinearAlgebra
import Foundation

/// Which OpenBLAS kernels run, and making sure they are the fastest correct ones for this CPU.
///
/// Debian's OpenBLAS 0.3.21 does not recognise some current CPUs (Intel Xeon family 6 model 207) and
/// silently falls back to its generic SSE3 "Prescott" kernels, 5× slower than its AVX-512 ones
/// (DESIGN.md §4). OpenBLAS reads `OPENBLAS_CORETYPE` once, when the library is loaded — before `main`.
/// So `selectFastestCore` runs first thing in every executable: when the environment sets no core and
/// the one in use is below what the CPU supports, it sets `OPENBLAS_CORETYPE` and re-executes the
/// process once; the new process verifies the kernels with a small GEMM/SYRK/SYEVD self-check against a
/// reference and, if that fails, re-executes once more on OpenBLAS's own choice with a warning.
/// A value set by the environment is never overridden.
public enum BLASRuntime {
    /// Marks a process that this module re-executed with a core it chose.
    static let selectedMarker = "NTK_OPENBLAS_AUTOSELECTED"
    /// Set to `0` to disable automatic selection (also set after a failed self-check).
    public static let optOutVariable = "NTK_OPENBLAS_AUTOSELECT"

    /// The core OpenBLAS uses, e.g. `"SkylakeX"`, `"Haswell"`, `"Prescott"`.
    public static var coreName: String {
        guard let p = openblas_get_corename() else { return "unknown" }
        return String(cString: p)
    }

    /// OpenBLAS's thread count.
    public static var threadCount: Int { Int(openblas_get_num_threads()) }

    /// Sets OpenBLAS's thread count.
    public static func setThreadCount(_ n: Int) { openblas_set_num_threads(Int32(n)) }

    /// How the core in use came to be, for logs.
    public enum Selection: Equatable, Sendable {
        /// `OPENBLAS_CORETYPE` came from the environment; left alone.
        case environment(String)
        /// OpenBLAS's own choice, already as good as the CPU allows (or selection disabled).
        case library
        /// Chosen here; the self-check passed with this maximum relative error.
        case selected(String, selfCheckError: Double)
        /// Chosen here, failed the self-check, back on OpenBLAS's own choice.
        case fellBack(String, reason: String)
    }

    /// The best OpenBLAS core for this CPU from its feature flags: `SkylakeX` (AVX-512), `Haswell` (AVX2+FMA).
    public static func bestCoreForCPU(flags: Set<String> = cpuFlags()) -> String? {
        if ["avx512f", "avx512bw", "avx512vl", "avx512dq", "avx512cd"].allSatisfy(flags.contains) { return "SkylakeX" }
        if flags.contains("avx2") && flags.contains("fma") { return "Haswell" }
        return nil
    }

    /// Capability rank of an OpenBLAS core name: 2 = AVX-512 kernels, 1 = AVX2, 0 = older/generic.
    public static func tier(of core: String) -> Int {
        let name = core.lowercased()
        let avx512 = ["skylakex", "cooperlake", "sapphirerapids"]
        let avx2 = ["haswell", "zen", "skylake", "broadwell"]
        if avx512.contains(where: { name.hasPrefix($0) }) { return 2 }
        if avx2.contains(where: { name.hasPrefix($0) }) { return 1 }
        return 0
    }

    /// The CPU's feature flags (`/proc/cpuinfo`; empty where unavailable).
    public static func cpuFlags() -> Set<String> {
        guard let text = try? String(contentsOfFile: "/proc/cpuinfo", encoding: .utf8),
              let line = text.split(separator: "\n").first(where: { $0.hasPrefix("flags") }),
              let colon = line.firstIndex(of: ":") else { return [] }
        return Set(line[line.index(after: colon)...].split(separator: " ").map(String.init))
    }

    /// Call first in `main`. May replace the process (re-exec) and then never returns to the caller.
    /// Returns how the core in use was chosen, for the caller to log with `coreName`.
    @discardableResult
    public static func selectFastestCore() -> Selection {
        let env = ProcessInfo.processInfo.environment
        if let chosen = env[selectedMarker] {
            // This process was re-executed with a core chosen here: verify it.
            let check = selfCheck()
            if check.passed { return .selected(chosen, selfCheckError: check.maxRelativeError) }
            unsetenv("OPENBLAS_CORETYPE")
            unsetenv(selectedMarker)
            setenv(optOutVariable, "0", 1)
            setenv("NTK_OPENBLAS_FALLBACK_REASON", "self-check of \(chosen) failed (max relative error \(check.maxRelativeError))", 1)
            reexec()
            return .fellBack(chosen, reason: "re-exec failed after self-check failure")
        }
        if let reason = env["NTK_OPENBLAS_FALLBACK_REASON"] {
            unsetenv("NTK_OPENBLAS_FALLBACK_REASON")
            return .fellBack(coreName, reason: reason)
        }
        if let set = env["OPENBLAS_CORETYPE"], !set.isEmpty { return .environment(set) }
        if env[optOutVariable] == "0" { return .library }
        guard let best = bestCoreForCPU(), tier(of: coreName) < tier(of: best) else { return .library }
        setenv("OPENBLAS_CORETYPE", best, 1)
        setenv(selectedMarker, best, 1)
        reexec()
        // Only reached if exec failed: carry on with the slow kernels.
        unsetenv("OPENBLAS_CORETYPE")
        unsetenv(selectedMarker)
        return .fellBack(best, reason: "could not re-execute \(CommandLine.arguments.first ?? "process")")
    }

    /// A one-line description for logs: core, threads and how it was chosen.
    public static func describe(_ selection: Selection) -> String {
        let how: String
        switch selection {
        case .environment(let v): how = "OPENBLAS_CORETYPE=\(v) set by the environment"
        case .library: how = "OpenBLAS's own choice"
        case .selected(let v, let err):
            how = "selected \(v) for this CPU (self-check passed, max rel. error \(String(format: "%.1e", err)))"
        case .fellBack(let v, let reason): how = "WARNING: \(v) not used: \(reason)"
        }
        return "OpenBLAS core \(coreName), \(threadCount) threads (\(how))"
    }

    private static func reexec() {
        var argv: [UnsafeMutablePointer<CChar>?] = CommandLine.arguments.map { strdup($0) }
        argv.append(nil)
        execv("/proc/self/exe", &argv)
    }

    /// Small GEMM, SYRK and SYEVD in both precisions against straightforward reference loops.
    public static func selfCheck() -> (passed: Bool, maxRelativeError: Double) {
        var rng = PortableGaussian(seed: 20261129)
        let m = 67, k = 45, n = 53
        let aD = Matrix<Double>(rows: m, columns: k, elements: rng.fill(m * k))
        let bD = Matrix<Double>(rows: k, columns: n, elements: rng.fill(k * n))
        var reference = Matrix<Double>(rows: m, columns: n)
        for i in 0..<m { for j in 0..<n { var s = 0.0; for p in 0..<k { s += aD[i, p] * bD[p, j] }; reference[i, j] = s } }
        let gemmD = Matrix.product(aD, bD).relativeDistance(to: reference)
        let gemmS = Matrix.product(aD.converted(to: Float.self), bD.converted(to: Float.self))
            .converted(to: Double.self).relativeDistance(to: reference)
        var gram = Matrix<Double>(rows: m, columns: m)
        for i in 0..<m { for j in 0..<m { var s = 0.0; for p in 0..<k { s += aD[i, p] * aD[j, p] }; gram[i, j] = s } }
        let syrkD = aD.rowGram().relativeDistance(to: gram)
        let syrkS = aD.converted(to: Float.self).rowGram().converted(to: Double.self).relativeDistance(to: gram)
        func eigenResidual<S: BLASScalar>(_ a: Matrix<S>) -> Double {
            guard let e = try? SymmetricEigen(a) else { return .infinity }
            return e.matrix().converted(to: Double.self).relativeDistance(to: a.converted(to: Double.self))
        }
        let eigD = eigenResidual(gram), eigS = eigenResidual(gram.converted(to: Float.self))
        let doubleError = max(gemmD, syrkD, eigD), floatError = max(gemmS, syrkS, eigS)
        let passed = doubleError < 1e-12 && floatError < 1e-4
        return (passed, max(doubleError, floatError))
    }
}
