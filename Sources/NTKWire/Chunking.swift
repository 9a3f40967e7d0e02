import Foundation

extension Wire {
    /// Most chunks one message may be split into (bounds the reassembler's bookkeeping).
    public static let maxChunkCount = 1 << 20

    /// Splits a message whose frames exceed `maxBytes` into chunk messages of at most `maxBytes` each.
    ///
    /// The arrays' bytes are laid end to end and cut into consecutive pieces on byte boundaries (a piece
    /// may split an element); each chunk is a message of the same type, run, round and worker with the
    /// `chunk` flag, a `ChunkInfo` body and one `u8` array per piece (named like the original array, with
    /// its own checksum). Pieces share the original frames' memory (no copy). A message that already fits
    /// is returned as is.
    public static func chunk(_ message: Message, maxBytes: Int,
                             messageID: UInt64 = UInt64.random(in: 1...UInt64.max)) throws -> [Message] {
        if message.byteCount <= maxBytes { return [message] }
        let original = String(decoding: message.metadata, as: UTF8.self)
        let idText = hex64(messageID)
        // Upper bounds of the metadata size: a template with the widest possible numbers (Int.max).
        let wide = Int.max
        let baseTemplate = ChunkInfo(messageId: idText, index: wide, count: wide, original: original, segments: [])
        let base = try WireJSON.encode(MetadataEnvelope<ChunkInfo>(arrays: [], body: baseTemplate)).count
        let longestName = message.arrays.map(\.name).max { $0.utf8.count < $1.utf8.count } ?? "x"
        var oneTemplate = baseTemplate
        oneTemplate.segments = [ChunkSegment(array: wide, offset: wide)]
        let oneDescriptor = WireArrayDescriptor(ArrayDescriptor(name: longestName, dtype: .u8, shape: [wide], byteCount: wide, checksum: .max))
        let one = try WireJSON.encode(MetadataEnvelope(arrays: [oneDescriptor], body: oneTemplate)).count
        let perSegment = one - base + 2   // + the separating commas in both lists
        let needed = MessageHeader.byteCount + base + perSegment + 1
        guard maxBytes >= needed else { throw WireError.chunkSizeTooSmall(maxBytes: maxBytes, needed: needed) }
        let budget = maxBytes - MessageHeader.byteCount - base

        // Plan: consecutive byte ranges of the concatenated arrays (empty arrays need no piece).
        var plans: [[(array: Int, offset: Int, length: Int)]] = []
        var a = 0, offset = 0
        func skipEmpty() { while a < message.arrays.count, message.arrays[a].byteCount == 0 { a += 1; offset = 0 } }
        skipEmpty()
        guard a < message.arrays.count else { throw WireError.chunkSizeTooSmall(maxBytes: maxBytes, needed: message.byteCount) }
        while a < message.arrays.count {
            var available = budget
            var plan: [(array: Int, offset: Int, length: Int)] = []
            while a < message.arrays.count, available > perSegment {
                let take = min(message.arrays[a].byteCount - offset, available - perSegment)
                plan.append((a, offset, take))
                available -= take + perSegment
                offset += take
                if offset == message.arrays[a].byteCount { a += 1; offset = 0; skipEmpty() }
            }
            plans.append(plan)
            guard plans.count <= maxChunkCount else {
                throw WireError.chunkSizeTooSmall(maxBytes: maxBytes, needed: message.byteCount / maxChunkCount + needed)
            }
        }

        var header = message.header
        header.flags.insert(.chunk)
        var chunks: [Message] = []
        chunks.reserveCapacity(plans.count)
        for (index, plan) in plans.enumerated() {
            var segments: [ChunkSegment] = []
            var pieces: [TypedArray] = []
            for p in plan {
                let source = message.arrays[p.array]
                let bytes = UnsafeRawBufferPointer(rebasing: source.frame.bytes[p.offset..<(p.offset + p.length)])
                // The piece's frame keeps the original frame (and so its memory) alive.
                let frame = Frame(bytes: bytes, owner: source.frame)
                pieces.append(TypedArray(unchecked: source.name, dtype: .u8, shape: [p.length], frame: frame, source: nil))
                segments.append(ChunkSegment(array: p.array, offset: p.offset))
            }
            let info = ChunkInfo(messageId: idText, index: index, count: plans.count, original: original, segments: segments)
            let chunk = try Message(type: header.type, body: info, arrays: pieces, flags: header.flags,
                                    workerID: header.workerID, runID: header.runID, round: header.round)
            guard chunk.byteCount <= maxBytes else {   // the size bounds above make this unreachable
                throw WireError.chunkSizeTooSmall(maxBytes: maxBytes, needed: chunk.byteCount)
            }
            chunks.append(chunk)
        }
        return chunks
    }
}

