/// Why a message, chunk or payload was refused; the description is the reason logged and sent back in `Reject`.
public enum WireError: Error, Equatable, Sendable, CustomStringConvertible {
    // Envelope
    case tooFewFrames(count: Int)
    case tooManyFrames(count: Int, limit: Int)
    case messageTooLarge(bytes: Int, limit: Int)
    case headerLength(got: Int)
    case badMagic(got: [UInt8])
    case unsupportedVersion(got: UInt16, supported: UInt16)
    case headerChecksumMismatch(stored: UInt32, computed: UInt32)
    case unknownMessageType(UInt16)
    case unknownFlags(UInt32)
    case metadataLengthMismatch(header: Int, frame: Int)
    case metadataTooLarge(bytes: Int, limit: Int)
    case metadataChecksumMismatch(stored: UInt32, computed: UInt32)
    case invalidMetadata(String)
    case arrayCountMismatch(header: Int, descriptors: Int?, frames: Int)
    case tooManyArrays(count: Int, limit: Int)
    // Arrays
    case invalidArrayName(index: Int, name: String)
    case duplicateArrayName(String)
    case rankTooLarge(array: String, rank: Int, limit: Int)
    case invalidDimension(array: String, axis: Int, value: Int, limit: Int)
    case unknownDType(array: String, dtype: String)
    case byteCountMismatch(array: String, shapeBytes: Int?, descriptor: Int, frame: Int?)
    case invalidChecksumFormat(array: String, value: String)
    case arrayChecksumMismatch(array: String, stored: UInt64, computed: UInt64)
    case nonFinite(array: String, index: Int)
    // Payloads
    case wrongMessageType(expected: MessageType, got: MessageType)
    case missingArray(String)
    case unexpectedArray(String)
    case dtypeMismatch(array: String, expected: [DType], got: DType)
    case shapeMismatch(array: String, expected: [Int], got: [Int])
    case unsupportedConversion(array: String, from: DType, to: String)
    case invalidPayload(String)
    // Chunking
    case chunkSizeTooSmall(maxBytes: Int, needed: Int)
    case invalidChunk(String)
    case duplicateChunk(messageID: UInt64, index: Int)
    case inconsistentChunk(messageID: UInt64, reason: String)
    case reassemblyLimit(String)

