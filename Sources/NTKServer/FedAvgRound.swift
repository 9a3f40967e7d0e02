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
        var average = LocalUpdateAverage(parameterCount: config.model.parameterCount)
        let localStarted = ContinuousClock.now
        record.workers = try collect(.localUpdate, round: round, from: workers) { _, message in
            let update = try message.payload(LocalUpdate.self)
            average.add(try update.theta(model: config.model, as: Float.self), of: update)
        }
        record.seconds.blocks = (ContinuousClock.now - localStarted).seconds
        guard average.samples > 0 else { throw ServerError.noBlocks("round \(round): no worker returned local weights") }
        parameters = average.mean
        try finishLocalRound(average, participants: workers, record: &record, started: started)
    }
}
