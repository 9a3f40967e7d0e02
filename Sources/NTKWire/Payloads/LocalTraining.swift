import NTKCore

/// How a worker trains locally in the baselines: `epochs` passes of minibatch SGD on its shard (mean loss per
/// batch), plus what the method adds to every step.
///
/// - FedAvg (McMahan et al. 2017): plain SGD.
/// - FedProx (Li et al. 2020): the batch loss gains `(μ/2)‖θ − θ_r‖²`, its gradient `μ(θ − θ_r)`.
/// - SCAFFOLD (Karimireddy et al. 2020, Algorithm 1, option II): the gradient gains `c − c_i` (control variates).
///
/// Travels in `welcome` (protocol §6.2, §6.11); the keys added after FedAvg are optional, so an older welcome
/// reads as FedAvg.
public struct LocalTraining: Codable, Equatable, Sendable {
    /// The local-update method.
    public enum Method: String, Codable, CaseIterable, Sendable {
        case fedAvg = "fedavg"
        case fedProx = "fedprox"
        case scaffold
    }

    public var epochs: Int
    public var learningRate: Double
    public var batchSize: Int
    /// Seed of the minibatch order (mixed with the round and the worker id).
    public var seed: UInt64
    /// `nil` reads as FedAvg.
    public var method: Method?
    /// FedProx's μ ≥ 0, the weight of the proximal term (0: FedAvg, bit for bit).
    public var proximalMu: Double?
    /// SCAFFOLD's global step size η_g > 0 (server side: `x ← x + η_g · mean(y_i − x)`); default 1.
    public var globalLearningRate: Double?

    public init(epochs: Int, learningRate: Double, batchSize: Int, seed: UInt64, method: Method = .fedAvg,
                proximalMu: Double? = nil, globalLearningRate: Double? = nil) {
        self.epochs = epochs
        self.learningRate = learningRate
        self.batchSize = batchSize
        self.seed = seed
        self.method = method == .fedAvg ? nil : method
        self.proximalMu = proximalMu
        self.globalLearningRate = globalLearningRate
    }

    /// The method, FedAvg when unset.
    public var resolvedMethod: Method { method ?? .fedAvg }

    /// What `rounds.jsonl` records as the round's `solver`: `fedavg`, `fedprox (μ = 0.01)` or `scaffold`.
    public var solverName: String {
        switch resolvedMethod {
        case .fedAvg: return "fedavg"
        case .fedProx: return "fedprox (μ = \(proximalMu ?? 0))"
        case .scaffold: return "scaffold"
        }
    }

    /// The values a worker can act on (the configuration reader checks the same, naming the key).
    public func validate() throws {
        guard epochs >= 1, batchSize >= 1, learningRate.isFinite, learningRate > 0 else {
            throw WireError.invalidPayload("localTraining: need epochs ≥ 1, batchSize ≥ 1 and a finite learningRate > 0")
        }
        switch resolvedMethod {
        case .fedAvg: break
        case .fedProx:
            guard let mu = proximalMu, mu.isFinite, mu >= 0 else { throw WireError.invalidPayload("localTraining: fedprox needs a finite proximalMu ≥ 0") }
        case .scaffold:
            if let g = globalLearningRate, !(g.isFinite && g > 0) {
                throw WireError.invalidPayload("localTraining: globalLearningRate must be finite and > 0")
            }
        }
    }
}