    public var description: String {
        switch self {
        case .tooFewFrames(let n):
            return "message has \(n) frame(s); at least 2 (header, metadata) are required"
        case .tooManyFrames(let n, let limit):
            return "message has \(n) frames; at most \(limit) (2 + max array count) are accepted"
        case .messageTooLarge(let b, let limit):
            return "message is \(b) bytes; the limit is \(limit) (send it in chunks)"
        case .headerLength(let n):
            return "header frame is \(n) bytes; it must be exactly \(MessageHeader.byteCount)"
        case .badMagic(let m):
            return "bad magic \(m.map { String($0, radix: 16) }); expected \"NTK1\" (4e 54 4b 31)"
        case .unsupportedVersion(let v, let s):
            return "protocol version \(v) is not supported (this peer speaks \(s))"
        case .headerChecksumMismatch(let s, let c):
            return "header checksum mismatch: stored \(hex32(s)), computed \(hex32(c))"
        case .unknownMessageType(let t):
            return "unknown message type \(t)"
        case .unknownFlags(let f):
            return "unknown header flag bits \(hex32(f))"
        case .metadataLengthMismatch(let h, let f):
            return "header declares \(h) metadata bytes, metadata frame has \(f)"
        case .metadataTooLarge(let b, let limit):
            return "metadata is \(b) bytes; the limit is \(limit)"
        case .metadataChecksumMismatch(let s, let c):
            return "metadata checksum mismatch: stored \(hex32(s)), computed \(hex32(c))"
        case .invalidMetadata(let why):
            return "invalid metadata JSON: \(why)"
        case .arrayCountMismatch(let h, let d, let f):
            let described = d.map { ", metadata describes \($0)" } ?? ""
            return "array count mismatch: header says \(h)\(described), message has \(f) array frame(s)"
        case .tooManyArrays(let n, let limit):
            return "\(n) arrays; at most \(limit) are accepted"
        case .invalidArrayName(let i, let name):
            return "array \(i) has an invalid name \"\(name.prefix(80))\" (1–\(ArrayDescriptor.maxNameLength) bytes of [A-Za-z0-9_.-])"
        case .duplicateArrayName(let name):
            return "array name \"\(name)\" occurs twice"
        case .rankTooLarge(let a, let r, let limit):
            return "array \(a) has rank \(r); at most \(limit) is accepted"
        case .invalidDimension(let a, let axis, let v, let limit):
            return "array \(a) axis \(axis) has size \(v); sizes must be in 0…\(limit)"
        case .byteCountMismatch(let a, let s, let d, let f):
            let shape = s.map(String.init) ?? "overflow"
            let frame = f.map { ", frame has \($0)" } ?? ""
            return "array \(a): shape × dtype size = \(shape) bytes, descriptor says \(d)\(frame)"
        case .unknownDType(let a, let d):
            return "array \(a): unknown dtype \"\(d.prefix(16))\" (expected one of \(DType.allCases.map(\.rawValue).joined(separator: ", ")))"
        case .invalidChecksumFormat(let a, let v):
            return "array \(a): checksum \"\(v.prefix(40))\" is not 16 lowercase hex digits"
        case .arrayChecksumMismatch(let a, let s, let c):
            return "array \(a): checksum mismatch: stored \(hex64(s)), computed \(hex64(c))"
        case .nonFinite(let a, let i):
            return "array \(a) holds NaN or ±∞ (first at flat index \(i))"
        case .wrongMessageType(let e, let g):
            return "expected a \(e) message, got \(g)"
        case .missingArray(let name):
            return "required array \(name) is missing"
        case .unexpectedArray(let name):
            return "unexpected array \(name)"
        case .dtypeMismatch(let a, let e, let g):
            return "array \(a) has dtype \(g.rawValue); expected \(e.map(\.rawValue).joined(separator: " or "))"
        case .shapeMismatch(let a, let e, let g):
            return "array \(a) has shape \(g); expected \(e)"
        case .unsupportedConversion(let a, let from, let to):
            return "array \(a): conversion from \(from.rawValue) to \(to) is not supported"
        case .invalidPayload(let why):
            return "invalid payload: \(why)"
        case .chunkSizeTooSmall(let m, let n):
            return "maximum message size \(m) is too small to chunk this message (needs at least \(n))"
        case .invalidChunk(let why):
            return "invalid chunk: \(why)"
        case .duplicateChunk(let id, let i):
            return "duplicate chunk \(i) of message \(hex64(id)) (or the message was already completed or dropped)"
        case .inconsistentChunk(let id, let why):
            return "chunk of message \(hex64(id)) is inconsistent with earlier chunks: \(why)"
        case .reassemblyLimit(let why):
            return "reassembly refused: \(why)"
        }
    }
}

/// `0x` + 8 hex digits.
func hex32(_ v: UInt32) -> String {
    let s = String(v, radix: 16)
    return "0x" + String(repeating: "0", count: 8 - s.count) + s
}

/// 16 lowercase hex digits, the checksum format in metadata JSON.
func hex64(_ v: UInt64) -> String {
    let s = String(v, radix: 16)
    return String(repeating: "0", count: 16 - s.count) + s
}

/// Parses exactly 16 lowercase hex digits.
func parseHex64(_ s: String) -> UInt64? {
    let u = s.utf8
    guard u.count == 16, u.allSatisfy({ ($0 >= 0x30 && $0 <= 0x39) || ($0 >= 0x61 && $0 <= 0x66) }) else { return nil }
    return UInt64(s, radix: 16)
}
