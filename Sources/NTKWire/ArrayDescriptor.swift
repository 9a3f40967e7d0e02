/// What the metadata says about one array frame: name, dtype, shape, byte count and XXH64 checksum.
public struct ArrayDescriptor: Equatable, Sendable {
    /// Longest accepted name, in bytes.
    public static let maxNameLength = 64

    public let name: String
    public let dtype: DType
    public let shape: [Int]
    public let byteCount: Int
    /// XXH64 (seed 0) of the array's bytes.
    public let checksum: UInt64

    public init(name: String, dtype: DType, shape: [Int], byteCount: Int, checksum: UInt64) {
        self.name = name
        self.dtype = dtype
        self.shape = shape
        self.byteCount = byteCount
        self.checksum = checksum
    }

    /// Whether `name` is 1–64 bytes of `[A-Za-z0-9_.-]` (names end up in logs and file names).
    public static func isValidName(_ name: String) -> Bool {
        let u = name.utf8
        guard !u.isEmpty, u.count <= maxNameLength else { return false }
        return u.allSatisfy { c in
            (c >= 0x30 && c <= 0x39) || (c >= 0x41 && c <= 0x5A) || (c >= 0x61 && c <= 0x7A) || c == 0x5F || c == 0x2E || c == 0x2D
        }
    }

    /// `shape.product × dtype.size`, or nil on overflow.
    static func shapeByteCount(_ shape: [Int], _ dtype: DType) -> Int? {
        var n = dtype.size
        for d in shape {
            guard d >= 0 else { return nil }
            let (p, o) = n.multipliedReportingOverflow(by: d)
            if o { return nil }
            n = p
        }
        return n
    }
}

/// The JSON form of a descriptor (`{"name","dtype","shape","bytes","xxh64"}`), before validation.
struct WireArrayDescriptor: Codable, Sendable {
    var name: String
    var dtype: String
    var shape: [Int]
    var bytes: Int
    var xxh64: String

    init(_ d: ArrayDescriptor) {
        name = d.name
        dtype = d.dtype.rawValue
        shape = d.shape
        bytes = d.byteCount
        xxh64 = hex64(d.checksum)
    }

    /// Checks everything that does not need the array's bytes: name, dtype, rank, dimensions, byte count.
    /// `frameBytes` is the size of the array's frame when there is one (nil for chunked originals).
    func validated(index: Int, limits: WireLimits, frameBytes: Int?) throws -> ArrayDescriptor {
        guard ArrayDescriptor.isValidName(name) else { throw WireError.invalidArrayName(index: index, name: name) }
        guard let dt = DType(rawValue: dtype) else {
            throw WireError.unknownDType(array: name, dtype: dtype)
        }
        guard shape.count <= limits.maxRank else {
            throw WireError.rankTooLarge(array: name, rank: shape.count, limit: limits.maxRank)
        }
        for (axis, d) in shape.enumerated() where d < 0 || d > limits.maxDimension {
            throw WireError.invalidDimension(array: name, axis: axis, value: d, limit: limits.maxDimension)
        }
        let expected = ArrayDescriptor.shapeByteCount(shape, dt)
        guard let expected, expected == bytes, frameBytes == nil || frameBytes == bytes else {
            throw WireError.byteCountMismatch(array: name, shapeBytes: expected, descriptor: bytes, frame: frameBytes)
        }
        guard let sum = parseHex64(xxh64) else { throw WireError.invalidChecksumFormat(array: name, value: xxh64) }
        return ArrayDescriptor(name: name, dtype: dt, shape: shape, byteCount: bytes, checksum: sum)
    }
}
