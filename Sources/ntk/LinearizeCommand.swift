import ArgumentParser
import Foundation
import NTKCore

/// `ntk linearize`: train the linearized network in closed form and report it at several times.
struct LinearizeCommand: PrecisionGenericCommand {
    static let configuration = CommandConfiguration(
        commandName: "linearize",
        abstract: "Train the network linearized at θ_0 in closed form (or by ODE for cross-entropy) and write predictions and weights at each time.",
        discussion: """
        The linearized model f_lin(x; θ) = f(x; θ_0) + ∇_θf(x; θ_0)ᵀ(θ − θ_0) \
        is trained on
          L(θ) = (1/2m) Σ_i ‖y_i − f_lin(x_i; θ)‖² + (ρ/2)‖θ − θ_0‖²
        (--loss xent: mean softmax cross-entropy instead of the square loss) \
        by gradient flow θ̇ = −η∇L, t continuous, or with --gd by gradient \
        descent θ ← θ − η∇L, t counting steps. Every solution is \
        θ_t = θ_0 + Z β_t, and one eigendecomposition (or one Lanczos run) \
        serves all times.

        Files written to --output-dir (T = number of --times):
          predictions.npz  times (T,); train_t (T, m·k): row s is f_lin on the
                           training inputs at times[s], sample-major (entry
                           i·k + a is sample i, output a); test_t
                           (T, m_test·k) likewise on --test-inputs. float64.
          theta_t<s>.npz   θ at times[s], s = 0…T−1, in the --weights layout:
                           W1…WL (n_ℓ, n_ℓ₋₁) and b1…bL (n_ℓ,).
        """)

    @OptionGroup(title: "Model") var model: ModelOptions

    @Option(name: .customLong("train-inputs"), help: ArgumentHelp("Training inputs: m × n_0 (.npy or .csv).", valueName: "file"))
    var trainInputs: String

    @Option(name: .customLong("train-labels"), help: ArgumentHelp(
        "Training labels: m class indices (1-D .npy or a one-column .csv; made one-hot) or an m × k matrix of targets.",
        valueName: "file"))
    var trainLabels: String

    @Option(name: .customLong("test-inputs"), help: ArgumentHelp("Test inputs: m_test × n_0, predicted with the same linearized model.", valueName: "file"))
    var testInputs: String?

    @Option(name: .customLong("test-labels"), help: ArgumentHelp("Test labels, same format as --train-labels (needs --test-inputs).", valueName: "file"))
    var testLabels: String?

    @Option(help: ArgumentHelp("Number of classes for class-index labels (default: the network's k outputs; must equal k).", valueName: "k"))
    var classes: Int?

    @Option(help: ArgumentHelp("mse (closed form) or xent (softmax cross-entropy, ODE integration; gradient flow only).", valueName: "mse|xent"))
    var loss: LossFunction = .mse

    @Option(name: .customLong("learning-rate"), help: ArgumentHelp("η > 0: the time scale of the flow, or the step size with --gd.", valueName: "η"))
    var learningRate: Double = 1

    @Option(help: ArgumentHelp("Comma-separated times t ≥ 0 at which to report (step counts with --gd), e.g. 0,1,10,100.", valueName: "t1,t2,..."))
    var times: String = "0,1,10,100"

    @Option(help: ArgumentHelp("ρ ≥ 0: weight decay toward θ_0, (ρ/2)‖θ − θ_0‖².", valueName: "ρ"))
    var ridge: Double = 0

    @Flag(help: "Discrete gradient descent (t counts steps; needs η < 2/μ_max, μ = λ(H)/m + ρ) instead of gradient flow.")
    var gd = false

    @Option(help: ArgumentHelp("exact (mk × mk Gram, default) or averaged (m × m, an approximation at finite width).", valueName: "exact|averaged"))
    var kind: KernelKind = .exact

    @Option(help: ArgumentHelp("auto (dense eigendecomposition up to 4000 Gram rows, Lanczos above), eigen, or lanczos (exact kernel only; never forms H).", valueName: "auto|eigen|lanczos"))
    var solver: KernelSolver = .auto

    @Option(help: ArgumentHelp("Relative tolerance of Lanczos and of the cross-entropy ODE, in (0, 1).", valueName: "tol"))
    var tolerance: Double = 1e-8

    @Option(name: .customLong("output-dir"), help: ArgumentHelp("Directory for predictions.npz and theta_t<s>.npz (created if needed).", valueName: "dir"))
    var outputDir: String

    @OptionGroup(title: "Data files") var csv: CSVOptions

    func validate() throws {
        guard model.describesShape else { throw ValidationError("give the network's shape with --widths (e.g. 64-512-512-10) or a --weights file") }
        guard learningRate > 0, learningRate.isFinite else { throw ValidationError("--learning-rate must be a finite number > 0, got \(learningRate)") }
        guard ridge >= 0, ridge.isFinite else { throw ValidationError("--ridge must be a finite number ≥ 0, got \(ridge)") }
        guard tolerance > 0, tolerance < 1 else { throw ValidationError("--tolerance must be in (0, 1), got \(tolerance)") }
        if let classes, classes < 1 { throw ValidationError("--classes must be ≥ 1, got \(classes)") }
        if testLabels != nil && testInputs == nil { throw ValidationError("--test-labels needs --test-inputs") }
        if gd && loss == .crossEntropy { throw ValidationError("--gd works with --loss mse only (cross-entropy is integrated as gradient flow)") }
        if solver == .lanczos && kind == .outputAveraged {
            throw ValidationError("--solver lanczos works on the exact kernel only; use --solver eigen (or auto) with --kind averaged")
        }
        _ = try InputLoading.parseTimes(times, flag: "--times", integers: gd)
    }

