import Foundation
import NTKCore
import NTKData
import NTKWire

/// How the integration time `t` of a round is chosen.
public enum TimeSelection: Equatable, Sendable {
    /// NTK-FL's rule: the candidate whose weights give the lowest training loss of the real, nonlinear
    /// network, evaluated by the workers on their shards (one short extra exchange per round).
    case nonlinearLoss
    /// The lowest loss of the linearized model (no exchange; tends to take the largest `t`).
    case linearizedLoss
    /// Always this `t`.
    case fixed(Double)
}

/// When the server re-linearizes (asks the workers for new Jacobian blocks).
public enum RefreshSchedule: Equatable, Sendable {
    /// Every round: ordinary federated training.
    case everyRound
    /// Every `r` rounds; in between, integration continues on the last kernel.
    case every(Int)
    /// After each refresh, compare the new kernel with the previous one: drift below `threshold` doubles
    /// the interval (up to `maxInterval`), drift above resets it to 1.
    case adaptive(threshold: Double, maxInterval: Int)
}

/// What the server does with a worker that misses the round deadline.
public enum MissingWorkerPolicy: String, CaseIterable, Sendable {
    /// Go on with the blocks that arrived (at least `minWorkers`), record who was missing.
    case proceed
    /// Wait for every registered worker to come back.
    case wait
}

/// CURVE keys of one node.
public struct CurveSettings: Sendable, Equatable {
    /// This node's secret key file (`NAME.key_secret` from `ntk keygen`; the public key is `NAME.key`).
    public var secretKeyFile: String
    /// Server: the workers' public key files allowed to connect. Worker: unused.
    public var authorizedKeyFiles: [String] = []
    /// Worker: the server's public key file. Server: unused.
    public var serverPublicKeyFile: String? = nil
}

/// The server's part of a run.
public struct ServerSettings: Sendable, Equatable {
    /// ZeroMQ endpoint to bind, e.g. `tcp://127.0.0.1:5555` or `tcp://*:5555`.
    public var endpoint = "tcp://127.0.0.1:5555"
    /// Number of workers to wait for before round 1.
    public var expectedWorkers: Int
    /// The server's own held-out set (never a worker's data).
    public var evaluation: DataSource? = nil
    /// Seconds a round waits for blocks and losses.
    public var roundDeadline = 120.0
    /// Seconds to wait for registrations.
    public var registrationTimeout = 300.0
    public var missingWorkerPolicy: MissingWorkerPolicy = .proceed
    /// Fewest workers a round may go on with.
    public var minWorkers = 1
    /// Largest single message; larger blocks travel in chunks.
    public var maxMessageBytes = 256 << 20
    /// Seconds between heartbeats.
    public var heartbeatInterval = 1.0
    public var blockFormat: BlockFormat = .factored
    /// The dtype blocks' factors (or `Z`) travel in: f32, or f16/bf16 for half the bytes and fewer digits.
    public var blockDType: DType = .f32
    /// Candidate weights for the time search: f32 weights, or (default) steps from the round's weights in f16/bf16.
    public var candidateDType: DType = .f16
    /// Keep each client's inputs `X0` from its first factored block, so that later blocks leave them out.
    public var keepInputs = true
    public var curve: CurveSettings? = nil
    /// Partial participation: how many clients each round samples; `nil`: every registered client, every round.
    public var participation: Participation? = nil
}

/// Which clients take part in a round: a seeded sample of a count or a fraction of the registered ones.
public struct Participation: Sendable, Equatable {
    public enum Size: Sendable, Equatable {
        case count(Int)
        case fraction(Double)
    }
    public var size: Size
    /// Seeds the per-round draws (with the round number): the same seed samples the same clients.
    public var seed: UInt64

    public init(size: Size, seed: UInt64 = 0) {
        self.size = size
        self.seed = seed
    }

