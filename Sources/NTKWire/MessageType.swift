/// What a message is; the raw value is the `u16` in the header.
public enum MessageType: UInt16, CaseIterable, Codable, Sendable, CustomStringConvertible {
    /// Worker → server: join the run (shard description).
    case register = 1
    /// Server → worker: registration accepted (worker id, architecture, formats).
    case welcome = 2
    /// Server → worker: a round begins at θ (refresh / evaluate instructions).
    case roundStart = 3
    /// Worker → server: the Jacobian block, outputs and targets at the round's θ.
    case block = 4
    /// Server → worker: candidate weights, one per integration time t.
    case candidates = 5
    /// Worker → server: the nonlinear network's loss on the shard for each candidate.
    case candidateLosses = 6
    /// Worker → server: metrics of θ on the worker's held-out split.
    case evaluationReport = 7
    /// Either way: liveness.
    case heartbeat = 8
    /// Either way: the previous message was refused, and why.
    case reject = 9
    /// Server → worker: the run is over (or the worker is dismissed).
    case shutdown = 10
    /// Worker → server (FedAvg): the weights after local training on the shard.
    case localUpdate = 11

    public var description: String {
        switch self {
        case .register: return "register"
        case .welcome: return "welcome"
        case .roundStart: return "roundStart"
        case .block: return "block"
        case .candidates: return "candidates"
        case .candidateLosses: return "candidateLosses"
        case .evaluationReport: return "evaluationReport"
        case .heartbeat: return "heartbeat"
        case .reject: return "reject"
        case .shutdown: return "shutdown"
        case .localUpdate: return "localUpdate"
        }
    }
}
