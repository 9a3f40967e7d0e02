import NTKCore

/// Server → worker: registration accepted; how to take part in the run.
public struct Welcome: BodyOnlyPayload, Equatable {
    public typealias Body = Welcome
    public static let messageType = MessageType.welcome

    /// The id to put in every later header (also in this message's header).
    public var workerID: UInt32
    /// The run's name (`RunID.of(name:)` is the header's run id).
    public var runName: String
    /// The MLP whose Jacobian the worker computes (absent when the model is a `network`).
    public var architecture: MLPArchitecture?
    /// The network, when the model is not an MLP (a spec with its input shape).
    public var network: NetworkArchitecture?
    /// The hypernetwork, when the model is one (input rows `[x, z]`, the worker's `x` first; dense blocks).
    public var hypernetwork: HypernetworkArchitecture?
    /// The loss the worker reports in `CandidateLosses` and `EvaluationReport`.
    public var loss: LossFunction
    /// Block format to send (one the worker announced).
    public var blockFormat: BlockFormat
    /// Dtype of block arrays (one the worker announced).
    public var blockDType: DType
    /// How often each side sends a heartbeat when otherwise silent.
    public var heartbeatIntervalSeconds: Double
    /// Silence after which a peer is considered gone.
    public var peerTimeoutSeconds: Double
    /// Largest message the server accepts in one piece: larger ones are chunked to this size.
    public var maxMessageBytes: Int
    /// The round the run is at (a rejoining worker learns where it is).
    public var currentRound: UInt64
    /// Present in a baseline run (FedAvg, FedProx, SCAFFOLD): answer every `roundStart` with local SGD and a `localUpdate`.
    public var localTraining: LocalTraining?
    /// `true`: the server keeps the inputs `X0` of this worker's first factored block (until it registers again),
    /// so later factored blocks may leave them out (`Block.Body.inputsOmitted`). Absent: always send them.
    public var keepsInputs: Bool?

    public init(workerID: UInt32, runName: String, architecture: MLPArchitecture, loss: LossFunction = .mse,
                blockFormat: BlockFormat = .factored, blockDType: DType = .f32, heartbeatIntervalSeconds: Double = 5,
                peerTimeoutSeconds: Double = 30, maxMessageBytes: Int = WireLimits.default.maxMessageBytes, currentRound: UInt64 = 0) {
        self.init(workerID: workerID, runName: runName, model: .mlp(architecture), loss: loss, blockFormat: blockFormat,
                  blockDType: blockDType, heartbeatIntervalSeconds: heartbeatIntervalSeconds, peerTimeoutSeconds: peerTimeoutSeconds,
                  maxMessageBytes: maxMessageBytes, currentRound: currentRound)
    }

    /// A welcome for any model.
    public init(workerID: UInt32, runName: String, model: ModelArchitecture, loss: LossFunction = .mse,
                blockFormat: BlockFormat = .factored, blockDType: DType = .f32, heartbeatIntervalSeconds: Double = 5,
                peerTimeoutSeconds: Double = 30, maxMessageBytes: Int = WireLimits.default.maxMessageBytes, currentRound: UInt64 = 0) {
        self.workerID = workerID
        self.runName = runName
        switch model {
        case .mlp(let a): architecture = a
        case .network(let n): network = n
        case .hypernetwork(let h): hypernetwork = h
        }
        self.loss = loss
        self.blockFormat = blockFormat
        self.blockDType = blockDType
        self.heartbeatIntervalSeconds = heartbeatIntervalSeconds
        self.peerTimeoutSeconds = peerTimeoutSeconds
        self.maxMessageBytes = maxMessageBytes
        self.currentRound = currentRound
    }