    /// Clients sampled per round out of `available` (at least one, at most all).
    public func sampleSize(of available: Int) -> Int {
        switch size {
        case .count(let k): return min(k, available)
        case .fraction(let f): return min(available, max(1, Int((f * Double(available)).rounded())))
        }
    }
}

/// One worker of a run.
public struct WorkerSettings: Sendable, Equatable {
    /// Stable name (the ZeroMQ identity; workers are ordered by name everywhere).
    public var name: String
    /// The server endpoint to connect to.
    public var server: String
    /// The private shard.
    public var data: DataSource
    /// An optional local held-out split, evaluated every round.
    public var heldOut: DataSource? = nil
    /// Hypernetwork runs: this worker's `x` (the meta-network's input), prepended by the worker to every row
    /// of its shard and held-out split. From `client_features:` (`one-hot`, the default, or a list of numbers).
    public var clientFeatures: [Double]? = nil
    public var curve: CurveSettings? = nil
    /// The worker process hosting this client (`clients.processes`, or `process:` of a worker entry);
    /// `nil`: a process of its own.
    public var process: String? = nil
}

/// Everything that describes a federated run: one YAML file (see `configs/`).
///
/// Relative paths in the file are resolved against the file's own directory.
public struct RunConfiguration: Sendable {
    public var runID: String
    public var outputDirectory: String
    public var rounds: Int
    /// End the run after the first round whose test accuracy reaches this (0…1); `nil`: run every round.
    public var stopAtAccuracy: Double?
    /// The network trained: an MLP (`widths`), a network spec (`network` + `input_shape`) or a hypernetwork.
    public var model: ModelArchitecture
    public var seed: UInt64
    public var linearization: LinearizationOptions
    public var timeCandidates: [Double]
    public var timeSelection: TimeSelection
    public var refresh: RefreshSchedule
    /// `nil`: the NTK method. Set: a baseline — FedAvg, FedProx or SCAFFOLD — with this local training on every
    /// worker (same network, data, transport and metrics), for comparison.
    public var localTraining: LocalTraining?
    public var server: ServerSettings
    public var workers: [WorkerSettings]
    /// Identity of the configuration text (FNV-1a 64 of its bytes), stored in checkpoints.
    public var hash: String
    /// The file it came from.
    public var file: String

    /// Reads and validates a configuration file.
    public static func load(_ url: URL) throws -> RunConfiguration {
        let text: String
        do { text = try String(contentsOf: url, encoding: .utf8) } catch {
            throw ConfigError(file: url.path, key: "", line: nil, reason: "cannot read: \(error.localizedDescription)")
        }
        return try parse(yaml: text, file: url.path, baseDirectory: url.deletingLastPathComponent())
    }

