import Foundation
import NTKTransport
import NTKWire

/// A worker the server knows: its identity, what it announced, when it was last heard.
struct RegisteredWorker {
    let name: String
    var peer: PeerID
    let id: UInt32
    var info: Register
    var lastSeen: ContinuousClock.Instant
}

/// Who takes part in the run. Workers are ordered by the configuration's list (or by name), never by
/// arrival: that order fixes the rows of the joined Jacobian, so the result does not depend on timing.
struct WorkerRegistry {
    /// Names allowed to join (from the configuration); empty: anyone up to `expected`.
    let allowedNames: [String]
    let expected: Int
    private(set) var workers: [String: RegisteredWorker] = [:]

    init(allowedNames: [String], expected: Int) {
        self.allowedNames = allowedNames
        self.expected = expected
    }

    /// The fixed order.
    var ordered: [RegisteredWorker] {
        if allowedNames.isEmpty { return workers.values.sorted { $0.name < $1.name } }
        return allowedNames.compactMap { workers[$0] }
    }

    var isComplete: Bool { workers.count >= expected }

    func worker(for peer: PeerID) -> RegisteredWorker? { workers.values.first { $0.peer == peer } }

    /// Admits or re-admits a worker; returns it, or the reason it is refused.
    mutating func admit(_ info: Register, from peer: PeerID, inputDimension: Int, outputCount: Int) -> Result<RegisteredWorker, RegistrationRefusal> {
        if !allowedNames.isEmpty && !allowedNames.contains(info.workerName) {
            return .failure(RegistrationRefusal(reason: "worker \"\(info.workerName)\" is not in this run's configuration"))
        }
        guard info.inputDimension == inputDimension, info.outputCount == outputCount else {
            return .failure(RegistrationRefusal(reason: "shard has \(info.inputDimension) inputs and \(info.outputCount) outputs, the model needs \(inputDimension) and \(outputCount)"))
        }
        if var known = workers[info.workerName] {
            guard known.info.dataFingerprint == info.dataFingerprint else {
                return .failure(RegistrationRefusal(reason: "worker \"\(info.workerName)\" rejoined with different data (fingerprint \(info.dataFingerprint.prefix(12))…, was \(known.info.dataFingerprint.prefix(12))…)"))
            }
            known.peer = peer
            known.info = info
            known.lastSeen = .now
            workers[info.workerName] = known
            return .success(known)
        }
        guard workers.count < max(expected, allowedNames.count) else { return .failure(RegistrationRefusal(reason: "the run is full (\(expected) workers)")) }
        let index = allowedNames.firstIndex(of: info.workerName) ?? workers.count
        let worker = RegisteredWorker(name: info.workerName, peer: peer, id: UInt32(index + 1), info: info, lastSeen: .now)
        workers[info.workerName] = worker
        return .success(worker)
    }

    mutating func touch(_ name: String) { workers[name]?.lastSeen = .now }
}

/// Why a registration was refused (sent to the worker in a fatal `Reject`).
struct RegistrationRefusal: Error, CustomStringConvertible {
    let reason: String
    var description: String { reason }
}
