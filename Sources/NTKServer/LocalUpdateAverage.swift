import NTKCore
import NTKWire

/// What a baseline round (FedAvg, FedProx, SCAFFOLD) gathers from its clients: the sample-weighted sum of
/// their local weights `Σ m_i y_i` (`[P]`) and their pooled training loss at those weights.
struct LocalUpdateAverage {
    private var sum: [Float]
    private(set) var samples = 0
    private(set) var loss = LossSummary(lossSum: 0, sampleCount: 0, correctCount: 0)

    init(parameterCount: Int) { sum = [Float](repeating: 0, count: parameterCount) }

    /// Adds one client's local weights `y` (its `update` says how many samples it trained on and its loss).
    mutating func add(_ y: [Float], of update: LocalUpdate) {
        sum.withUnsafeMutableBufferPointer { ps in
            y.withUnsafeBufferPointer { py in Float.axpy(n: py.count, alpha: Float(update.body.sampleCount), x: py.baseAddress!, y: ps.baseAddress!) }
        }
        samples += update.body.sampleCount
        loss.lossSum += update.body.loss.lossSum
        loss.sampleCount += update.body.loss.sampleCount
        loss.correctCount = (loss.correctCount ?? 0) + (update.body.loss.correctCount ?? 0)
    }

    /// `ȳ = Σ m_i y_i / Σ m_i`.
    var mean: [Float] { sum.map { $0 / Float(samples) } }
}

extension FederatedServer {
    /// The common end of a baseline round: who was missing, the clients' training metrics (of their own local
    /// weights, before the server step), evaluation, checkpoint and log.
    func finishLocalRound(_ average: LocalUpdateAverage, participants: [String], record: inout RoundRecord,
                          started: ContinuousClock.Instant) throws {
        record.missingWorkers = participants.filter { !record.workers.contains($0) }
        record.trainLoss = average.loss.lossSum / Double(average.loss.sampleCount)
        record.trainAccuracy = accuracy(correct: average.loss.correctCount, of: average.loss.sampleCount)
        try evaluate(&record)
        try finishRound(&record, started: started)
    }
}