    func run<S: BLASScalar>(_ spec: ModelSpec, _: S.Type) throws {
        let arch = spec.architecture, k = arch.outputCount
        let timeList = try InputLoading.parseTimes(times, flag: "--times", integers: gd)
        let directory = try InputLoading.outputDirectory(outputDir, flag: "--output-dir")

        // Data.
        let xTrain = try InputLoading.readInputs(path: trainInputs, flag: "--train-inputs", header: csv.header, features: arch.inputDimension)
        let yTrain = try InputLoading.readTargets(path: trainLabels, flag: "--train-labels", header: csv.header,
                                                  samples: xTrain.rows, outputs: k, classes: classes)
        let xTest = try testInputs.map {
            try InputLoading.readInputs(path: $0, flag: "--test-inputs", header: csv.header, features: arch.inputDimension)
        }
        let yTest = try testLabels.map {
            try InputLoading.readTargets(path: $0, flag: "--test-labels", header: csv.header, samples: xTest!.rows, outputs: k, classes: classes)
        }
        let m = xTrain.rows
        var options = LinearizationOptions()
        options.loss = loss
        options.kernel = kind
        options.solver = solver
        options.flow = gd ? .gradientDescent : .gradientFlow
        options.learningRate = learningRate
        options.ridge = ridge
        options.tolerance = tolerance
        let gramRows = kind == .exact ? m * k : m
        let plan = options.plan(widths: arch.widths, sampleCount: m)
        log.info("solver: \(plan.reason)")
        if plan.method == .dense { try KernelCommand.checkFits(rows: gramRows, columns: gramRows, what: "the Gram H") }
        if kind == .outputAveraged {
            log.warning("--kind averaged: the m × m output-averaged kernel is an APPROXIMATION of the exact mk × mk one at finite width")
        }
        log.info("\(spec.summary); m = \(m) training samples, k = \(k) outputs")

        // Linearize at θ_0 and solve for every time at once.
        let network = try spec.network(S.self)
        var training = try LinearizedTraining(network: network, inputs: xTrain.converted(to: S.self),
                                              targets: yTrain, options: options)
        let (solutions, solveSeconds) = try Console.timed { try training.solve(times: timeList) }
        let testJacobian = try xTest.map { try FactoredJacobian(network: network, inputs: $0.converted(to: S.self)) }
        let testOutputs = testJacobian.map { z in solutions.map { training.predict(z, $0.coefficients) } }

        // Table.
        let widths = [12, 12, 10, 12, 10]
        print(Console.row(["t", "train loss", "train acc", "test loss", "test acc"], widths: widths))
        for (s, solution) in solutions.enumerated() {
            let train = Evaluation(outputs: solution.trainOutputs, targets: yTrain.elements, outputCount: k, loss: loss)
            var cells = [Console.format(solution.time, "%.6g"), Console.format(train.loss, "%.6g"), Console.percent(train.accuracy)]
            if let yTest, let outputs = testOutputs?[s] {
                let test = Evaluation(outputs: outputs, targets: yTest.elements, outputCount: k, loss: loss)
                cells += [Console.format(test.loss, "%.6g"), Console.percent(test.accuracy)]
            } else {
                cells += ["-", "-"]
            }
            print(Console.row(cells, widths: widths))
        }
        print("solver: \(training.report) (\(Console.format(solveSeconds, "%.3f")) s)")
        print("loss \(loss == .mse ? "(1/2m)Σ‖y−u‖²" : "mean cross-entropy") of the linearized network; accuracy = arg-max output vs arg-max target")

        // Files.
        let T = solutions.count
        var arrays: [String: NumpyArray] = [
            "times": NumpyArray(timeList),
            "train_t": NumpyArray(Matrix(rows: T, columns: m * k, elements: solutions.flatMap(\.trainOutputs))),
        ]
        if let testOutputs, let xTest {
            arrays["test_t"] = NumpyArray(Matrix(rows: T, columns: xTest.rows * k, elements: testOutputs.flatMap { $0 }))
        }
        try InputLoading.write(directory.appendingPathComponent("predictions.npz")) { try NumpyArchive(arrays: arrays).write(to: $0) }
        for (s, solution) in solutions.enumerated() {
            let theta = network.parameters.reshaping(training.parameters(solution.coefficients))
            try InputLoading.write(directory.appendingPathComponent("theta_t\(s).npz")) { try theta.archive.write(to: $0) }
        }
        print("wrote \(directory.appendingPathComponent("predictions.npz").path) and theta_t0…theta_t\(T - 1).npz")
    }
}
