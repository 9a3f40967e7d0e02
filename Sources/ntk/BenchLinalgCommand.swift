import ArgumentParser
import Foundation
import NTKCore

/// `ntk bench linalg`: the dense linear algebra behind a round — GEMM peak, Gram from factored blocks,
/// symmetric eigendecomposition and Lanczos — timed in one process against the machine's measured peak.
///
/// Every measurement has a `key` (e.g. `"eigh f32 4000"`) that `bench/linalg_peer.py` uses for the
/// same computation in numpy/scipy, so `bench/linalg.sh` can join the two into one table.
struct BenchLinalgCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "linalg",
        abstract: "Time GEMM peak, Gram from factored blocks, eigendecomposition and Lanczos (OpenBLAS/LAPACK).",
        discussion: """
        Sections, in this order (each time is the best of --repeat runs; \
        GEMM-shaped operations get one untimed warm-up first):
          peak     sgemm and dgemm n×n×n (--peak-size): the measured peak that
                   every "% of peak" refers to (always measured).
          gram     Float32 Gram pieces for every --gram-rows × --gram-widths:
                   SYRK (upper triangle of A Aᵀ, as the server computes X Xᵀ
                   and Δ Δᵀ) and GEMM A Bᵀ (a cross block between two parts);
                   then the whole exact Gram of a FactoredJacobian (--network,
                   --samples; forward and backward passes not timed).
          eigen    SymmetricEigen (ssyevd with our workspace, dsyevd), Float32
                   and Float64, for every --sizes, on a kernel-like matrix
                   K = A Aᵀ/n + diag(0, 1/n, …, (n−1)/n), A n×n Gaussian.
          lanczos  LanczosSpectralFilter (Float64, --tolerance): φ_τ(K) r for
                   every τ in --times (gradient-flow filter) on the same K;
                   and the dense route to the same output (dsyevd + filter).

        GFLOP/s use the textbook counts: GEMM 2mnk, SYRK n(n+1)k, whole Gram the sum \
        of its SYRKs. --save-matrices DIR writes each K (eigen-f32-N.npy, \
        eigen-f64-N.npy) and Lanczos right-hand side (lanczos-rhs-N.npy) so that \
        bench/linalg_peer.py decomposes the very same matrices.

        With --json the last line on stdout is one JSON object (seconds):
          {"impl": "ntk-swift", "openblas_core": "SkylakeX", "threads": 2,
           "sgemm_peak_gflops": ..., "dgemm_peak_gflops": ..., "repeat": 3,
           "measurements": [{"key": "syrk f32 14380x512", "seconds": ...,
                             "gflops": ..., "fraction_of_peak": ..., ...}, ...]}
        and the human-readable lines go to stderr.
        """)

    @Option(help: ArgumentHelp("Matrix orders n of the eigendecomposition and Lanczos sections, comma-separated.", valueName: "n,..."))
    var sizes: String = "1000,2000,4000"

    @Option(name: .customLong("gram-rows"), help: ArgumentHelp("Rows r of the Gram pieces (m for X Xᵀ, mk for Δ Δᵀ), comma-separated.", valueName: "r,..."))
    var gramRows: String = "1000,4000,14380"

    @Option(name: .customLong("gram-widths"), help: ArgumentHelp("Inner dimensions (layer widths) of the Gram pieces, comma-separated.", valueName: "w,..."))
    var gramWidths: String = "512,1024"

    @Option(help: ArgumentHelp("Layer widths of the network whose whole exact Gram is timed (0 to skip).", valueName: "n0,...,nL"))
    var network: String = "64,512,512,10"

    @Option(help: ArgumentHelp("Samples m of that network's Jacobian (the Gram is mk × mk; 1438 × 10 = digits' training part).", valueName: "m"))
    var samples: Int = 1438

    @Option(help: ArgumentHelp("Gradient-flow times τ (φ_τ(μ) = (1 − e^{−τμ})/μ) of the Lanczos section, comma-separated.", valueName: "τ,..."))
    var times: String = "1,10,100"

    @Option(help: ArgumentHelp("Relative tolerance of Lanczos (the solver's default is 1e-8).", valueName: "ε"))
    var tolerance: Double = 1e-8

    @Option(name: .customLong("peak-size"), help: ArgumentHelp("n of the n×n×n sgemm/dgemm that measures the peak.", valueName: "n"))
    var peakSize: Int = 4096

    @Option(help: ArgumentHelp("Sections to run besides the peak, comma-separated: gram, eigen, lanczos.", valueName: "list"))
    var sections: String = "gram,eigen,lanczos"

    @Option(help: ArgumentHelp("Timed runs of each measurement (≥ 1); the best is reported.", valueName: "R"))
    var `repeat`: Int = 3

    @Option(help: ArgumentHelp("Seed of the random matrices.", valueName: "N"))
    var seed: UInt64 = 0

    @Option(name: .customLong("save-matrices"), help: ArgumentHelp("Write the eigen/Lanczos inputs as .npy into this directory (created).", valueName: "DIR"))
    var saveMatrices: String?

    @Flag(help: "Print one JSON object as the last stdout line (human-readable lines go to stderr).")
    var json = false

    /// The parts of the benchmark besides the peak.
    enum Section: String, CaseIterable {
        case gram, eigen, lanczos
    }

    func validate() throws {
        guard `repeat` >= 1 else { throw ValidationError("--repeat must be ≥ 1, got \(`repeat`)") }
        guard peakSize >= 1 else { throw ValidationError("--peak-size must be ≥ 1, got \(peakSize)") }
        guard samples >= 1 else { throw ValidationError("--samples must be ≥ 1, got \(samples)") }
        guard tolerance > 0, tolerance.isFinite else { throw ValidationError("--tolerance must be a positive number") }
        _ = try Self.counts(sizes, flag: "--sizes")
        _ = try Self.counts(gramRows, flag: "--gram-rows")
        _ = try Self.counts(gramWidths, flag: "--gram-widths")
        _ = try InputLoading.parseTimes(times, flag: "--times")
        _ = try selectedSections()
        if network != "0" {
            guard let parsed = try? MLPArchitecture.parseWidths(network), parsed.allSatisfy({ $0 > 0 }) else {
                throw ValidationError("--network \(network): expected positive integers such as 64,512,512,10, or 0")
            }
        }
    }

    /// One timed operation (keys are written in snake_case: `fraction_of_peak`).
    struct Measurement: Codable {
        /// Shared with bench/linalg_peer.py, e.g. `"gemm f32 4096x4096x4096"`, `"eigh f64 4000"`.
        let key: String
        let section: String
        /// Best of `runs`.
        let seconds: Double
        let runs: [Double]
        /// Floating-point operations per run (textbook count), where one is defined.
        let flops: Double?
        let gflops: Double?
        /// `gflops` over the measured peak of the same precision.
        let fractionOfPeak: Double?
        /// Krylov dimension (Lanczos only).
        let iterations: Int?
        let note: String?
    }

    /// The JSON result.
    struct Result: Codable {
        let impl: String
        let openblasCore: String
        let threads: Int
        let sgemmPeakGflops: Double
        let dgemmPeakGflops: Double
        let `repeat`: Int
        let measurements: [Measurement]
    }

    func run() throws {
        let wanted = try selectedSections()
        var recorder = Recorder(repeatCount: `repeat`, json: json)
        recorder.say("OpenBLAS core \(BLASRuntime.coreName), \(BLASRuntime.threadCount) threads; best of \(`repeat`) runs each")

        let peak = (single: measurePeak(Float.self, &recorder), double: measurePeak(Double.self, &recorder))
        recorder.peak = peak
        if wanted.contains(.gram) { try measureGram(&recorder) }
        if wanted.contains(.eigen) || wanted.contains(.lanczos) {
            for n in try Self.counts(sizes, flag: "--sizes") {
                let kernel = kernelLikeMatrix(order: n)
                var rhsRNG = PortableGaussian(seed: seed, stream: 3)
                let rhs: [Double] = rhsRNG.fill(n)
                if let saveMatrices { try save(kernel, rhs, into: saveMatrices) }
                if wanted.contains(.eigen) { try measureEigen(kernel, &recorder) }
                if wanted.contains(.lanczos) { try measureLanczos(kernel, rhs, &recorder) }
            }
        }

        let result = Result(impl: "ntk-swift", openblasCore: BLASRuntime.coreName, threads: BLASRuntime.threadCount,
                            sgemmPeakGflops: peak.single, dgemmPeakGflops: peak.double, repeat: `repeat`,
                            measurements: recorder.measurements)
        if json { print(try Console.jsonLine(result)) }
    }

    // MARK: - Sections

    /// sgemm or dgemm n×n×n; returns its GFLOP/s, the peak of that precision.
    private func measurePeak<S: BLASScalar>(_: S.Type, _ recorder: inout Recorder) -> Double {
        let n = peakSize
        var rng = PortableGaussian(seed: seed, stream: 7)
        let a = Matrix<S>(rows: n, columns: n, elements: rng.fill(n * n))
        let b = Matrix<S>(rows: n, columns: n, elements: rng.fill(n * n))
        let m = recorder.time(key: "gemm \(Self.short(S.self)) \(n)x\(n)x\(n)", section: "peak",
                              flops: 2 * pow(Double(n), 3), precision: S.self == Float.self ? .single : .double, warmUp: true) {
            _ = Matrix.product(a, b)
        }
        return m.gflops ?? 0
    }

    /// SYRK and GEMM on every rows × width, then the whole exact Gram of a factored Jacobian (Float32).
    private func measureGram(_ recorder: inout Recorder) throws {
        for rows in try Self.counts(gramRows, flag: "--gram-rows") {
            for width in try Self.counts(gramWidths, flag: "--gram-widths") {
                try KernelCommand.checkFits(rows: rows, columns: rows, what: "the Gram piece")
                var rng = PortableGaussian(seed: seed, stream: 11)
                let a = Matrix<Float>(rows: rows, columns: width, elements: rng.fill(rows * width))
                let b = Matrix<Float>(rows: rows, columns: width, elements: rng.fill(rows * width))
                let (r, w) = (Double(rows), Double(width))
                recorder.time(key: "syrk f32 \(rows)x\(width)", section: "gram", flops: r * (r + 1) * w,
                              precision: .single, warmUp: true) { _ = a.rowGram(upperOnly: true) }
                recorder.time(key: "gemm-nt f32 \(rows)x\(rows)x\(width)", section: "gram", flops: 2 * r * r * w,
                              precision: .single, warmUp: true) { _ = Matrix.product(a, b, transposeB: true) }
            }
        }
        guard network != "0" else { return }
        let architecture = try MLPArchitecture(widths: try MLPArchitecture.parseWidths(network), activation: .relu, biasScale: 0.1)
        let m = samples, k = architecture.outputCount
        try KernelCommand.checkFits(rows: m * k, columns: m * k, what: "the exact Gram")
        var rng = PortableGaussian(seed: seed, stream: 1)
        let inputs = Matrix<Float>(rows: m, columns: architecture.inputDimension,
                                   elements: rng.fill(m * architecture.inputDimension))
        let jacobian = try FactoredJacobian(network: MLP<Float>(architecture: architecture, seed: seed), inputs: inputs)
        // Its BLAS work: per layer one SYRK of X^{ℓ−1} (m × n_{ℓ−1}) and one of Δ^ℓ (mk × n_ℓ).
        let widths = architecture.widths.map(Double.init)
        let (dm, dmk) = (Double(m), Double(m * k))
        let flops = (1..<widths.count).reduce(0.0) { sum, l in
            sum + dm * (dm + 1) * widths[l - 1] + dmk * (dmk + 1) * widths[l]
        }
        recorder.time(key: "gram-exact f32 \(network.replacingOccurrences(of: ",", with: "-")) m=\(m)", section: "gram",
                      flops: flops, precision: .single, warmUp: true,
                      note: "whole \(m * k)×\(m * k) Gram: SYRKs + Hadamard accumulation + mirror") {
            _ = jacobian.gram(.exact)
        }
    }

    /// `SymmetricEigen` (values and vectors) in Float32 and Float64.
    private func measureEigen(_ kernel: Matrix<Double>, _ recorder: inout Recorder) throws {
        let n = kernel.rows
        let single = kernel.converted(to: Float.self)
        try recorder.time(key: "eigh f32 \(n)", section: "eigen", note: "ssyevd, lwork = 1 + 6n + 2n²") {
            _ = try SymmetricEigen(single)
        }
        try recorder.time(key: "eigh f64 \(n)", section: "eigen", note: "dsyevd") {
            _ = try SymmetricEigen(kernel)
        }
    }

    /// `φ_τ(K) r` for every τ: Lanczos on `v ↦ K v`, and the dense route (dsyevd, then two GEMVs per τ).
    private func measureLanczos(_ kernel: Matrix<Double>, _ rhs: [Double], _ recorder: inout Recorder) throws {
        let n = kernel.rows
        let taus = try InputLoading.parseTimes(times, flag: "--times")
        let filter = LanczosSpectralFilter(tolerance: tolerance)
        var outcome: LanczosSpectralFilter.Result?
        try recorder.time(key: "lanczos f64 \(n)", section: "lanczos",
                          iterations: { outcome?.iterations },
                          note: "τ = \(times), tolerance \(tolerance)") {
            outcome = try filter.apply({ kernel.times($0) }, to: rhs, scales: taus) { SpectralFilter.flow($0, etaT: $1) }
        }
        var dense: [[Double]] = []
        try recorder.time(key: "dense-filter f64 \(n)", section: "lanczos", note: "dsyevd + Vφ(Λ)Vᵀr for every τ") {
            let eigen = try SymmetricEigen(kernel)
            dense = taus.map { tau in eigen.apply({ SpectralFilter.flow(max($0, 0), etaT: tau) }, to: rhs) }
        }
        if let outcome {
            let worst = zip(outcome.vectors, dense).map { lanczos, exact in
                Matrix(rows: 1, columns: n, elements: lanczos).relativeDistance(to: Matrix(rows: 1, columns: n, elements: exact))
            }.max() ?? 0
            recorder.say("  Lanczos vs dense route: max relative difference \(Console.format(worst, "%.1e")) over τ = \(times)")
        }
    }

    // MARK: - Inputs

    /// `K = A Aᵀ/n + diag(0, 1/n, …, (n−1)/n)` with `A` n × n Gaussian: positive definite, eigenvalues
    /// spread over about [0, 5] without clusters (no deflation helps divide and conquer), like a generic kernel.
    private func kernelLikeMatrix(order n: Int) -> Matrix<Double> {
        var rng = PortableGaussian(seed: seed, stream: 2)
        let a = Matrix<Double>(rows: n, columns: n, elements: rng.fill(n * n))
        var k = a.rowGram(alpha: 1 / Double(n))
        for i in 0..<n { k[i, i] += Double(i) / Double(n) }
        return k
    }

    /// Writes `K` in both precisions and the right-hand side as .npy for the peer.
    private func save(_ kernel: Matrix<Double>, _ rhs: [Double], into directory: String) throws {
        let dir = URL(fileURLWithPath: directory, isDirectory: true)
        try FileManager.default.createDirectory(at: dir, withIntermediateDirectories: true)
        let n = kernel.rows
        try NumpyArray(kernel.converted(to: Float.self)).write(to: dir.appendingPathComponent("eigen-f32-\(n).npy"))
        try NumpyArray(kernel).write(to: dir.appendingPathComponent("eigen-f64-\(n).npy"))
        try NumpyArray(rhs).write(to: dir.appendingPathComponent("lanczos-rhs-\(n).npy"))
    }

    // MARK: - Parsing

    private func selectedSections() throws -> Set<Section> {
        let names = sections.split(separator: ",").map { $0.trimmingCharacters(in: .whitespaces) }
        return Set(try names.map { name in
            guard let section = Section(rawValue: name) else {
                throw ValidationError("--sections: unknown section \(name); choose from \(Section.allCases.map(\.rawValue).joined(separator: ", "))")
            }
            return section
        })
    }

    /// A comma-separated list of positive integers.
    private static func counts(_ text: String, flag: String) throws -> [Int] {
        let values = text.split(separator: ",").map { Int($0.trimmingCharacters(in: .whitespaces)) }
        guard !values.isEmpty, values.allSatisfy({ ($0 ?? 0) > 0 }) else {
            throw ValidationError("\(flag) \(text): expected positive integers separated by commas")
        }
        return values.map { $0! }
    }

    /// `f32` or `f64`, as in the measurement keys.
    private static func short<S: BLASScalar>(_: S.Type) -> String { S.dtypeName == "float32" ? "f32" : "f64" }
}

