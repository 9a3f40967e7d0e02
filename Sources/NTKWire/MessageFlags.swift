/// Header flag bits; bits not defined here must be zero (a decoder rejects them).
public struct MessageFlags: OptionSet, Sendable, Hashable, Codable {
    public let rawValue: UInt32
    public init(rawValue: UInt32) { self.rawValue = rawValue }

    /// This message is one chunk of a larger message of the same type (see `Wire.chunk`).
    public static let chunk = MessageFlags(rawValue: 1 << 0)

    /// Every flag this protocol version defines.
    public static let known: MessageFlags = [.chunk]
}
