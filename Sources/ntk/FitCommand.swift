import ArgumentParser
import Foundation
import NTKCore
import NTKData

/// `ntk fit`: the federated NTK method's rounds, run in one process on a bundled data set.
///
/// Each round is what the server of NTK-FL does once the workers' Jacobians have arrived:
/// linearize the network at the current θ, integrate the linearized training in closed form for a
/// whole grid of times at once, and keep the time whose weights θ_t make the *real* (nonlinear)
/// network's training loss lowest. The next round re-linearizes at the chosen θ_t.
struct FitCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "fit",
        abstract: "Single-process preview of federated NTK training (NTK-FL rounds) on a labelled CSV, by default the bundled digits.",
        discussion: """
        Data: a CSV of numeric features with the class index (0…k−1) in the \
        last column. Features are divided by --feature-scale (digits: pixel \
        counts 0…16), labels made one-hot, and a seeded stratified split keeps \
        --train-fraction of every class for training, the rest for testing.

        Each round linearizes the network at the current θ (exact mk × mk \
        kernel; solver auto uses Lanczos above 4000 Gram rows), solves gradient \
        flow on (1/2m) Σ‖y − u‖² in closed form for every candidate t of \
        --times, keeps the θ_t that gives the LOWEST TRAINING LOSS OF THE REAL \
        (NONLINEAR) NETWORK — NTK-FL's selection rule — and sets θ ← θ_t. \
        Printed losses and accuracies are those of the real network.

        Model defaults: --widths 64-512-512-10, relu, ntk parametrization, \
        β = 0.1, float32 Jacobians.

        Files written to --output-dir:
          weights.npz   the final θ, in the --weights layout;
          rounds.jsonl  one JSON object per round: chosen time, losses,
                        accuracies, seconds per phase, every candidate.
        """)

    /// The demo's network when `--widths` is not given.
    static let defaultWidths = [64, 512, 512, 10]

    @Option(help: ArgumentHelp("Labelled CSV: features, then the class index in the last column; no header unless --header.", valueName: "file.csv"))
    var data: String = "data/digits.csv"

    @Flag(help: "The CSV starts with a header line (skipped).")
    var header = false

    @Option(name: .customLong("feature-scale"), help: ArgumentHelp("Every feature is divided by this (> 0); digits pixels are 0…16.", valueName: "s"))
    var featureScale: Double = 16

    @Option(name: .customLong("train-fraction"), help: ArgumentHelp("Fraction of each class used for training, in (0, 1); the rest is the test set.", valueName: "f"))
    var trainFraction: Double = 0.8

    @Option(name: .customLong("split-seed"), help: ArgumentHelp("Seed of the stratified train/test split.", valueName: "N"))
    var splitSeed: UInt64 = 0

    @OptionGroup(title: "Model (default widths 64-512-512-10)") var model: ModelOptions

    @Option(help: ArgumentHelp("Number of rounds (re-linearizations), ≥ 1.", valueName: "R"))
    var rounds: Int = 3

    @Option(name: .customLong("learning-rate"), help: ArgumentHelp("η > 0 of the gradient flow (only ηt matters).", valueName: "η"))
    var learningRate: Double = 1

    @Option(help: ArgumentHelp(
        "Candidate times t, comma-separated (default: 9 values log-spaced from 1e1 to 1e5). Scale: direction μ of H/m is learned by ηt ≈ 1/μ; for the default network on digits μ spans about 2e-6…0.2, and rounds pick t ≈ 3e4…1e5.",
        valueName: "t1,t2,..."))
    var times: String?

    @Option(help: ArgumentHelp("exact (default) or averaged (m × m; an approximation that plateaus lower, DESIGN.md §1).", valueName: "exact|averaged"))
    var kind: KernelKind = .exact

    @Option(help: ArgumentHelp("auto, eigen (forms the Gram) or lanczos (exact kernel only).", valueName: "auto|eigen|lanczos"))
    var solver: KernelSolver = .auto

    @Option(help: ArgumentHelp("Relative tolerance of Lanczos, in (0, 1).", valueName: "tol"))
    var tolerance: Double = 1e-6

    @Option(name: .customLong("output-dir"), help: ArgumentHelp("Where weights.npz and rounds.jsonl go (created if needed).", valueName: "dir"))
    var outputDir: String = "runs/fit-digits"

    func validate() throws {
        guard rounds >= 1 else { throw ValidationError("--rounds must be ≥ 1, got \(rounds)") }
        guard learningRate > 0, learningRate.isFinite else { throw ValidationError("--learning-rate must be a finite number > 0, got \(learningRate)") }
        guard featureScale > 0, featureScale.isFinite else { throw ValidationError("--feature-scale must be a finite number > 0, got \(featureScale)") }
        guard trainFraction > 0, trainFraction < 1 else { throw ValidationError("--train-fraction must be in (0, 1), got \(trainFraction)") }
        guard tolerance > 0, tolerance < 1 else { throw ValidationError("--tolerance must be in (0, 1), got \(tolerance)") }
        if solver == .lanczos && kind == .outputAveraged {
            throw ValidationError("--solver lanczos works on the exact kernel only; use --solver eigen (or auto) with --kind averaged")
        }
        if let times { _ = try InputLoading.parseTimes(times, flag: "--times") }
    }

    func run() throws {
        let spec = try model.spec(defaultWidths: Self.defaultWidths)
        switch spec.precision {
        case .float32: try run(spec, Float.self)
        case .float64: try run(spec, Double.self)
        }
    }

    /// What one round leaves in rounds.jsonl.
    struct RoundRecord: Codable {
        struct Candidate: Codable {
            let time: Double
            /// Training loss of the linearized network at θ_t (what the closed form predicts).
            let linearizedTrainLoss: Double
            /// Training loss of the real network at θ_t (what the selection uses).
            let trainLoss: Double
        }
        let round: Int
        let chosenTime: Double
        let trainLoss: Double
        let trainAccuracy: Double
        let testLoss: Double
        let testAccuracy: Double
        let seconds: Double
        /// Seconds per phase: Jacobian factors, solver (Gram/Lanczos), candidate selection, test evaluation.
        let phaseSeconds: [String: Double]
        let solver: String
        let candidates: [Candidate]
    }

    private func run<S: BLASScalar>(_ spec: ModelSpec, _: S.Type) throws {
        let arch = spec.architecture, k = arch.outputCount
        let candidates = try times.map { try InputLoading.parseTimes($0, flag: "--times") }
            ?? InputLoading.logGrid(from: 1e1, to: 1e5, count: 9)
        let directory = try InputLoading.outputDirectory(outputDir, flag: "--output-dir")
        let (train, test) = try loadData(features: arch.inputDimension, classes: k, as: S.self)

        var options = LinearizationOptions()
        options.loss = .mse
        options.kernel = kind
        options.solver = solver
        options.learningRate = learningRate
        options.tolerance = tolerance

        print("data: \(data), \(train.inputs.rows) training and \(test.inputs.rows) test samples, k = \(k) classes")
        print("model: \(spec.summary)")
        print("candidate times: \(candidates.map { Console.format($0, "%.3g") }.joined(separator: ", ")) (η = \(learningRate))")
        if kind == .outputAveraged {
            print("kernel: output-averaged m × m — an APPROXIMATION of the exact mk × mk kernel")
        }

        var network = try spec.network(S.self)
        let widths = [5, 10, 11, 10, 9, 8]
        print(Console.row(["round", "chosen t", "train loss", "train acc", "test acc", "seconds"], widths: widths))
        let start = try evaluate(network, on: train)
        let startTest = try evaluate(network, on: test)
        print(Console.row(["0", "-", Console.format(start.loss, "%.5f"), Console.percent(start.accuracy),
                           Console.percent(startTest.accuracy), "-"], widths: widths))

        var records: [RoundRecord] = []
        var bestTestAccuracy = startTest.accuracy
        let (_, totalSeconds) = try Console.timed {
            for round in 1...rounds {
                let record = try self.round(round, network: &network, train: train, test: test,
                                            candidates: candidates, options: options)
                records.append(record)
                bestTestAccuracy = max(bestTestAccuracy, record.testAccuracy)
                print(Console.row([String(round), Console.format(record.chosenTime, "%.4g"), Console.format(record.trainLoss, "%.5f"),
                                   Console.percent(record.trainAccuracy), Console.percent(record.testAccuracy),
                                   Console.format(record.seconds, "%.2f")], widths: widths))
                print("       solver: \(record.solver); phases: " + ["jacobian", "solve", "selection", "test"]
                    .map { "\($0) \(Console.format(record.phaseSeconds[$0] ?? 0, "%.2f")) s" }.joined(separator: ", "))
            }
        }

        try InputLoading.write(directory.appendingPathComponent("weights.npz")) { try network.parameters.archive.write(to: $0) }
        let lines = try records.map { try Console.jsonLine($0) }.joined(separator: "\n") + "\n"
        try InputLoading.write(directory.appendingPathComponent("rounds.jsonl")) {
            try lines.write(to: $0, atomically: true, encoding: .utf8)
        }
        let final = records.last!
        print("summary: final test accuracy \(Console.percent(final.testAccuracy)), best \(Console.percent(bestTestAccuracy)), final train loss \(Console.format(final.trainLoss, "%.5f")), \(rounds) rounds in \(Console.format(totalSeconds, "%.1f")) s (OpenBLAS \(BLASRuntime.coreName), \(BLASRuntime.threadCount) threads)")
        print("wrote \(directory.appendingPathComponent("weights.npz").path) and rounds.jsonl")
    }

    /// One NTK-FL round: linearize at θ, solve for every candidate time, keep the best real network.
    private func round<S: BLASScalar>(_ round: Int, network: inout MLP<S>, train: LabeledSet<S>, test: LabeledSet<S>,
                                      candidates: [Double], options: LinearizationOptions) throws -> RoundRecord {
        let k = network.architecture.outputCount
        let clock = ContinuousClock()
        let roundStart = clock.now

        // 1. The Jacobian factors at the current θ (what the workers would send).
        var (training, jacobianSeconds) = try Console.timed {
            try LinearizedTraining(network: network, inputs: train.inputs, targets: train.targets, options: options)
        }
        // 2. The closed form for every candidate t at once.
        let (solutions, solveSeconds) = try Console.timed { try training.solve(times: candidates) }
        log.debug("round \(round): \(training.report)")

        // 3. Selection: the real network at each θ_t on the training set; the lowest loss wins.
        var evaluated: [RoundRecord.Candidate] = []
        var chosen: (time: Double, network: MLP<S>, train: Evaluation)? = nil
        let selectionSeconds = try Console.timed {
            for solution in solutions {
                let candidate = try MLP(architecture: network.architecture, parameters: network.parameters.reshaping(training.parameters(solution.coefficients)))
                let real = try evaluate(candidate, on: train)
                let linear = Evaluation(outputs: solution.trainOutputs, targets: train.targets.elements, outputCount: k, loss: .mse)
                evaluated.append(.init(time: solution.time, linearizedTrainLoss: linear.loss, trainLoss: real.loss))
                log.debug("round \(round): t = \(solution.time): train loss linearized \(linear.loss), real \(real.loss)")
                // A diverged candidate (loss NaN or ∞) never wins.
                if real.loss.isFinite, real.loss < chosen?.train.loss ?? .infinity {
                    chosen = (solution.time, candidate, real)
                }
            }
        }.seconds
        guard let chosen else {
            throw InputError("round \(round): every candidate time gives a non-finite training loss; try smaller --times or --learning-rate")
        }
        network = chosen.network

        // 4. Test accuracy of the chosen network (reported, never used for a decision).
        let (testEvaluation, testSeconds) = try Console.timed { try evaluate(network, on: test) }
        return RoundRecord(
            round: round, chosenTime: chosen.time,
            trainLoss: chosen.train.loss, trainAccuracy: chosen.train.accuracy,
            testLoss: testEvaluation.loss, testAccuracy: testEvaluation.accuracy,
            seconds: Console.seconds(clock.now - roundStart),
            phaseSeconds: ["jacobian": jacobianSeconds, "solve": solveSeconds, "selection": selectionSeconds, "test": testSeconds],
            solver: training.report, candidates: evaluated)
    }

    /// One side of the split: inputs (m × n_0, in the network's precision) and one-hot targets (m × k).
    struct LabeledSet<S: BLASScalar> {
        let inputs: Matrix<S>
        let targets: Matrix<Double>
    }

    /// Mean square loss `(1/2m) Σ‖y − f(x)‖²` and accuracy of the real network.
    private func evaluate<S: BLASScalar>(_ network: MLP<S>, on set: LabeledSet<S>) throws -> Evaluation {
        let outputs = try network(set.inputs)
        return Evaluation(outputs: outputs.elements.map { Double($0) }, targets: set.targets.elements,
                          outputCount: network.architecture.outputCount, loss: .mse)
    }

    /// Reads the CSV, scales the features, one-hot encodes the labels, and splits by class.
    private func loadData<S: BLASScalar>(features: Int, classes: Int, as _: S.Type) throws -> (train: LabeledSet<S>, test: LabeledSet<S>) {
        guard FileManager.default.fileExists(atPath: data) else {
            throw InputError("--data \(data): no such file (run from the repository root, or pass --data)")
        }
        var table: LabeledTable
        do { table = try LabeledTable(csv: URL(fileURLWithPath: data), skipHeader: header) } catch {
            throw InputError("--data: \(error)")  // the message names the file, line and column
        }
        guard table.features.columns == features else {
            throw InputError("--data \(data): \(table.features.columns) features per row, but the network's input width n_0 is \(features)")
        }
        for (row, label) in table.labels.enumerated() {
            guard let c = Int(exactly: label), (0..<classes).contains(c) else {
                throw InputError("--data \(data), data row \(row + 1): label \(label) is not a class index in 0…\(classes - 1) (the network has k = \(classes) outputs)")
            }
        }
        for i in table.features.elements.indices { table.features.elements[i] /= featureScale }
        let (trainRows, testRows) = stratifiedSplit(labels: table.labels, trainFraction: trainFraction, seed: splitSeed)
        guard !trainRows.isEmpty, !testRows.isEmpty else {
            throw InputError("--data \(data): the split left no \(trainRows.isEmpty ? "training" : "test") samples; change --train-fraction")
        }
        func side(_ rows: [Int]) throws -> LabeledSet<S> {
            let part = table.subset(rows)
            return LabeledSet(inputs: part.features.converted(to: S.self), targets: try part.oneHot(classCount: classes))
        }
        return (try side(trainRows), try side(testRows))
    }
}
