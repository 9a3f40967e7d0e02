import NTKWire

extension RunConfiguration {
    /// `training.strategy` and its section: `nil` for the NTK method, the local training of a baseline otherwise.
    ///
    /// ```yaml
    /// strategy: fedavg    # fedavg: {local_epochs, learning_rate, batch_size, seed}
    /// strategy: fedprox   # fedprox: {mu, local_epochs, learning_rate, batch_size, seed}
    /// strategy: scaffold  # scaffold: {local_epochs, learning_rate, batch_size, seed, global_learning_rate}
    /// ```
    /// Only the section of the chosen strategy may be present; a missing one takes the defaults (FedProx's `mu` has none).
    static func parseStrategy(_ training: ConfigReader, file: String) throws -> LocalTraining? {
        let methods = LocalTraining.Method.allCases
        let strategy = try training.string("strategy") ?? "ntk"
        let method = methods.first { $0.rawValue == strategy }
        guard strategy == "ntk" || method != nil else {
            throw training.error("strategy", "\"\(strategy)\" is not one of: ntk, \(methods.map(\.rawValue).joined(separator: ", "))")
        }
        for other in methods where other != method && training.has(other.rawValue) {
            throw training.error(other.rawValue, "a \(other.rawValue) section belongs to strategy: \(other.rawValue), and this run's strategy is \(strategy)")
        }
        guard let method else { return nil }
        let f = try training.section(method.rawValue) ?? ConfigReader(file: file, path: "training.\(method.rawValue)", node: .mapping(.init([])))
        var local = LocalTraining(epochs: try f.int("local_epochs") ?? 5, learningRate: try f.double("learning_rate") ?? 10,
                                  batchSize: try f.int("batch_size") ?? 32, seed: UInt64(max(0, try f.int("seed") ?? 0)), method: method)
        guard local.epochs >= 1 else { throw f.error("local_epochs", "must be ≥ 1") }
        guard local.learningRate > 0, local.learningRate.isFinite else { throw f.error("learning_rate", "must be > 0") }
        guard local.batchSize >= 1 else { throw f.error("batch_size", "must be ≥ 1") }
        switch method {
        case .fedAvg: break
        case .fedProx:
            guard let mu = try f.double("mu") else { throw f.error(nil, "FedProx needs 'mu' (the proximal weight μ ≥ 0)") }
            guard mu >= 0, mu.isFinite else { throw f.error("mu", "must be a finite number ≥ 0") }
            // The proximal term alone multiplies θ − θ_r by (1 − ημ) at every step: at ημ ≥ 2 the local model
            // oscillates away from θ_r with growing amplitude whatever the data.
            guard local.learningRate * mu < 2 else {
                throw f.error("mu", "learning_rate × mu = \(local.learningRate * mu) must be < 2: each local step multiplies θ − θ_r by (1 − learning_rate·mu), which then diverges")
            }
            local.proximalMu = mu
        case .scaffold:
            let eta = try f.double("global_learning_rate") ?? 1
            guard eta > 0, eta.isFinite else { throw f.error("global_learning_rate", "must be a finite number > 0") }
            local.globalLearningRate = eta
        }
        try f.rejectUnknownKeys()
        return local
    }
}
