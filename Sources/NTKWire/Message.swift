import Foundation

/// One protocol message: header, metadata JSON (descriptors + body) and the array frames.
///
/// Descriptors, checksums included, are computed once when the message is built, so sending the same
/// message to many workers (`addressed(to:)`) hashes the arrays once.
public struct Message: Sendable {
    /// Routing fields (type, flags, worker id, run id, round); the counts and metadata checksum are
    /// derived from the content when encoding.
    public var header: MessageHeader
    /// The metadata frame (UTF-8 JSON).
    public let metadata: Data
    /// The arrays, in frame order.
    public let arrays: [TypedArray]
    /// Their descriptors, as written in (or read from) the metadata.
    public let descriptors: [ArrayDescriptor]

    /// Builds a message from a type-specific body and arrays (computes every array's checksum).
    public init<Body: Encodable>(type: MessageType, body: Body, arrays: [TypedArray] = [], flags: MessageFlags = [],
                                 workerID: UInt32 = 0, runID: UInt64 = 0, round: UInt64 = 0) throws {
        var seen = Set<String>()
        for a in arrays where !seen.insert(a.name).inserted { throw WireError.duplicateArrayName(a.name) }
        guard arrays.count <= Int(UInt32.max) else { throw WireError.tooManyArrays(count: arrays.count, limit: Int(UInt32.max)) }
        let descriptors = arrays.map { $0.descriptor() }
        let metadata = try WireJSON.encode(MetadataEnvelope(arrays: descriptors.map(WireArrayDescriptor.init), body: body))
        guard metadata.count <= Int(UInt32.max) else {
            throw WireError.metadataTooLarge(bytes: metadata.count, limit: Int(UInt32.max))
        }
        let header = MessageHeader(type: type, flags: flags, workerID: workerID, runID: runID, round: round)
        self.init(header: header, metadata: metadata, arrays: arrays, descriptors: descriptors)
    }

    /// Builds a message from a typed payload.
    public init<P: WirePayload>(_ payload: P, workerID: UInt32 = 0, runID: UInt64 = 0, round: UInt64 = 0) throws {
        try self.init(type: P.messageType, body: payload.body, arrays: payload.arrays, workerID: workerID, runID: runID, round: round)
    }

    /// Parts already consistent (decoder, reassembler); fills in the derived header fields.
    init(header: MessageHeader, metadata: Data, arrays: [TypedArray], descriptors: [ArrayDescriptor]) {
        var h = header
        h.arrayCount = UInt32(arrays.count)
        h.metadataLength = UInt32(metadata.count)
        h.metadataChecksum = metadata.withUnsafeBytes { XXH64.hash32($0) }
        self.header = h
        self.metadata = metadata
        self.arrays = arrays
        self.descriptors = descriptors
    }

    /// The message type.
    public var type: MessageType { header.type }

    /// The same message with other routing fields (no re-hashing).
    public func addressed(workerID: UInt32? = nil, runID: UInt64? = nil, round: UInt64? = nil) -> Message {
        var m = self
        if let workerID { m.header.workerID = workerID }
        if let runID { m.header.runID = runID }
        if let round { m.header.round = round }
        return m
    }

    /// Total bytes of all frames.
    public var byteCount: Int { MessageHeader.byteCount + metadata.count + arrays.reduce(0) { $0 + $1.byteCount } }

    /// The array with this name.
    public func array(_ name: String) -> TypedArray? { arrays.first { $0.name == name } }

    /// The metadata's `body`, decoded as `B`.
    public func body<B: Decodable>(as type: B.Type) throws -> B {
        do { return try WireJSON.decode(MetadataBody<B>.self, from: metadata).body } catch WireError.invalidMetadata(let why) {
            throw WireError.invalidPayload("\(header.type) body: \(why)")
        }
    }

    /// The typed payload; throws if the type differs or the body/arrays do not fit it.
    public func payload<P: WirePayload>(_ type: P.Type) throws -> P {
        guard header.type == P.messageType else { throw WireError.wrongMessageType(expected: P.messageType, got: header.type) }
        guard !header.flags.contains(.chunk) else { throw WireError.invalidPayload("this is a chunk: pass it to a Reassembler first") }
        return try P(body: body(as: P.Body.self), arrays: arrays)
    }

    /// The frames to send (`Wire.encode`).
    public func encoded() -> [Frame] { Wire.encode(self) }
}
