/// The fixed 48-byte little-endian first frame of every message (layout in docs/protocol.md §2).
///
/// | offset | size | field |
/// |---|---|---|
/// | 0 | 4 | magic `NTK1` |
/// | 4 | 2 | protocol version (1) |
/// | 6 | 2 | message type |
/// | 8 | 4 | flags |
/// | 12 | 4 | worker id (0 before registration) |
/// | 16 | 8 | run id |
/// | 24 | 8 | round |
/// | 32 | 4 | array count |
/// | 36 | 4 | metadata length |
/// | 40 | 4 | metadata checksum: low 32 bits of XXH64(metadata frame) |
/// | 44 | 4 | header checksum: low 32 bits of XXH64(bytes 0..<44) |
///
/// The worker id sits before the 64-bit fields so that every field is naturally aligned (a C
/// struct maps onto the frame as is). Magic and version keep their offsets in every future version,
/// so a peer can always tell "not this protocol" and "another version" apart from corruption.
public struct MessageHeader: Equatable, Sendable {
    /// Size of the header frame.
    public static let byteCount = 48
    /// `NTK1`.
    public static let magic: [UInt8] = Array("NTK1".utf8)
    /// The protocol version this code speaks.
    public static let currentVersion: UInt16 = 1

    public var version: UInt16
    public var type: MessageType
    public var flags: MessageFlags
    public var workerID: UInt32
    public var runID: UInt64
    public var round: UInt64
    public var arrayCount: UInt32
    public var metadataLength: UInt32
    public var metadataChecksum: UInt32

    public init(type: MessageType, flags: MessageFlags = [], workerID: UInt32 = 0, runID: UInt64 = 0, round: UInt64 = 0,
                arrayCount: UInt32 = 0, metadataLength: UInt32 = 0, metadataChecksum: UInt32 = 0,
                version: UInt16 = MessageHeader.currentVersion) {
        self.version = version
        self.type = type
        self.flags = flags
        self.workerID = workerID
        self.runID = runID
        self.round = round
        self.arrayCount = arrayCount
        self.metadataLength = metadataLength
        self.metadataChecksum = metadataChecksum
    }

    /// The 48 bytes, with the header checksum computed.
    public func encoded() -> [UInt8] {
        var b = [UInt8](repeating: 0, count: MessageHeader.byteCount)
        b.withUnsafeMutableBytes { p in
            p.copyBytes(from: MessageHeader.magic)
            p.storeBytes(of: version.littleEndian, toByteOffset: 4, as: UInt16.self)
            p.storeBytes(of: type.rawValue.littleEndian, toByteOffset: 6, as: UInt16.self)
            p.storeBytes(of: flags.rawValue.littleEndian, toByteOffset: 8, as: UInt32.self)
            p.storeBytes(of: workerID.littleEndian, toByteOffset: 12, as: UInt32.self)
            p.storeBytes(of: runID.littleEndian, toByteOffset: 16, as: UInt64.self)
            p.storeBytes(of: round.littleEndian, toByteOffset: 24, as: UInt64.self)
            p.storeBytes(of: arrayCount.littleEndian, toByteOffset: 32, as: UInt32.self)
            p.storeBytes(of: metadataLength.littleEndian, toByteOffset: 36, as: UInt32.self)
            p.storeBytes(of: metadataChecksum.littleEndian, toByteOffset: 40, as: UInt32.self)
            let sum = XXH64.hash32(UnsafeRawBufferPointer(rebasing: p[0..<44]))
            p.storeBytes(of: sum.littleEndian, toByteOffset: 44, as: UInt32.self)
        }
        return b
    }

    /// Parses and checks a header frame: length, magic, version, header checksum, type, flags (in that order).
    public static func decode(_ p: UnsafeRawBufferPointer) throws -> MessageHeader {
        guard p.count == byteCount else { throw WireError.headerLength(got: p.count) }
        guard p[0] == magic[0], p[1] == magic[1], p[2] == magic[2], p[3] == magic[3] else {
            throw WireError.badMagic(got: Array(p[0..<4]))
        }
        func u16(_ o: Int) -> UInt16 { UInt16(littleEndian: p.loadUnaligned(fromByteOffset: o, as: UInt16.self)) }
        func u32(_ o: Int) -> UInt32 { UInt32(littleEndian: p.loadUnaligned(fromByteOffset: o, as: UInt32.self)) }
        func u64(_ o: Int) -> UInt64 { UInt64(littleEndian: p.loadUnaligned(fromByteOffset: o, as: UInt64.self)) }
        let version = u16(4)
        guard version == currentVersion else { throw WireError.unsupportedVersion(got: version, supported: currentVersion) }
        let stored = u32(44)
        let computed = XXH64.hash32(UnsafeRawBufferPointer(rebasing: p[0..<44]))
        guard stored == computed else { throw WireError.headerChecksumMismatch(stored: stored, computed: computed) }
        guard let type = MessageType(rawValue: u16(6)) else { throw WireError.unknownMessageType(u16(6)) }
        let flags = MessageFlags(rawValue: u32(8))
        guard flags.isSubset(of: .known) else { throw WireError.unknownFlags(flags.subtracting(.known).rawValue) }
        return MessageHeader(type: type, flags: flags, workerID: u32(12), runID: u64(16), round: u64(24),
                             arrayCount: u32(32), metadataLength: u32(36), metadataChecksum: u32(40), version: version)
    }
}
