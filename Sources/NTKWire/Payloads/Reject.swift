/// Either way: the peer's last message was refused; `reason` is the `WireError` (or policy) text.
public struct Reject: BodyOnlyPayload, Equatable {
    public typealias Body = Reject
    public static let messageType = MessageType.reject

    /// Machine-readable category.
    public var code: RejectCode
    /// Human-readable reason (logged by the receiver).
    public var reason: String
    /// The refused message's type (raw header value), when it could be read.
    public var rejectedType: UInt16?
    /// The refused message's round, when it could be read.
    public var rejectedRound: UInt64?
    /// True when retrying the same thing cannot succeed (wrong run, incompatible shard): the worker should stop.
    public var fatal: Bool

    public init(code: RejectCode, reason: String, rejectedType: UInt16? = nil, rejectedRound: UInt64? = nil, fatal: Bool = false) {
        self.code = code
        self.reason = reason
        self.rejectedType = rejectedType
        self.rejectedRound = rejectedRound
        self.fatal = fatal
    }

    /// A reject for a message that failed to decode.
    public init(_ error: WireError, rejectedType: UInt16? = nil, rejectedRound: UInt64? = nil) {
        let code: RejectCode
        switch error {
        case .unsupportedVersion: code = .unsupportedVersion
        case .messageTooLarge, .metadataTooLarge, .tooManyArrays, .tooManyFrames, .reassemblyLimit: code = .tooLarge
        case .nonFinite: code = .nonFinite
        case .shapeMismatch, .dtypeMismatch, .missingArray, .unexpectedArray: code = .shapeMismatch
        default: code = .malformed
        }
        self.init(code: code, reason: error.description, rejectedType: rejectedType, rejectedRound: rejectedRound,
                  fatal: code == .unsupportedVersion)
    }

    public func validate() throws {
        guard reason.utf8.count <= 4096 else { throw WireError.invalidPayload("reject: reason longer than 4096 bytes") }
    }
}

/// Why a message was refused.
public enum RejectCode: String, Codable, CaseIterable, Sendable {
    /// Failed validation (checksum, JSON, sizes…).
    case malformed
    /// Header version not spoken by the receiver.
    case unsupportedVersion
    /// Over a size limit (send it chunked, or smaller).
    case tooLarge
    /// Holds NaN/∞ where finite values are required.
    case nonFinite
    /// Arrays do not match the architecture or the announced shard.
    case shapeMismatch
    /// Header run id is not this run's.
    case wrongRun
    /// Header round is not the current one (stale or early).
    case wrongRound
    /// Sender has not registered (or its worker id is unknown): register again.
    case unregistered
    /// Not expected now (e.g. a block when no refresh was asked for).
    case unexpected
    /// Registration refused (duplicate name with another fingerprint, run full, …).
    case refused
    /// Anything else, including codes from newer peers.
    case other

    public init(from decoder: Decoder) throws {
        // Unknown codes from a newer peer degrade to `.other` instead of failing the whole reject.
        self = RejectCode(rawValue: try decoder.singleValueContainer().decode(String.self)) ?? .other
    }
}
