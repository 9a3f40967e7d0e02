import Foundation
import NTKConfig
import NTKCore
import NTKWire

/// One federated round, as the server runs it:
///
/// 1. broadcast θ and the round's instructions (refresh or not);
/// 2. at a refresh, collect every worker's block, assembling the Gram as blocks arrive, and re-linearize;
/// 3. integrate the linearized dynamics for every candidate time `t` at once;
/// 4. choose `t` (by default: the lowest training loss of the real network, reported by the workers);
/// 5. update θ, evaluate, checkpoint, log.
extension FederatedServer {
    func runRound(_ round: Int) throws {
        let started = ContinuousClock.now
        var record = beginRound(round)
        let workers = participants(round, record: &record)
        let refresh = kernel == nil || planner.needsRefresh(round: round, schedule: config.refresh)
        record.refreshed = refresh

        // 1. θ and instructions to the round's clients.
        broadcast(try RoundStart(theta: parameters, model: config.model, refresh: refresh, evaluate: true,
                                 blockFormat: config.server.blockFormat, blockDType: config.server.blockDType), to: workers, round: round)

        // 2. New blocks, new kernel.
        if refresh { try relinearize(round: round, workers: workers, record: &record) }
        record.workers = kernelWorkers

        // 3. Every candidate time from one decomposition (or one Krylov basis).
        var solutions: [LinearizedTraining<Float>.Solution] = []
        try timed(&record.seconds.solve) {
            solutions = try kernel!.solve(times: candidateTimes, from: beta)
        }
        record.solver = kernel!.report
        if refresh { record.spectrum = kernel!.spectrum }

        // 4. Choose t; the workers' loss sums also give the real network's training metrics.
        let searchStarted = ContinuousClock.now
        // At a refresh, only the workers whose blocks arrived are asked: a worker that missed the block
        // deadline is not waited for a second time, and shards outside the kernel do not steer t.
        let choice = try chooseTime(solutions, round: round, workers: refresh ? kernelWorkers : workers, record: &record)
        record.seconds.timeSearch = (ContinuousClock.now - searchStarted).seconds

        // 5. Update, evaluate, checkpoint, log.
        timed(&record.seconds.update) {
            parameters = kernel!.parameters(choice.coefficients)
            beta = choice.coefficients
        }
        record.time = choice.time
        let evaluationStarted = ContinuousClock.now
        try evaluate(&record)
        record.seconds.evaluation = (ContinuousClock.now - evaluationStarted).seconds
        planner.recordRefresh(round: round, drift: record.kernelDrift, schedule: config.refresh, refreshed: refresh)
        try finishRound(&record, started: started)
    }

    /// A fresh record, byte counters and held-out reports for a round.
    func beginRound(_ round: Int) -> RoundRecord {
        mailbox.resetCounters()
        heldOutReports = [:]
        return RoundRecord(round: round)
    }

    /// The clients of the round: every registered one, or the seeded sample under partial participation
    /// (recorded, with the server's memory so far).
    func participants(_ round: Int, record: inout RoundRecord) -> [String] {
        let all = registry.ordered.map(\.name)
        guard config.server.participation != nil else { return all }
        let sampled = ClientSampling(config.server.participation).participants(round: round, among: all)
        record.sampled = sampled
        return sampled
    }

    /// Sends the round's θ and instructions to its clients (kept to re-send to those that rejoin).
    func broadcast(_ start: RoundStart, to clients: [String], round: Int) {
        var start = start
        start.body.featureStandardization = featureStandardization
        currentRoundStart = (round, start, clients)
        for worker in registry.ordered where clients.contains(worker.name) {
            do { try mailbox.send(start, to: worker.peer, workerID: worker.id, round: round) } catch {
                log.warning("round \(round): could not reach \(worker.name): \(error)")
            }
        }
    }