    /// Parses YAML text; relative paths are resolved against `baseDirectory`.
    public static func parse(yaml: String, file: String, baseDirectory: URL) throws -> RunConfiguration {
        let root = try ConfigReader(yaml: yaml, file: file)
        func resolve(_ path: String) -> String {
            path.hasPrefix("/") ? path : baseDirectory.appendingPathComponent(path).standardizedFileURL.path
        }

        let run = try root.requiredSection("run")
        guard let runID = try run.string("id"), !runID.isEmpty else { throw run.error("id", "a run needs an id") }
        let output = resolve(try run.string("output_dir") ?? "runs/\(runID)")
        let rounds = try run.int("rounds") ?? 3
        guard rounds >= 1 else { throw run.error("rounds", "must be at least 1") }
        let stopAtAccuracy = try run.double("stop_at_accuracy")
        if let a = stopAtAccuracy, !(a > 0 && a <= 1) { throw run.error("stop_at_accuracy", "must be a test accuracy in (0, 1]") }
        try run.rejectUnknownKeys()

        let model = try root.requiredSection("model")
        let architecture = try parseModel(model)
        let seedValue = try model.int("seed") ?? 0
        guard seedValue >= 0 else { throw model.error("seed", "must be ≥ 0") }
        try model.rejectUnknownKeys()

        let training = try root.section("training") ?? ConfigReader(file: file, path: "training", node: .mapping(.init([])))
        let preset: TrainingPreset = try training.choice("preset") ?? .default
        var options = LinearizationOptions()
        options.loss = try training.choice("loss") ?? preset.loss
        options.kernel = try training.choice("kernel") ?? preset.kernel
        options.solver = try training.choice("solver") ?? .auto
        options.learningRate = try training.double("learning_rate") ?? preset.learningRate(for: architecture.mlp?.parametrization ?? .ntk)
        guard options.learningRate > 0 else { throw training.error("learning_rate", "must be > 0") }
        options.ridge = try training.double("ridge") ?? 0
        guard options.ridge >= 0 else { throw training.error("ridge", "must be ≥ 0") }
        options.tolerance = try training.double("tolerance") ?? 1e-6
        options.denseLimit = try training.int("dense_limit") ?? options.denseLimit
        var candidates = preset.timeCandidates
        var selection = TimeSelection.nonlinearLoss
        if let time = try training.section("time") {
            if let c = try time.doubles("candidates") {
                guard !c.isEmpty, c.allSatisfy({ $0 > 0 }) else { throw time.error("candidates", "needs at least one time > 0") }
                candidates = c
            }
            switch try time.string("selection") ?? "nonlinear-loss" {
            case "nonlinear-loss": selection = .nonlinearLoss
            case "linearized-loss": selection = .linearizedLoss
            case "fixed":
                guard let t = try time.double("fixed"), t > 0 else { throw time.error("fixed", "selection: fixed needs 'fixed: <t > 0>'") }
                selection = .fixed(t)
            case let other: throw time.error("selection", "\"\(other)\" is not one of: nonlinear-loss, linearized-loss, fixed")
            }
            if case .fixed = selection {} else if time.has("fixed") { _ = try time.double("fixed") }
            try time.rejectUnknownKeys()
        }
        var refresh = RefreshSchedule.everyRound
        if let r = try training.section("refresh") {
            switch try r.string("schedule") ?? "every-round" {
            case "every-round": refresh = .everyRound
            case "every":
                guard let n = try r.int("rounds"), n >= 1 else { throw r.error("rounds", "schedule: every needs 'rounds: <r ≥ 1>'") }
                refresh = .every(n)
            case "adaptive":
                let threshold = try r.double("drift_threshold") ?? 0.05
                let maxInterval = try r.int("max_interval") ?? 8
                guard threshold > 0, maxInterval >= 1 else { throw r.error("drift_threshold", "needs drift_threshold > 0 and max_interval ≥ 1") }
                refresh = .adaptive(threshold: threshold, maxInterval: maxInterval)
            case let other: throw r.error("schedule", "\"\(other)\" is not one of: every-round, every, adaptive")
            }
            try r.rejectUnknownKeys()
        }
        let localTraining = try parseStrategy(training, file: file)
        try training.rejectUnknownKeys()

        let serverNode = try root.requiredSection("server")
        let workerNodes = try root.sections("workers")
        let clientsNode = try root.section("clients")
        var clientCount = 0
        if let c = clientsNode {
            guard let n = try c.int("count"), n >= 1 else { throw c.error("count", "'clients' needs 'count: <number of clients ≥ 1>'") }
            clientCount = n
        }
        guard !workerNodes.isEmpty || clientCount > 0 else {
            throw root.error("workers", "a run needs workers: a 'workers' list, or a 'clients' section (count, data, processes)")
        }
        var server = ServerSettings(expectedWorkers: try serverNode.int("expected_workers") ?? workerNodes.count + clientCount)
        guard server.expectedWorkers >= 1 else { throw serverNode.error("expected_workers", "needs at least one worker") }
        server.endpoint = try serverNode.string("endpoint") ?? server.endpoint
        guard server.endpoint.hasPrefix("tcp://") || server.endpoint.hasPrefix("ipc://") || server.endpoint.hasPrefix("inproc://") else {
            throw serverNode.error("endpoint", "expected a ZeroMQ endpoint like tcp://127.0.0.1:5555")
        }
        if let e = try serverNode.section("evaluation") { server.evaluation = try parseData(e, resolve: resolve) }
        server.roundDeadline = try serverNode.double("round_deadline_seconds") ?? server.roundDeadline
        server.registrationTimeout = try serverNode.double("registration_timeout_seconds") ?? server.registrationTimeout
        server.missingWorkerPolicy = try serverNode.choice("missing_worker_policy") ?? .proceed
        if let p = try serverNode.section("participation") {
            let seed = try p.int("seed") ?? 0
            guard seed >= 0 else { throw p.error("seed", "must be ≥ 0") }
            switch (try p.int("clients_per_round"), try p.double("fraction")) {
            case (let k?, nil):
                guard k >= 1, k <= server.expectedWorkers else {
                    throw p.error("clients_per_round", "must be between 1 and the number of clients (\(server.expectedWorkers))")
                }
                server.participation = Participation(size: .count(k), seed: UInt64(seed))
            case (nil, let f?):
                guard f > 0, f <= 1 else { throw p.error("fraction", "must be in (0, 1]") }
                server.participation = Participation(size: .fraction(f), seed: UInt64(seed))
            case (_?, _?): throw p.error("fraction", "give either 'clients_per_round' or 'fraction', not both")
            case (nil, nil): throw p.error(nil, "needs 'clients_per_round: k' or 'fraction: f' (and optionally 'seed')")
            }
            try p.rejectUnknownKeys()
        }
        let perRound = server.participation?.sampleSize(of: server.expectedWorkers) ?? server.expectedWorkers
        server.minWorkers = try serverNode.int("min_workers") ?? 1
        guard server.minWorkers >= 1, server.minWorkers <= perRound else {
            throw serverNode.error("min_workers", "must be between 1 and the clients of a round (\(perRound))")
        }
        server.maxMessageBytes = try serverNode.int("max_message_bytes") ?? server.maxMessageBytes
        guard server.maxMessageBytes >= 1 << 16 else { throw serverNode.error("max_message_bytes", "must be at least 65536") }
        server.heartbeatInterval = try serverNode.double("heartbeat_seconds") ?? server.heartbeatInterval
        let blockFormat: BlockFormat? = try serverNode.choice("block_format")
        // Only an MLP's Jacobian has the Kronecker structure that factored blocks carry.
        if case .network = architecture, blockFormat == .factored {
            throw serverNode.error("block_format", "a 'network' model's blocks travel dense (factored blocks exist for MLPs, model.widths)")
        }
        if case .hypernetwork = architecture, blockFormat == .factored {
            throw serverNode.error("block_format", "a 'hypernetwork' model's blocks travel dense (factored blocks exist for MLPs, model.widths)")
        }
        if case .hypernetwork = architecture, server.evaluation != nil {
            throw serverNode.error("evaluation", "a hypernetwork run has no server-side evaluation: the server's samples belong to no worker, so they have no x; give each worker a held_out split (e.g. held_out: {shard_fraction: 0.25}) instead")
        }
        server.blockFormat = blockFormat ?? (architecture.mlp == nil ? .dense : .factored)
        if let mb = try serverNode.double("memory_budget_mb") {
            guard mb > 0 else { throw serverNode.error("memory_budget_mb", "must be > 0") }
            options.memoryBudget = mb * 1e6
        }
        server.blockDType = try serverNode.choice("block_dtype") ?? .f32
        guard [.f32, .f16, .bf16].contains(server.blockDType) else { throw serverNode.error("block_dtype", "must be f32, f16 or bf16") }
        server.candidateDType = try serverNode.choice("candidate_dtype") ?? server.candidateDType
        server.keepInputs = try serverNode.bool("keep_inputs") ?? true
        guard [.f32, .f16, .bf16].contains(server.candidateDType) else { throw serverNode.error("candidate_dtype", "must be f32, f16 or bf16") }
        if let c = try serverNode.section("curve") {
            guard let key = try c.string("secret_key") else { throw c.error(nil, "missing 'secret_key'") }
            server.curve = CurveSettings(secretKeyFile: resolve(key), authorizedKeyFiles: (try c.strings("authorized_keys") ?? []).map(resolve))
            try c.rejectUnknownKeys()
        }
        try serverNode.rejectUnknownKeys()

        var workers: [WorkerSettings] = []
        let workerCount = workerNodes.count + clientCount
        let defaultServer = server.endpoint.replacingOccurrences(of: "tcp://*", with: "tcp://127.0.0.1")
        /// A worker from its entry `w` (or the clients' template) once its name and data are known.
        func worker(_ w: ConfigReader, name: String, data: DataSource, process: String?) throws -> WorkerSettings {
            guard !name.isEmpty, name.utf8.count <= 255 else { throw w.error("name", "every worker needs a name (1–255 bytes)") }
            guard !workers.contains(where: { $0.name == name }) else { throw w.error("name", "duplicate worker name \"\(name)\"") }
            var worker = WorkerSettings(name: name, server: try w.string("server") ?? defaultServer, data: data)
            worker.process = process
            if let h = try w.section("held_out") {
                if h.has("shard_fraction") {
                    // A held-out part of this worker's own shard: same file, split, shard; the shard split in two.
                    guard !h.has("file") else { throw h.error("shard_fraction", "give either 'shard_fraction' (a part of this worker's shard) or a 'file', not both") }
                    guard let f = try h.double("shard_fraction"), f > 0, f < 1 else { throw h.error("shard_fraction", "must be in (0, 1)") }
                    let seed = UInt64(max(0, try h.int("seed") ?? 0))
                    guard worker.data.shardSplit == nil else { throw h.error("shard_fraction", "the data already split its shard") }
                    var held = worker.data
                    held.shardSplit = DataSource.ShardSplit(part: .heldOut, heldOutFraction: f, seed: seed)
                    worker.data.shardSplit = DataSource.ShardSplit(part: .train, heldOutFraction: f, seed: seed)
                    worker.heldOut = held
                    try h.rejectUnknownKeys()
                } else {
                    worker.heldOut = try parseData(h, resolve: resolve)
                }
            }
            if w.has("client_features") || architecture.hypernetwork != nil {
                worker.clientFeatures = try parseClientFeatures(w, index: workers.count, workerCount: workerCount, model: architecture)
            }
            // Pooled statistics are one map for every node: a node outside it would see other features.
            let agreed = workers.first?.data.standardization ?? worker.data.standardization
            if architecture.hypernetwork != nil, worker.data.standardization == .federated {
                throw w.error("data", "'standardize: federated' is not available for hypernetwork runs (the pooled statistics would cover z, the rows carry [x, z]); use feature_scale / feature_offset / feature_std")
            }
            for (section, source) in [("data", worker.data), ("held_out", worker.heldOut), ("server.evaluation", server.evaluation)] {
                guard let source, source.standardization != agreed else { continue }
                throw w.error(section == "server.evaluation" ? nil : section,
                              "'standardize: \(source.standardization.rawValue)' in \(section) of \(name), but the workers' data use '\(agreed.rawValue)': every worker, held-out split and the server's evaluation must agree")
            }
            if let c = try w.section("curve") {
                guard let key = try c.string("secret_key"), let pub = try c.string("server_public_key") else {
                    throw c.error(nil, "a worker's curve section needs 'secret_key' and 'server_public_key'")
                }
                worker.curve = CurveSettings(secretKeyFile: resolve(key), serverPublicKeyFile: resolve(pub))
                try c.rejectUnknownKeys()
            }
            try w.rejectUnknownKeys()
            return worker
        }
        for w in workerNodes {
            guard let d = try w.section("data") else { throw w.error(nil, "worker \(try w.string("name") ?? "?") needs a 'data' section") }
            let process = try w.string("process")
            if let process, process.isEmpty { throw w.error("process", "a process name must not be empty") }
            workers.append(try worker(w, name: try w.string("name") ?? "", data: try parseData(d, resolve: resolve), process: process))
        }
        if let c = clientsNode {
            // Many logical clients of one template: the shard's index and count are each client's own.
            let prefix = try c.string("name_prefix") ?? "client-"
            let processes = try c.int("processes") ?? 1
            guard processes >= 1, processes <= clientCount else { throw c.error("processes", "must be between 1 and count (\(clientCount))") }
            guard let d = try c.section("data") else { throw c.error(nil, "the clients need a 'data' section (a shard template: scheme, alpha, seed)") }
            let template = try parseData(d, resolve: resolve, clientCount: clientCount)
            let digits = max(3, String(clientCount - 1).count)
            for i in 0..<clientCount {
                var data = template
                data.shard?.index = i
                let number = String(repeating: "0", count: digits - String(i).count) + String(i)
                // Contiguous runs of clients per process: process p hosts clients [p·N/P, (p+1)·N/P).
                let process = "\(prefix)process-\(i * processes / clientCount)"
                workers.append(try worker(c, name: prefix + number, data: data, process: process))
            }
            _ = try c.int("count")
        }
        try root.rejectUnknownKeys()

        if server.participation != nil, refresh != .everyRound {
            throw training.error("refresh", "with partial participation (server.participation) every round's clients differ: the kernel is refreshed every round (schedule: every-round)")
        }

        return RunConfiguration(runID: runID, outputDirectory: output, rounds: rounds, stopAtAccuracy: stopAtAccuracy, model: architecture,
                                seed: UInt64(seedValue), linearization: options, timeCandidates: candidates.sorted(),
                                timeSelection: selection, refresh: refresh, localTraining: localTraining, server: server, workers: workers,
                                hash: fnv1a(yaml), file: file)
    }

