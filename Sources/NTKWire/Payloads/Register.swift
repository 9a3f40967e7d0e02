/// Worker → server: join the run, describing the shard (never its contents).
public struct Register: BodyOnlyPayload, Equatable {
    public typealias Body = Register
    public static let messageType = MessageType.register

    /// A human-readable, stable name (logs; a restarted worker reuses it to rejoin).
    public var workerName: String
    /// Training samples m in the shard.
    public var sampleCount: Int
    /// Input dimension n_0.
    public var inputDimension: Int
    /// Outputs k (label columns).
    public var outputCount: Int
    /// `DataFingerprint.sha256` of the shard.
    public var dataFingerprint: String
    /// Samples in the worker's local held-out split (0: none; the server then never asks to evaluate).
    public var heldOutCount: Int
    /// Block formats the worker can compute.
    public var blockFormats: [BlockFormat]
    /// Dtypes the worker can send blocks in.
    public var blockDTypes: [DType]
    /// Largest message the worker accepts in one piece; bigger ones must be chunked to fit.
    public var maxMessageBytes: Int
    /// Free text: implementation and version.
    public var software: String?
    /// The shard's feature sums, when the run standardizes from pooled statistics.
    public var featureMoments: FeatureMoments?

    public init(workerName: String, sampleCount: Int, inputDimension: Int, outputCount: Int, dataFingerprint: String,
                heldOutCount: Int = 0, blockFormats: [BlockFormat] = [.factored, .dense], blockDTypes: [DType] = [.f32],
                maxMessageBytes: Int = WireLimits.default.maxMessageBytes, software: String? = nil) {
        self.workerName = workerName
        self.sampleCount = sampleCount
        self.inputDimension = inputDimension
        self.outputCount = outputCount
        self.dataFingerprint = dataFingerprint
        self.heldOutCount = heldOutCount
        self.blockFormats = blockFormats
        self.blockDTypes = blockDTypes
        self.maxMessageBytes = maxMessageBytes
        self.software = software
    }

    public func validate() throws {
        guard !workerName.isEmpty, workerName.utf8.count <= 256 else {
            throw WireError.invalidPayload("register: workerName must be 1–256 bytes")
        }
        guard sampleCount > 0, inputDimension > 0, outputCount > 0, heldOutCount >= 0 else {
            throw WireError.invalidPayload("register: sampleCount (\(sampleCount)), inputDimension (\(inputDimension)) and outputCount (\(outputCount)) must be > 0, heldOutCount (\(heldOutCount)) ≥ 0")
        }
        guard dataFingerprint.utf8.count <= 256 else { throw WireError.invalidPayload("register: dataFingerprint longer than 256 bytes") }
        guard !blockFormats.isEmpty, !blockDTypes.isEmpty else {
            throw WireError.invalidPayload("register: blockFormats and blockDTypes must not be empty")
        }
        guard maxMessageBytes >= 4096 else { throw WireError.invalidPayload("register: maxMessageBytes \(maxMessageBytes) < 4096") }
        if let s = software, s.utf8.count > 256 { throw WireError.invalidPayload("register: software longer than 256 bytes") }
        try featureMoments?.validate(dimension: inputDimension, samples: sampleCount)
    }
}