    /// The end of every round: bytes moved, the checkpoint (carrying the record), `rounds.jsonl`, the log line.
    func finishRound(_ record: inout RoundRecord, started: ContinuousClock.Instant) throws {
        let round = record.round
        record.bytesReceived = Dictionary(uniqueKeysWithValues: mailbox.bytesReceived.compactMap { peer, bytes in
            registry.worker(for: peer).map { ($0.name, bytes) }
        })
        record.bytesSent = mailbox.bytesSent
        record.peakMemoryMB = ProcessMemory.peakResidentMB()
        var checkpoint = Checkpoint(round: round, runID: config.runID, configHash: config.hash, refresh: planner, parameters: parameters,
                                    model: config.model)
        checkpoint.featureStandardization = featureStandardization
        checkpoint.serverControl = serverControl?.values
        // The round's rounds.jsonl line is appended after the checkpoint; the checkpoint carries it as well, so
        // that a server killed in between writes it when it resumes (without the checkpoint's own seconds).
        record.totalSeconds = (ContinuousClock.now - started).seconds
        record.finishedAt = ISO8601DateFormatter.withFractionalSeconds.string(from: Date())
        checkpoint.record = record
        try timed(&record.seconds.checkpoint) { try checkpoint.write(to: checkpointURL) }
        currentRoundStart = nil
        currentCandidates = nil
        record.totalSeconds = (ContinuousClock.now - started).seconds
        try append(record)
        log.info("\(record.summary)")
    }

    /// The candidate times of a round: the grid, or the fixed `t`.
    var candidateTimes: [Double] {
        if case .fixed(let t) = config.timeSelection { return [t] }
        return config.timeCandidates
    }

    /// Collects the blocks at the current θ and builds the new linearization from them.
    func relinearize(round: Int, workers: [String], record: inout RoundRecord) throws {
        let model = config.model, k = model.outputCount
        // The last kernel is kept only to measure the drift on the same clients; for other clients (partial
        // participation) it is released before the new blocks arrive: the server holds one round's blocks.
        let lastIterations = kernel?.lanczosIterations
        if kernelWorkers != workers { kernel = nil }
        var blocks: [String: any JacobianOperator<Float>] = [:]
        var targets: [String: Matrix<Float>] = [:]
        // The dense path assembles the Gram while the other blocks are still on their way.
        let sizes = workers.map { registry.workers[$0]!.info.sampleCount }
        let plan = config.linearization.plan(parameterCount: model.parameterCount,
                                             gramDepth: model.gramDepth(factored: config.server.blockFormat == .factored), outputCount: k,
                                             sampleCount: sizes.reduce(0, +), lanczosIterations: lastIterations ?? 60)
        record.solverPlan = plan.reason
        let dense = plan.method == .dense
        var options = config.linearization
        options.solver = dense ? .eigen : .lanczos   // the plan is made once, here, for both the server and the solver
        var assembler = dense ? GramAssembler<Float>(partSizes: sizes, outputCount: k, kind: config.linearization.kernel) : nil
        let blocksStarted = ContinuousClock.now
        var gramSeconds = 0.0
        var intake = BlockIntake(model: model, memoryLimit: options.memoryBudget / 2,
                                 spillDirectory: outputDirectory.appendingPathComponent("spill"))
        let arrived = try collect(.block, round: round, from: workers) { name, message in
            let block = try message.payload(Block.self)
            let (jacobian, y) = try intake.accept(block, keptInputs: keptInputs[name])
            let announced = registry.workers[name]!.info.sampleCount
            guard jacobian.sampleCount == announced else {
                throw WireError.invalidPayload("block has \(jacobian.sampleCount) samples, \(name) registered \(announced)")
            }
            // A client's inputs never change in a run: kept once, its later blocks leave them out.
            if config.server.keepInputs, let factored = jacobian as? FactoredJacobian<Float> { keptInputs[name] = factored.layerInputs[0] }
            blocks[name] = jacobian
            targets[name] = y
            record.seconds.workerCompute = max(record.seconds.workerCompute, block.body.computeSeconds ?? 0)
            if assembler != nil {
                let t0 = ContinuousClock.now
                assembler!.add(jacobian, at: workers.firstIndex(of: name)!)
                gramSeconds += (ContinuousClock.now - t0).seconds
            }
        }
        record.seconds.blocks = (ContinuousClock.now - blocksStarted).seconds
        if let note = intake.note { record.solverPlan = [record.solverPlan, note].compactMap { $0 }.joined(separator: "; ") }
        record.seconds.transfer = max(0, record.seconds.blocks - record.seconds.workerCompute)
        record.seconds.gram = gramSeconds
        guard !arrived.isEmpty else { throw ServerError.noBlocks("round \(round): no worker delivered a block") }
        record.missingWorkers = workers.filter { !arrived.contains($0) }

        let union = try JacobianUnion(arrived.map { blocks[$0]! })
        let y = Matrix<Double>(rows: union.sampleCount, columns: k, elements: arrived.flatMap { targets[$0]!.elements.map(Double.init) })
        if let old = kernel, kernelWorkers == arrived {
            (record.kernelDrift, record.kernelDriftMethod) = timed(&record.seconds.drift) {
                measureDrift(new: union, newGram: assembler?.gram, old: old)
            }
        }
        // A Gram assembled without the missing workers' rows is incomplete: the solver forms it from the union.
        let gram = assembler?.isComplete == true ? assembler!.gram!.converted(to: Double.self) : nil
        kernel = try LinearizedTraining(initialParameters: parameters, jacobian: union, targets: y, options: options, gram: gram)
        kernelWorkers = arrived
        beta = nil
    }