    /// A worker's `client_features:` — `one-hot` (of its index among `workers`, dimension = number of workers) or a
    /// list of numbers; only for hypernetworks, whose meta-network input dimension it must match.
    private static func parseClientFeatures(_ w: ConfigReader, index: Int, workerCount: Int, model: ModelArchitecture) throws -> [Double] {
        guard let h = model.hypernetwork else {
            throw w.error("client_features", "only a hypernetwork model (model.hypernetwork) takes client features")
        }
        let n0 = h.metaInputDimension
        var features: [Double]
        if !w.has("client_features") || (try? w.string("client_features")) == "one-hot" {
            guard n0 == workerCount else {
                throw w.error(w.has("client_features") ? "client_features" : nil,
                              "one-hot client features have one entry per worker (\(workerCount)), but the meta-network's input dimension meta_widths[0] is \(n0): set meta_widths[0] to \(workerCount) or give each worker 'client_features: [\(n0) numbers]'")
            }
            features = [Double](repeating: 0, count: n0)
            features[index] = 1
        } else if let s = try? w.string("client_features") {
            throw w.error("client_features", "\"\(s)\" is neither one-hot nor a list of numbers")
        } else {
            features = try w.doubles("client_features") ?? []
            guard features.count == n0 else {
                throw w.error("client_features", "\(features.count) values, but the meta-network's input dimension meta_widths[0] is \(n0)")
            }
        }
        return features
    }

