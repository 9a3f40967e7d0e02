/// A typed message: its metadata body (Codable JSON) and the arrays that go with it.
///
/// `Message(payload, …)` encodes one; `message.payload(P.self)` decodes and checks one (type, body,
/// array names, dtypes and ranks; architecture-dependent shapes are checked by the helpers that
/// build NTKCore values, which take the architecture).
public protocol WirePayload: Sendable {
    /// The metadata `body`.
    associatedtype Body: Codable & Sendable
    /// The header's message type.
    static var messageType: MessageType { get }
    /// The metadata body.
    var body: Body { get }
    /// The arrays, in frame order.
    var arrays: [TypedArray] { get }
    /// Rebuilds the payload from a decoded body and arrays, validating them.
    init(body: Body, arrays: [TypedArray]) throws
}

/// A payload that is only a JSON body (no arrays): the payload is its own body.
public protocol BodyOnlyPayload: WirePayload, Codable where Body == Self {
    /// Checks the decoded values (counts non-negative, strings bounded…).
    func validate() throws
}

extension BodyOnlyPayload {
    public var body: Self { self }
    public var arrays: [TypedArray] { [] }
    public init(body: Self, arrays: [TypedArray]) throws {
        if let extra = arrays.first { throw WireError.unexpectedArray(extra.name) }
        try body.validate()
        self = body
    }
    public func validate() throws {}
}
