import Foundation
import NTKCore
import NTKWire

/// A SCAFFOLD round (Karimireddy et al. 2020, Algorithm 1 with option II), the second baseline after FedAvg:
/// broadcast x and the server's control variate c; every client i runs K local steps
/// `y ← y − η(g_i(y) − c_i + c)` and returns y and `Δc_i = c_i⁺ − c_i`; the server moves
/// `x ← x + η_g · Σ_i m_i (y_i − x) / Σ_i m_i` (weighted by sample counts, as FedAvg) and
/// `c ← c + (1/N) Σ_{i∈S} Δc_i` with N the number of clients of the run, so that `c = (1/N) Σ_i c_i` over all
/// clients after every round (the clients that sat out keep their c_i).
extension FederatedServer {
    func runScaffoldRound(_ round: Int) throws {
        guard let local = config.localTraining, local.resolvedMethod == .scaffold, let control = serverControl else {
            preconditionFailure("runScaffoldRound needs strategy: scaffold and the server's control variate")
        }
        let started = ContinuousClock.now
        var record = beginRound(round)
        record.solver = local.solverName
        let workers = participants(round, record: &record)
        let P = config.model.parameterCount
        var start = try RoundStart(theta: parameters, model: config.model, refresh: false, evaluate: true, candidatesFollow: false)
        start.attachServerControl(control.values)
        broadcast(start, to: workers, round: round)
        var average = LocalUpdateAverage(parameterCount: P)
        // The round's (1/N) Σ Δc_i, added to c at the end: late updates of earlier rounds may add to c meanwhile.
        var roundDelta = ControlVariate(zerosFor: P)
        let clientWeight = 1 / Float(config.workers.count)
        let localStarted = ContinuousClock.now
        record.workers = try collect(.localUpdate, round: round, from: workers) { name, message in
            // Everything is checked before anything is added: a refused update leaves no trace.
            let update = try message.payload(LocalUpdate.self)
            let y = try update.theta(model: config.model, as: Float.self)
            guard let delta = try update.controlDelta(parameterCount: P) else {
                throw WireError.invalidPayload("a SCAFFOLD localUpdate needs Δc_i (array deltaC); \(name) sent none")
            }
            average.add(y, of: update)
            roundDelta.add(delta, weight: clientWeight)
        }
        record.seconds.blocks = (ContinuousClock.now - localStarted).seconds
        guard average.samples > 0 else { throw ServerError.noBlocks("round \(round): no worker returned local weights") }
        let mean = average.mean   // ȳ, computed as FedAvg computes it
        let eta = Float(local.globalLearningRate ?? 1)
        // x + η_g(ȳ − x) with η_g = 1 is ȳ; taking ȳ itself keeps that round bit-identical to FedAvg's average.
        parameters = eta == 1 ? mean : zip(parameters, mean).map { x, yBar in x + eta * (yBar - x) }
        serverControl?.add(roundDelta.values, weight: 1)
        try finishLocalRound(average, participants: workers, record: &record, started: started)
    }

    /// The Δc_i of a SCAFFOLD update that arrived after its round, added to c with weight 1/N (as in the round).
    func applyLateControlDelta(_ message: Message, from client: String) {
        do {
            let update = try message.payload(LocalUpdate.self)
            guard let delta = try update.controlDelta(parameterCount: config.model.parameterCount) else { return }
            serverControl?.add(delta, weight: 1 / Float(config.workers.count))
            log.warning("\(client): localUpdate for round \(message.header.round) came late; its Δc_i entered c, its weights did not")
        } catch {
            log.warning("\(client): late localUpdate refused: \(error)")
        }
    }
}