    /// `model:` — `widths` (an MLP), `network` with `input_shape` (any spec, e.g. a CNN) or a `hypernetwork`
    /// section (`meta_widths`, `primary_widths`, optional `meta_bias_scale`); the shared options.
    private static func parseModel(_ model: ConfigReader) throws -> ModelArchitecture {
        if model.has("hypernetwork") {
            for key in ["widths", "network", "input_shape", "activation", "parametrization", "bias_scale", "weight_scale"] where model.has(key) {
                throw model.error(key, "a hypernetwork is ReLU in the paper's parametrization and takes only meta_widths, primary_widths and meta_bias_scale (inside 'hypernetwork'); remove '\(key)'")
            }
            let h = try model.requiredSection("hypernetwork")
            guard let meta = try h.ints("meta_widths") else {
                throw h.error(nil, "missing 'meta_widths' ([n_0, hidden widths…] of f; n_0 = the dimension of x, e.g. the number of workers for one-hot ids)")
            }
            guard let primary = try h.ints("primary_widths") else {
                throw h.error(nil, "missing 'primary_widths' ([m_0, hidden widths…, k] of g, e.g. [64, 32, 10])")
            }
            let beta = try h.double("meta_bias_scale") ?? 0
            try h.rejectUnknownKeys()
            do {
                return .hypernetwork(try HypernetworkArchitecture(metaWidths: meta, primaryWidths: primary, metaBiasScale: beta))
            } catch { throw h.error(nil, "\(error)") }
        }
        let parametrization: Parametrization = try model.choice("parametrization") ?? .ntk
        let biasScale = try model.double("bias_scale") ?? 0.1, weightScale = try model.double("weight_scale")
        switch (try model.ints("widths"), try model.string("network")) {
        case (let widths?, nil):
            guard try model.string("input_shape") == nil else { throw model.error("input_shape", "only a 'network' takes an input shape; an MLP's is widths[0]") }
            do {
                return .mlp(try MLPArchitecture(widths: widths, activation: try model.choice("activation") ?? .relu,
                                                parametrization: parametrization, biasScale: biasScale, weightScale: weightScale))
            } catch let e as ModelError { throw model.error("widths", "\(e)") }
        case (nil, let spec?):
            guard try model.string("activation") == nil else {
                throw model.error("activation", "a network spec writes its activations itself, e.g. conv(16,3)-relu-gap-dense(10)")
            }
            guard let shapeText = try model.string("input_shape") else {
                throw model.error(nil, "a 'network' needs 'input_shape', e.g. 8x8x1 (height x width x channels) or 64 (flat)")
            }
            let shape: TensorShape
            do { shape = try TensorShape(parsing: shapeText) } catch { throw model.error("input_shape", "\(error)") }
            do {
                return .network(try NetworkArchitecture(spec: spec, inputShape: shape, parametrization: parametrization,
                                                        biasScale: biasScale, weightScale: weightScale))
            } catch let e as NetworkSpecError { throw model.error("network", "\(e)") }
            catch { throw model.error("network", "\(error)") }
        case (_?, _?): throw model.error("network", "give either 'widths' (an MLP) or 'network' (a spec), not both")
        case (nil, nil): throw model.error(nil, "missing 'widths' (e.g. [64, 512, 512, 10]), 'network' (e.g. conv(16,3)-relu-gap-dense(10)) or 'hypernetwork'")
        }
    }

