/// Bounds a decoder enforces before trusting any size it reads: what a peer may make this process hold.
public struct WireLimits: Sendable, Equatable {
    /// Largest message (all frames together) accepted in one piece; larger ones must arrive chunked.
    public var maxMessageBytes: Int
    /// Largest metadata frame.
    public var maxMetadataBytes: Int
    /// Most arrays in one message.
    public var maxArrayCount: Int
    /// Most dimensions of one array.
    public var maxRank: Int
    /// Largest single dimension.
    public var maxDimension: Int
    /// Largest message rebuilt from chunks (the reassembler allocates up to this per message).
    public var maxReassembledBytes: Int
    /// Whether floating-point arrays holding NaN or ±∞ are rejected.
    public var requireFinite: Bool

    public init(maxMessageBytes: Int = 256 << 20, maxMetadataBytes: Int = 1 << 20, maxArrayCount: Int = 1024,
                maxRank: Int = 4, maxDimension: Int = 1 << 31, maxReassembledBytes: Int = 16 << 30,
                requireFinite: Bool = false) {
        self.maxMessageBytes = maxMessageBytes
        self.maxMetadataBytes = maxMetadataBytes
        self.maxArrayCount = maxArrayCount
        self.maxRank = maxRank
        self.maxDimension = maxDimension
        self.maxReassembledBytes = maxReassembledBytes
        self.requireFinite = requireFinite
    }

    /// The defaults: 256 MiB messages, 16 GiB reassembled, finite values not enforced.
    public static let `default` = WireLimits()
}