    /// `‖H_new − H_old‖/‖H_old‖` between two kernels of the same samples: exact when both Grams are dense, else a
    /// Hutchinson estimate (16 probes when the adaptive schedule decides on it, 4 when it is only a diagnostic: ±~20%).
    func measureDrift(new union: JacobianUnion<Float>, newGram: Matrix<Float>?, old: LinearizedTraining<Float>) -> (Double?, String) {
        if let oldGram = old.denseGram, let newGram {
            return (KernelDrift.exact(new: newGram.converted(to: Double.self), old: oldGram), "exact")
        }
        var probes = 4
        if case .adaptive = config.refresh { probes = 16 }
        return (KernelDrift.estimate(new: union, old: old.jacobian, probes: probes), "hutchinson-\(probes)")
    }

    /// Applies the time-selection rule; asks the workers for the real network's loss on their shards.
    func chooseTime(_ solutions: [LinearizedTraining<Float>.Solution], round: Int, workers: [String],
                    record: inout RoundRecord) throws -> LinearizedTraining<Float>.Solution {
        let k = config.model.outputCount
        var asked = solutions
        switch config.timeSelection {
        case .linearizedLoss:
            let losses = solutions.map { Evaluation(outputs: $0.trainOutputs, targets: kernel!.targets, outputCount: k, loss: config.linearization.loss).loss }
            record.candidateLosses = losses
            asked = [solutions[losses.indices.min { losses[$0] < losses[$1] }!]]
        case .fixed:
            asked = [solutions[0]]
        case .nonlinearLoss:
            break
        }
        // One exchange: candidate weights out, loss sums back (for metrics when t is already chosen).
        let weights = asked.map { kernel!.parameters($0.coefficients) }
        let candidates = config.server.candidateDType == .f32
            ? try Candidates(times: asked.map(\.time), thetas: weights)
            : try Candidates(times: asked.map(\.time), thetas: weights, stepsFrom: parameters, dtype: config.server.candidateDType)
        currentCandidates = (round, candidates)
        for worker in registry.ordered where workers.contains(worker.name) {
            try? mailbox.send(candidates, to: worker.peer, workerID: worker.id, round: round)
        }
        var totals = [LossSummary](repeating: LossSummary(lossSum: 0, sampleCount: 0, correctCount: 0), count: asked.count)
        _ = try collect(.candidateLosses, round: round, from: workers) { name, message in
            let reply = try message.payload(CandidateLosses.self)
            guard reply.losses.count == asked.count else {
                throw WireError.invalidPayload("\(reply.losses.count) losses for \(asked.count) candidates")
            }
            for (i, l) in reply.losses.enumerated() {
                totals[i].lossSum += l.lossSum
                totals[i].sampleCount += l.sampleCount
                totals[i].correctCount = (totals[i].correctCount ?? 0) + (l.correctCount ?? 0)
            }
        }
        let means = totals.map { $0.sampleCount > 0 ? $0.lossSum / Double($0.sampleCount) : .infinity }
        if case .nonlinearLoss = config.timeSelection { record.candidateLosses = means }
        let best = means.indices.min { means[$0] < means[$1] } ?? 0
        if totals[best].sampleCount > 0 {
            record.trainLoss = means[best]
            record.trainAccuracy = accuracy(correct: totals[best].correctCount, of: totals[best].sampleCount)
        }
        return asked[best]
    }

