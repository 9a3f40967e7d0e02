import ArgumentParser
import Foundation
import NTKConfig
import NTKCore
import NTKData
import NTKReport

/// `ntk spectrum`: the kernel's spectrum and what it means for training, per refresh of recorded runs, or
/// at θ_0 of a configuration computed in this process.
struct SpectrumCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "spectrum",
        abstract: "Print the NTK Gram's spectrum diagnostics per refresh of run directories (or at θ_0 of a --config).",
        discussion: """
        Reads RUN_DIR/rounds.jsonl (written by ntk run, ntk-server or ntk fit) and prints one row per refresh:
          λ_max, λ_min     largest and smallest eigenvalue of H = ZᵀZ above the
                           solver's noise floor (ritz: Lanczos' extremes);
          λ_max/λ_min      condition number; eff. rank (Σλ)²/Σλ²;
          stable η         2/(λ_max/m + ρ): the largest learning rate for which
                           gradient descent on (1/2m)Σ‖y − f‖² + (ρ/2)‖θ − θ₀‖²
                           (linearized at the refresh) converges; λ/m are the
                           non-zero eigenvalues of the Gauss–Newton part of the
                           loss Hessian;
          slow ‖r‖²        share of ‖f(θ) − y‖² at the refresh in directions with
                           λ ≤ λ_slow = m/(ητ), τ the round's longest candidate
                           time: gradient flow removes less than 63% of it there
                           within the round (null space included);
          λ_slow (τ)       that threshold and τ.
        Runs recorded before these diagnostics show – for the last three.

        With --config FILE instead: loads every worker's data of the configuration \
        into this process (pooled standardization as the federation would do it), \
        linearizes the network at θ_0 with the configuration's kernel, solver, \
        learning rate, ridge and candidate times, and prints the same row (round 0). \
        For small data sets: the Gram is formed or Lanczos run here.
        """)

    @Argument(help: ArgumentHelp("Run directories, e.g. runs/digits-noniid.", valueName: "run-dir"))
    var runDirectories: [String] = []

    @Option(help: ArgumentHelp("A run configuration (YAML): compute the diagnostics at θ_0 centrally instead of reading runs.", valueName: "file.yaml"))
    var config: String?

    @Flag(help: "Print a JSON array of rows (fields as in rounds.jsonl's spectrum, plus run, round, largest, smallest).")
    var json = false

    func validate() throws {
        if config != nil && !runDirectories.isEmpty { throw ValidationError("give run directories or --config, not both") }
        if config == nil && runDirectories.isEmpty { throw ValidationError("give at least one run directory, or --config FILE") }
        for directory in runDirectories {
            var isDirectory: ObjCBool = false
            guard FileManager.default.fileExists(atPath: directory, isDirectory: &isDirectory), isDirectory.boolValue else {
                throw ValidationError("\(directory): not a directory")
            }
        }
    }

    func run() throws {
        let rows: [SpectrumRow]
        if let config {
            rows = [try Self.central(URL(fileURLWithPath: config))]
        } else {
            let runs: [RunHistory]
            do { runs = try runDirectories.map { try RunHistory.load(URL(fileURLWithPath: $0)) } } catch let error as RunHistoryError {
                throw ValidationError(error.description)
            }
            rows = runs.flatMap(SpectrumTable.rows)
            for run in runs where SpectrumTable.rows(run).isEmpty {
                log.warning("\(run.name): no refresh recorded a spectrum (\(run.strategy.isBaseline ? "\(run.strategy.rawValue) computes no kernel" : "cross-entropy, or an old run"))")
            }
        }
        print(json ? try SpectrumTable.json(rows) : SpectrumTable.text(rows))
    }

    /// The first refresh of `url`'s run, done here: all workers' samples, θ_0, the configured linearization.
    static func central(_ url: URL) throws -> SpectrumRow {
        let config: RunConfiguration
        do { config = try RunConfiguration.load(url) } catch { throw ValidationError("\(url.path): \(error)") }
        if let local = config.localTraining { throw ValidationError("\(url.path) configures the \(local.resolvedMethod.rawValue) baseline, which computes no kernel") }
        let federated = config.workers.first?.data.standardization == .federated
        // Federated standardization: pool the workers' raw statistics in configuration order, as the server does.
        let raw = try config.workers.map { try $0.data.load(scaling: federated ? FeatureScaling() : nil) }
        var inputs = raw.map(\.inputs)
        if federated {
            let pooled = try FeatureStatistics.merge(inputs.map { FeatureStatistics($0) }).standardization()
            for (i, worker) in config.workers.enumerated() {
                let map = FeatureScaling(offset: pooled.offset, divisor: pooled.divisor, scale: worker.data.featureScale)
                try map.apply(to: &inputs[i], path: worker.data.file)
            }
        }
        // A hypernetwork's rows are [x, z]: each worker's client features first, as its worker prepends them.
        for (i, worker) in config.workers.enumerated() {
            guard let features = worker.clientFeatures else { continue }
            let z = inputs[i], d = z.columns
            inputs[i] = Matrix(rows: z.rows, columns: features.count + d,
                               elements: (0..<z.rows).flatMap { r in features + z.elements[(r * d)..<((r + 1) * d)] })
        }
        let model = config.model, k = model.outputCount
        let x = Matrix<Float>(rows: inputs.reduce(0) { $0 + $1.rows }, columns: model.inputDimension,
                              elements: inputs.flatMap { $0.elements.map(Float.init) })
        let y = Matrix<Double>(rows: x.rows, columns: k, elements: raw.flatMap(\.targets.elements))
        var options = config.linearization
        if options.loss != .mse {
            log.notice("the diagnostics are those of the square loss; \(url.lastPathComponent) trains \(options.loss.rawValue)")
            options.loss = .mse
        }
        log.info("\(model), θ_0 from seed \(config.seed); m = \(x.rows) samples of \(config.workers.count) workers, k = \(k)")
        let theta: [Float] = try model.initialParameters(seed: config.seed)
        var training = try LinearizedTraining(initialParameters: theta, jacobian: model.jacobian(x, parameters: theta), targets: y, options: options)
        let (_, seconds) = try Console.timed { try training.solve(times: config.timeCandidates) }
        log.info("\(training.report) (\(Console.format(seconds, "%.2f")) s)")
        guard let spectrum = training.spectrum else { throw ValidationError("the solver recorded no spectrum") }
        return SpectrumRow(run: config.runID, round: 0, spectrum: spectrum)
    }
}
