import Foundation
import NTKCore
import NTKWire

/// A FedAvg round (McMahan et al.), the baseline in the same system: broadcast θ, every worker runs
/// local minibatch SGD on its shard and returns its weights, the server averages them weighted by
/// sample counts. Same network, data, transport, metrics and outputs as the NTK round. FedProx runs it
/// too (its proximal term is in the workers' steps); SCAFFOLD has its own (`ScaffoldRound.swift`).
extension FederatedServer {
    func runFedAvgRound(_ round: Int) throws {
        let started = ContinuousClock.now
        var record = beginRound(round)
        record.solver = config.localTraining?.solverName ?? "fedavg"   // FedProx is this round with μ in the workers' steps
        let workers = participants(round, record: &record)
        broadcast(try RoundStart(theta: parameters, model: config.model, refresh: false, evaluate: true, candidatesFollow: false), to: workers, round: round)
        var sum = [Float](repeating: 0, count: config.model.parameterCount)
        var samples = 0
        var loss = LossSummary(lossSum: 0, sampleCount: 0, correctCount: 0)
        let localStarted = ContinuousClock.now
        record.workers = try collect(.localUpdate, round: round, from: workers) { _, message in
            let update = try message.payload(LocalUpdate.self)
            let theta = try update.theta(model: config.model, as: Float.self)
            sum.withUnsafeMutableBufferPointer { ps in
                theta.withUnsafeBufferPointer { pt in Float.axpy(n: pt.count, alpha: Float(update.body.sampleCount), x: pt.baseAddress!, y: ps.baseAddress!) }
            }
            samples += update.body.sampleCount
            loss.lossSum += update.body.loss.lossSum
            loss.sampleCount += update.body.loss.sampleCount
            loss.correctCount = (loss.correctCount ?? 0) + (update.body.loss.correctCount ?? 0)
        }
        record.seconds.blocks = (ContinuousClock.now - localStarted).seconds
        guard samples > 0 else { throw ServerError.noBlocks("round \(round): no worker returned local weights") }
        record.missingWorkers = workers.filter { !record.workers.contains($0) }
        parameters = sum.map { $0 / Float(samples) }
        // The workers' losses are of their own local weights, before averaging.
        record.trainLoss = loss.lossSum / Double(loss.sampleCount)
        record.trainAccuracy = accuracy(correct: loss.correctCount, of: loss.sampleCount)
        try evaluate(&record)
        try finishRound(&record, started: started)
    }
}