    /// The server's held-out set, and the workers' reports of their local held-out splits.
    func evaluate(_ record: inout RoundRecord) throws {
        if let set = evaluationSet {
            let outputs = try config.model.outputs(set.inputs.converted(to: Float.self), parameters: parameters)
            let e = Evaluation(outputs: outputs.elements.map(Double.init), targets: set.targets.elements,
                               outputCount: config.model.outputCount, loss: config.linearization.loss)
            record.testLoss = e.loss
            record.testAccuracy = accuracy(correct: Int((e.accuracy * Double(set.inputs.rows)).rounded()), of: set.inputs.rows)
        }
        let reports = heldOutReports.values
        let count = reports.reduce(0) { $0 + $1.sampleCount }
        if count > 0 { record.workerHeldOutAccuracy = accuracy(correct: reports.reduce(0) { $0 + ($1.correctCount ?? 0) }, of: count) }
        let reporting = heldOutReports.filter { $0.value.sampleCount > 0 }
        if !reporting.isEmpty {
            record.workerLoss = reporting.mapValues { $0.lossSum / Double($0.sampleCount) }
            let perWorker = reporting.compactMapValues { accuracy(correct: $0.correctCount, of: $0.sampleCount) }
            if !perWorker.isEmpty { record.workerAccuracy = perWorker }
        }
    }

    /// The fraction of correct predictions; `nil` for regression (one output), where accuracy means nothing.
    func accuracy(correct: Int?, of count: Int) -> Double? {
        guard config.model.outputCount > 1, count > 0 else { return nil }
        return Double(correct ?? 0) / Double(count)
    }

    func timed<T>(_ slot: inout Double, _ body: () throws -> T) rethrows -> T {
        let t0 = ContinuousClock.now
        defer { slot += (ContinuousClock.now - t0).seconds }
        return try body()
    }
}

extension ISO8601DateFormatter {
    /// `2026-11-29T04:28:38.123Z`.
    public static var withFractionalSeconds: ISO8601DateFormatter {
        let f = ISO8601DateFormatter()
        f.formatOptions = [.withInternetDateTime, .withFractionalSeconds]
        return f
    }
}

extension Duration {
    /// As a `Double` number of seconds.
    var seconds: Double { Double(components.seconds) + Double(components.attoseconds) * 1e-18 }
}

extension RoundRecord {
    init(round: Int) {
        self.init(round: round, refreshed: false, kernelDrift: nil, kernelDriftMethod: nil, spectrum: nil, time: 0, candidateLosses: [],
                  trainLoss: nil, trainAccuracy: nil, testLoss: nil, testAccuracy: nil, workerHeldOutAccuracy: nil,
                  workers: [], missingWorkers: [], bytesReceived: [:], bytesSent: 0, solver: "", seconds: Phases(), totalSeconds: 0)
    }

    /// One line for the log.
    var summary: String {
        func pct(_ v: Double?) -> String { v.map { String(format: "%.2f%%", 100 * $0) } ?? "-" }
        let received = Double(bytesReceived.values.reduce(0, +)) / 1e6, sent = Double(bytesSent) / 1e6
        return String(format: "round %d: t = %.4g, train loss %@, train acc %@, test acc %@, %d workers%@, %.1f MB in / %.1f MB out, %.2f s",
                      round, time, trainLoss.map { String(format: "%.5f", $0) } ?? "-", pct(trainAccuracy), pct(testAccuracy),
                      workers.count, missingWorkers.isEmpty ? "" : " (missing: \(missingWorkers.joined(separator: ", ")))",
                      received, sent, totalSeconds)
    }
}