/// Times operations, prints one line per measurement and collects them for the JSON result.
private struct Recorder {
    /// Which measured peak a GFLOP/s figure is compared with.
    enum Precision { case single, double }

    let repeatCount: Int
    let json: Bool
    /// Measured GFLOP/s of sgemm and dgemm once known (fractions of peak refer to them).
    var peak: (single: Double, double: Double)?
    var measurements: [BenchLinalgCommand.Measurement] = []

    /// Runs `body` (once untimed with `warmUp`, then `repeatCount` times), records and prints the best.
    @discardableResult
    mutating func time(key: String, section: String, flops: Double? = nil, precision: Precision = .double,
                                      warmUp: Bool = false, iterations: () -> Int? = { nil }, note: String? = nil,
                                      _ body: () throws -> Void) rethrows -> BenchLinalgCommand.Measurement {
        if warmUp { try body() }
        let runs = try (0..<repeatCount).map { _ in try Console.timed(body).seconds }
        let best = runs.min()!
        let gflops = flops.map { $0 / best / 1e9 }
        let reference = precision == .single ? peak?.single : peak?.double
        let fraction = gflops.flatMap { g in reference.map { g / $0 } }
        let measurement = BenchLinalgCommand.Measurement(key: key, section: section, seconds: best, runs: runs, flops: flops,
                                                         gflops: gflops, fractionOfPeak: fraction, iterations: iterations(),
                                                         note: note)
        measurements.append(measurement)
        var line = "\(key.padding(toLength: 36, withPad: " ", startingAt: 0)) \(Console.format(best, "%9.4f")) s"
        if let gflops { line += "  \(Console.format(gflops, "%7.1f")) GFLOP/s" }
        if let fraction { line += "  \(Console.format(100 * fraction, "%5.1f"))% of peak" }
        if let count = measurement.iterations { line += "  \(count) iterations" }
        if let note { line += "  (\(note))" }
        say(line)
        return measurement
    }

    /// A human-readable line: stdout, or stderr when stdout carries the JSON.
    func say(_ line: String) {
        if json { FileHandle.standardError.write(Data((line + "\n").utf8)) } else { print(line) }
    }
}
