import Foundation

/// Encoding and validating decoding of multipart messages, and chunking (see `Chunking.swift`).
public enum Wire {
    /// The frames of a message: header, metadata, one frame per array (array frames are shared, not copied).
    public static func encode(_ message: Message) -> [Frame] {
        // Message's initializers keep the derived header fields consistent with the content.
        var frames: [Frame] = [Frame(array: message.header.encoded()), Frame(array: [UInt8](message.metadata))]
        frames.reserveCapacity(2 + message.arrays.count)
        for a in message.arrays { frames.append(a.frame) }
        return frames
    }

    /// Decodes and validates every part of a message; throws a `WireError` naming the first problem.
    ///
    /// Order: frame count and total size, header (length, magic, version, checksum, type, flags), counts,
    /// metadata (length, size, checksum, JSON), every descriptor against its frame — all before reading
    /// any array byte — then array checksums and, with `requireFinite`, NaN/∞. Nothing is allocated from a
    /// size that has not been checked against `limits`; array frames are kept as they are (zero-copy).
    public static func decode(_ frames: [Frame], limits: WireLimits = .default) throws -> Message {
        try decode(frames, limits: limits, checksumsVerified: false)
    }

    /// The header alone, when it is valid (for a `Reject`'s `rejectedType`/`rejectedRound` after `decode` failed).
    public static func peekHeader(_ frames: [Frame]) -> MessageHeader? {
        guard let first = frames.first else { return nil }
        return try? MessageHeader.decode(first.bytes)
    }

    /// `checksumsVerified`: the reassembler hashed the arrays while they arrived; skip that pass.
    static func decode(_ frames: [Frame], limits: WireLimits, checksumsVerified: Bool) throws -> Message {
        guard frames.count >= 2 else { throw WireError.tooFewFrames(count: frames.count) }
        let maxFrames = limits.maxArrayCount > Int.max - 2 ? Int.max : max(limits.maxArrayCount, 0) + 2
        guard frames.count <= maxFrames else { throw WireError.tooManyFrames(count: frames.count, limit: maxFrames) }
        var total = 0
        for f in frames {
            let (s, o) = total.addingReportingOverflow(f.count)
            guard !o, s <= limits.maxMessageBytes else {
                throw WireError.messageTooLarge(bytes: frames.reduce(0) { $0 &+ $1.count }, limit: limits.maxMessageBytes)
            }
            total = s
        }

        let header = try MessageHeader.decode(frames[0].bytes)
        let arrayFrames = frames.count - 2
        guard Int(header.arrayCount) == arrayFrames else {
            throw WireError.arrayCountMismatch(header: Int(header.arrayCount), descriptors: nil, frames: arrayFrames)
        }
        let metaFrame = frames[1].bytes
        guard Int(header.metadataLength) == metaFrame.count else {
            throw WireError.metadataLengthMismatch(header: Int(header.metadataLength), frame: metaFrame.count)
        }
        guard metaFrame.count <= limits.maxMetadataBytes else {
            throw WireError.metadataTooLarge(bytes: metaFrame.count, limit: limits.maxMetadataBytes)
        }
        let metaSum = XXH64.hash32(metaFrame)
        guard metaSum == header.metadataChecksum else {
            throw WireError.metadataChecksumMismatch(stored: header.metadataChecksum, computed: metaSum)
        }
        let metadata = Data(metaFrame)
        let descriptors = try validateDescriptors(metadata, limits: limits, frameSizes: frames[2...].map(\.count),
                                                  declared: Int(header.arrayCount))

        var arrays: [TypedArray] = []
        arrays.reserveCapacity(descriptors.count)
        for (d, f) in zip(descriptors, frames[2...]) {
            let sum = checksumsVerified ? d.checksum : XXH64.hash(f.bytes)
            guard sum == d.checksum else { throw WireError.arrayChecksumMismatch(array: d.name, stored: d.checksum, computed: sum) }
            if limits.requireFinite, let bad = firstNonFinite(f.bytes, d.dtype) {
                throw WireError.nonFinite(array: d.name, index: bad)
            }
            arrays.append(TypedArray(unchecked: d.name, dtype: d.dtype, shape: d.shape, frame: f, source: nil))
        }
        return Message(header: header, metadata: metadata, arrays: arrays, descriptors: descriptors)
    }

    /// Parses the descriptors of a metadata frame and checks them against the limits and, when given,
    /// the sizes of the array frames (`frameSizes == nil` for a chunked message's original metadata).
    static func validateDescriptors(_ metadata: Data, limits: WireLimits, frameSizes: [Int]?, declared: Int?) throws -> [ArrayDescriptor] {
        let raw = try WireJSON.decode(MetadataDescriptors.self, from: metadata).arrays
        if let declared, raw.count != declared {
            throw WireError.arrayCountMismatch(header: declared, descriptors: raw.count, frames: frameSizes?.count ?? declared)
        }
        guard raw.count <= limits.maxArrayCount else { throw WireError.tooManyArrays(count: raw.count, limit: limits.maxArrayCount) }
        var names = Set<String>()
        var out: [ArrayDescriptor] = []
        out.reserveCapacity(raw.count)
        for (i, r) in raw.enumerated() {
            let d = try r.validated(index: i, limits: limits, frameBytes: frameSizes?[i])
            guard names.insert(d.name).inserted else { throw WireError.duplicateArrayName(d.name) }
            out.append(d)
        }
        return out
    }
}
