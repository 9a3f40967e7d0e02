/// The metadata body of a chunk: which message it belongs to, where its segments go, and the original metadata.
///
/// Every chunk carries the original metadata (descriptors with whole-array checksums, and the body), so
/// chunks can arrive in any order and the first one to arrive is enough to allocate the buffers.
public struct ChunkInfo: Codable, Equatable, Sendable {
    /// Sender-chosen id shared by all chunks of one message (16 lowercase hex digits; unique per sender).
    public var messageId: String
    /// This chunk's position, 0 ≤ index < count.
    public var index: Int
    /// Number of chunks of the message.
    public var count: Int
    /// The original message's metadata frame, as JSON text.
    public var original: String
    /// Where each of this chunk's arrays goes, parallel to its arrays.
    public var segments: [ChunkSegment]

    public init(messageId: String, index: Int, count: Int, original: String, segments: [ChunkSegment]) {
        self.messageId = messageId
        self.index = index
        self.count = count
        self.original = original
        self.segments = segments
    }
}

/// One piece of an original array inside a chunk: the array's index in the original and the byte offset.
public struct ChunkSegment: Codable, Equatable, Sendable {
    /// Index of the array in the original message.
    public var array: Int
    /// Byte offset of this piece in that array.
    public var offset: Int

    public init(array: Int, offset: Int) {
        self.array = array
        self.offset = offset
    }
}
