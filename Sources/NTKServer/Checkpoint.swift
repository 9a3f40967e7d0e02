import Foundation
import NTKConfig
import NTKCore
import NTKWire

/// What a server needs to resume a run exactly: θ, the round reached, the schedule state, the config hash.
///
/// Written atomically (temporary file, fsync, rename, fsync of the directory), so a crash at any moment
/// leaves either the previous checkpoint or the new one, never a torn file. Between refreshes the server
/// also needs the kernel it integrates on; it is not stored (it can be hundreds of megabytes): a resumed
/// run re-linearizes at its first round, which changes nothing when refresh is every round.
public struct Checkpoint: Codable, Sendable {
    /// Last completed round.
    public var round: Int
    /// The run's identity and the hash of its configuration text: a checkpoint resumes only its own run.
    public var runID: String
    public var configHash: String
    public var refresh: RefreshPlanner
    /// θ after `round`, as the `.npz` layout's arrays (Float32): `W1, b1, …` for an MLP, `theta` otherwise.
    public var weights: [String: [Float]]
    /// The pooled feature standardization of a `standardize: federated` run (fixed before round 1).
    public var featureStandardization: FeatureStandardization? = nil
    /// The round's line of `rounds.jsonl`, written again on resume if the server died before appending it.
    public var record: RoundRecord? = nil
    /// SCAFFOLD: the server's control variate c after `round` (`[P]`); absent in other runs.
    public var serverControl: [Float]? = nil

    public init(round: Int, runID: String, configHash: String, refresh: RefreshPlanner, parameters: [Float], model: ModelArchitecture) {
        self.round = round
        self.runID = runID
        self.configHash = configHash
        self.refresh = refresh
        switch model {
        case .mlp(let a):
            let p = MLPParameters<Float>(zerosFor: a).reshaping(parameters)
            var w: [String: [Float]] = [:]
            for (l, (W, b)) in zip(p.weights, p.biases).enumerated() {
                w["W\(l + 1)"] = W.elements
                w["b\(l + 1)"] = b
            }
            weights = w
        case .network, .hypernetwork:
            weights = ["theta": parameters]
        }
    }

    /// θ (flat) for `model`.
    public func parameters(for model: ModelArchitecture) throws -> [Float] {
        switch model {
        case .mlp(let a): return try parameters(for: a).flattened
        case .network, .hypernetwork:
            guard let theta = weights["theta"], theta.count == model.parameterCount, theta.allSatisfy(\.isFinite) else {
                throw ModelError.shapeMismatch("checkpoint θ does not fit \(model) (\(model.parameterCount) finite values)")
            }
            return theta
        }
    }

    /// SCAFFOLD's c for `config` (`nil` when the run is not SCAFFOLD), checked: P finite values.
    public func serverControl(for config: RunConfiguration) throws -> ControlVariate? {
        guard config.localTraining?.resolvedMethod == .scaffold else { return nil }
        guard let c = serverControl, c.count == config.model.parameterCount, c.allSatisfy(\.isFinite) else {
            throw ServerError.incompatibleCheckpoint("the checkpoint of a SCAFFOLD run must carry the server's control variate c (\(config.model.parameterCount) finite values)")
        }
        return ControlVariate(values: c)
    }

    /// θ shaped for `architecture`.
    public func parameters(for architecture: MLPArchitecture) throws -> MLPParameters<Float> {
        var p = MLPParameters<Float>(zerosFor: architecture)
        for l in 1...architecture.layerCount {
            guard let W = weights["W\(l)"], let b = weights["b\(l)"], W.count == p.weights[l - 1].count, b.count == p.biases[l - 1].count else {
                throw ModelError.shapeMismatch("checkpoint weights do not fit layer \(l) of \(architecture)")
            }
            p.weights[l - 1].elements = W
            p.biases[l - 1] = b
        }
        try p.validate(against: architecture)
        return p
    }

    /// Writes atomically to `url`.
    public func write(to url: URL) throws {
        let data = try JSONEncoder().encode(self)
        try AtomicFile.write(data, to: url)
    }

    /// Reads a checkpoint.
    public static func read(from url: URL) throws -> Checkpoint {
        try JSONDecoder().decode(Checkpoint.self, from: Data(contentsOf: url))
    }
}

/// Crash-safe file replacement: write a temporary file in the same directory, fsync it, rename it over the
/// target, fsync the directory so the rename itself is durable.
public enum AtomicFile {
    public static func write(_ data: Data, to url: URL) throws {
        let dir = url.deletingLastPathComponent()
        try FileManager.default.createDirectory(at: dir, withIntermediateDirectories: true)
        let tmp = dir.appendingPathComponent(".\(url.lastPathComponent).tmp-\(getpid())")
        let fd = open(tmp.path, O_WRONLY | O_CREAT | O_TRUNC, 0o644)
        guard fd >= 0 else { throw POSIXError(POSIXErrorCode(rawValue: errno) ?? .EIO) }
        var ok = data.withUnsafeBytes { raw -> Bool in
            var offset = 0
            while offset < raw.count {
                let n = Foundation.write(fd, raw.baseAddress! + offset, raw.count - offset)
                if n < 0 { if errno == EINTR { continue }; return false }
                offset += n
            }
            return true
        }
        ok = ok && fsync(fd) == 0
        close(fd)
        guard ok, rename(tmp.path, url.path) == 0 else {
            unlink(tmp.path)
            throw POSIXError(POSIXErrorCode(rawValue: errno) ?? .EIO)
        }
        let dfd = open(dir.path, O_RDONLY)
        if dfd >= 0 { fsync(dfd); close(dfd) }
    }
}