    /// A `data:` section; with `clientCount`, the `clients:` template, whose shard needs no index or count.
    private static func parseData(_ d: ConfigReader, resolve: (String) -> String, clientCount: Int? = nil) throws -> DataSource {
        guard let file = try d.string("file") else { throw d.error(nil, "missing 'file'") }
        var source = DataSource(file: resolve(file))
        source.format = try d.choice("format")
        if let labels = try d.string("labels_file") { source.labelsFile = resolve(labels) }
        if let targets = try d.string("targets_file") { source.targetsFile = resolve(targets) }
        if (source.format ?? DataFormat.inferred(from: source.file)) == .idx, source.labelsFile == nil {
            throw d.error("labels_file", "an IDX images file needs 'labels_file' (the IDX labels file)")
        }
        source.featuresKey = try d.string("features_key") ?? "x"
        source.labelsKey = try d.string("labels_key") ?? "y"
        source.labelColumn = try d.int("label_column")
        if let c = source.labelColumn, c < 0 { throw d.error("label_column", "must be ≥ 0 (0-based)") }
        source.header = try d.bool("header") ?? false
        source.inputDimension = try d.int("input_dimension")
        if let n = source.inputDimension, n < 1 { throw d.error("input_dimension", "must be ≥ 1") }
        source.featureScale = try d.double("feature_scale") ?? 1
        guard source.featureScale != 0 else { throw d.error("feature_scale", "must not be 0") }
        // A number (every feature) or a list (one per feature).
        func numbers(_ key: String) throws -> [Double] {
            guard d.has(key) else { return [] }
            if let v = try? d.double(key) { return [v] }
            return try d.doubles(key) ?? []
        }
        source.featureOffset = try numbers("feature_offset")
        source.featureStd = try numbers("feature_std")
        if let bad = source.featureStd.firstIndex(where: { !($0 > 0) }) {
            throw d.error("feature_std", "value \(bad + 1) (\(source.featureStd[bad])) must be > 0")
        }
        source.standardization = try d.choice("standardize") ?? .none
        if source.standardization == .federated, let key = ["feature_offset", "feature_std"].first(where: d.has) {
            throw d.error(key, "'standardize: federated' computes the offset and std from the workers' pooled statistics; remove '\(key)'")
        }
        if d.has("classes") {
            let k = try d.int("classes")!
            guard k == 0 || k >= 2 else { throw d.error("classes", "must be ≥ 2 (classification) or 0 (regression)") }
            source.classes = k == 0 ? nil : k
        }
        source.split = try d.choice("split") ?? .all
        source.trainFraction = try d.double("train_fraction") ?? 0.8
        guard source.trainFraction > 0, source.trainFraction < 1 else { throw d.error("train_fraction", "must be in (0, 1)") }
        source.splitSeed = UInt64(max(0, try d.int("split_seed") ?? 0))
        if let s = try d.section("shard") {
            if clientCount != nil, let key = ["index", "count"].first(where: s.has) {
                throw s.error(key, "the clients' shard template takes no '\(key)': client i gets shard i of clients.count")
            }
            guard let index = clientCount != nil ? 0 : try s.int("index"), let count = try clientCount ?? s.int("count"),
                  count >= 1, index >= 0, index < count else {
                throw s.error(nil, "a shard needs 'index' in 0..<count and 'count' ≥ 1")
            }
            var shard = ShardSpec(index: index, count: count, seed: UInt64(max(0, try s.int("seed") ?? 0)))
            shard.scheme = try s.choice("scheme") ?? .iid
            shard.alpha = try s.double("alpha") ?? 0.5
            guard shard.alpha > 0 else { throw s.error("alpha", "must be > 0") }
            shard.shardsPerWorker = try s.int("shards_per_worker") ?? 2
            guard shard.shardsPerWorker >= 1 else { throw s.error("shards_per_worker", "must be ≥ 1") }
            shard.minimumSamples = try s.int("min_samples") ?? 1
            guard shard.minimumSamples >= 0 else { throw s.error("min_samples", "must be ≥ 0") }
            if source.classes == nil, shard.scheme.skewsLabels {
                throw s.error("scheme", "'\(shard.scheme.rawValue)' skews labels and needs classification data ('classes: k')")
            }
            source.shard = shard
            try s.rejectUnknownKeys()
        }
        try d.rejectUnknownKeys()
        return source
    }
}

/// FNV-1a, 64 bits, as 16 hex digits: a stable identity of a configuration text.
func fnv1a(_ text: String) -> String {
    var h: UInt64 = 0xcbf2_9ce4_8422_2325
    for b in text.utf8 { h = (h ^ UInt64(b)) &* 0x100_0000_01b3 }
    return String(format: "%016llx", h)
}
