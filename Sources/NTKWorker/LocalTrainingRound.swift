import NTKCore
import NTKWire

/// A baseline round on a worker (FedAvg, FedProx, SCAFFOLD): local SGD from the round's θ_r on the shard, answered
/// with a `localUpdate` (protocol §6.11).
extension FederatedWorker {
    /// Trains locally from `theta` (θ_r, `[P]`) and builds the update: y, the shard's loss at y and, for SCAFFOLD,
    /// Δc_i (this client's c_i advances here).
    func localUpdate(_ settings: LocalTraining, model: ModelArchitecture, start: RoundStart, theta: [Float], round: UInt64,
                     loss: LossFunction, workerID: UInt32) throws -> LocalUpdate {
        var serverControl: ControlVariate?
        var correction: [Float]?
        if settings.resolvedMethod == .scaffold {
            guard let c = try start.serverControl(parameterCount: model.parameterCount) else {
                throw WorkerError.protocolViolation("a SCAFFOLD round's roundStart must carry the server's control variate (array c)")
            }
            serverControl = ControlVariate(values: c)
            var state = scaffold ?? ScaffoldClientState(parameterCount: model.parameterCount)
            correction = state.begin(round: round, server: serverControl!)
            scaffold = state
        }
        let trained = try LocalSGD.train(model, from: theta, inputs: shard.inputs, targets: shard.targets, settings: settings,
                                         loss: loss, round: round, workerID: workerID, correction: correction)
        lastLocalStep = relativeDistance(trained.theta, theta)
        var update = try LocalUpdate(theta: trained.theta, model: model, sampleCount: shard.inputs.rows,
                                     loss: try lossSummary(model, trained.theta, shard))
        if let serverControl, var state = scaffold {
            update.attachControlDelta(state.finish(server: serverControl, from: theta, to: trained.theta, steps: trained.steps,
                                                   learningRate: settings.learningRate))
            scaffold = state
        }
        log.debug("round \(round): \(trained.steps) local steps, ‖y − θ_r‖/‖θ_r‖ = \(lastLocalStep ?? .nan)")
        return update
    }

    /// `‖a − b‖ / ‖b‖` in Double.
    private func relativeDistance(_ a: [Float], _ b: [Float]) -> Double {
        var d = 0.0, n = 0.0
        for (x, y) in zip(a, b) { d += Double(x - y) * Double(x - y); n += Double(y) * Double(y) }
        return (d / max(n, .leastNormalMagnitude)).squareRoot()
    }
}