    public func validate() throws {
        guard workerID != 0 else { throw WireError.invalidPayload("welcome: workerID 0 is reserved for unregistered workers") }
        guard !runName.isEmpty, runName.utf8.count <= 256 else { throw WireError.invalidPayload("welcome: runName must be 1–256 bytes") }
        switch (architecture, network, hypernetwork) {
        case (let a?, nil, nil): try a.checkedForWire()
        case (nil, _?, nil): guard blockFormat == .dense else { throw WireError.invalidPayload("welcome: a network's blocks travel dense") }
        case (nil, nil, let h?):
            try h.checkedForWire()
            guard blockFormat == .dense else { throw WireError.invalidPayload("welcome: a hypernetwork's blocks travel dense") }
        default: throw WireError.invalidPayload("welcome: give exactly one of architecture (an MLP), network and hypernetwork")
        }
        guard blockDType.isFloatingPoint else {
            throw WireError.invalidPayload("welcome: block dtype \(blockDType.rawValue) is not one of f32, f64, f16, bf16")
        }
        guard heartbeatIntervalSeconds.isFinite, heartbeatIntervalSeconds > 0,
              peerTimeoutSeconds.isFinite, peerTimeoutSeconds > heartbeatIntervalSeconds else {
            throw WireError.invalidPayload("welcome: need 0 < heartbeatIntervalSeconds < peerTimeoutSeconds")
        }
        guard maxMessageBytes >= 4096 else { throw WireError.invalidPayload("welcome: maxMessageBytes \(maxMessageBytes) < 4096") }
        try localTraining?.validate()
    }

    /// The model, MLP, network or hypernetwork (`validate` guarantees exactly one is present).
    public var model: ModelArchitecture {
        if let a = architecture { return .mlp(a) }
        if let h = hypernetwork { return .hypernetwork(h) }
        return .network(network!)
    }
}

/// Runs a type's validating initializer again on decoded fields (the synthesized `Decodable` skips it): its
/// error, or a result that differs from the decoded value, is an invalid payload named `what`.
private func revalidate<T: Equatable>(_ decoded: T, as what: String, _ rebuild: () throws -> T) throws {
    let copy: T
    do { copy = try rebuild() } catch { throw WireError.invalidPayload("\(what): \(error)") }
    guard copy == decoded else { throw WireError.invalidPayload("\(what): inconsistent fields") }
}

extension HypernetworkArchitecture {
    /// Re-runs the validating initializer (the synthesized `Decodable` skips it) and bounds the sizes, as for an MLP.
    func checkedForWire() throws {
        guard metaWidths.count <= 1024, primaryWidths.count <= 1025,
              (metaWidths + primaryWidths).allSatisfy({ $0 <= 1 << 24 }) else {
            throw WireError.invalidPayload("hypernetwork: at most 1024 layers of width ≤ 2^24")
        }
        try revalidate(self, as: "hypernetwork") {
            try HypernetworkArchitecture(metaWidths: metaWidths, primaryWidths: primaryWidths, metaBiasScale: metaBiasScale)
        }
        // n_L (g's weight count) and then P = Σ (n_{l−1}+1) n_l must fit comfortably in Int.
        var nL = 0
        for l in 1..<primaryWidths.count {
            let (w, o1) = primaryWidths[l].multipliedReportingOverflow(by: primaryWidths[l - 1])
            let (s, o2) = nL.addingReportingOverflow(w)
            guard !o1, !o2, s <= 1 << 40 else { throw WireError.invalidPayload("hypernetwork: primary weight count overflows") }
            nL = s
        }
        try MLPArchitecture(widths: metaWidths + [nL], activation: .relu, parametrization: .ntk, biasScale: metaBiasScale,
                            weightScale: 2.0.squareRoot()).checkedForWire()
    }
}

extension MLPArchitecture {
    /// Re-runs the validating initializer: the synthesized `Decodable` skips it, and a decoded
    /// architecture with no layers or negative widths would trap later in NTKCore.
    func checkedForWire() throws {
        guard widths.count <= 1025, widths.allSatisfy({ $0 <= 1 << 24 }) else {
            throw WireError.invalidPayload("architecture: at most 1024 layers of width ≤ 2^24")
        }
        try revalidate(self, as: "architecture") {
            try MLPArchitecture(widths: widths, activation: activation, parametrization: parametrization,
                                biasScale: biasScale, weightScale: weightScale)
        }
        // P must fit comfortably in Int (and in the 32-bit BLAS index of DESIGN.md §4 per matrix).
        var p = 0
        for l in 1..<widths.count {
            let (w, o1) = widths[l].multipliedReportingOverflow(by: widths[l - 1] + 1)
            let (s, o2) = p.addingReportingOverflow(w)
            guard !o1, !o2, s <= 1 << 40 else { throw WireError.invalidPayload("architecture: parameter count overflows") }
            p = s
        }
    }
}
