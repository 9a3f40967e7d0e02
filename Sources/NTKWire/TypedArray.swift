import NTKCore

/// A named, typed, shaped array whose little-endian row-major bytes are one frame.
///
/// Built from a Swift array it wraps that array's storage (no copy) and remembers the array, so a
/// message that never leaves the process converts back for free; built from a received frame it reads
/// the frame in place where alignment allows (`withUnsafeElements`) and copies once otherwise.
public struct TypedArray: Sendable {
    public let name: String
    public let dtype: DType
    public let shape: [Int]
    /// The bytes.
    public let frame: Frame
    /// The Swift array the frame wraps, when it was built from one.
    private let source: (any Sendable)?

    /// An array over an existing frame; the shape must account for every byte.
    public init(name: String, dtype: DType, shape: [Int], frame: Frame) throws {
        guard ArrayDescriptor.isValidName(name) else { throw WireError.invalidArrayName(index: 0, name: name) }
        let expected = ArrayDescriptor.shapeByteCount(shape, dtype)
        guard let expected, expected == frame.count else {
            throw WireError.byteCountMismatch(array: name, shapeBytes: expected, descriptor: frame.count, frame: frame.count)
        }
        self.init(unchecked: name, dtype: dtype, shape: shape, frame: frame, source: nil)
    }

    /// Decoder and chunker use: everything already validated.
    init(unchecked name: String, dtype: DType, shape: [Int], frame: Frame, source: (any Sendable)?) {
        self.name = name
        self.dtype = dtype
        self.shape = shape
        self.frame = frame
        self.source = source
    }

    /// An array over `values` (no copy); `shape` defaults to `[values.count]`.
    public init<S: WireScalar>(name: String, _ values: [S], shape: [Int]? = nil) throws {
        let shape = shape ?? [values.count]
        guard ArrayDescriptor.isValidName(name) else { throw WireError.invalidArrayName(index: 0, name: name) }
        let expected = ArrayDescriptor.shapeByteCount(shape, S.dtype)
        let bytes = values.count * MemoryLayout<S>.stride
        guard let expected, expected == bytes else {
            throw WireError.byteCountMismatch(array: name, shapeBytes: expected, descriptor: bytes, frame: bytes)
        }
        self.init(unchecked: name, dtype: S.dtype, shape: shape, frame: Frame(array: values), source: values)
    }

    /// Internal use with names and shapes that are right by construction (`W1`, `theta0`, matrix shapes).
    init<S: WireScalar>(trusted name: String, _ values: [S], shape: [Int]) {
        assert(ArrayDescriptor.isValidName(name) && ArrayDescriptor.shapeByteCount(shape, S.dtype) == values.count * MemoryLayout<S>.stride)
        self.init(unchecked: name, dtype: S.dtype, shape: shape, frame: Frame(array: values), source: values)
    }

    /// Internal use: a matrix under a name that is valid by construction.
    /// A Float matrix rounded to a 16-bit dtype (`.f16`, `.bf16`): half the bytes.
    public init(name: String, narrowing matrix: Matrix<Float>, to dtype: DType) throws {
        try self.init(name: name, narrowing: matrix.elements, to: dtype, shape: [matrix.rows, matrix.columns])
    }

    /// Float values rounded to a 16-bit dtype (`.f16`, `.bf16`), with the given shape (default: a vector).
    public init(name: String, narrowing values: [Float], to dtype: DType, shape: [Int]? = nil) throws {
        let bits = values.withUnsafeBufferPointer { NarrowFloat.encode($0, as: dtype) }
        try self.init(name: name, dtype: dtype, shape: shape ?? [values.count], frame: Frame(array: bits))
    }

    init<S: BLASScalar & WireScalar>(trusted name: String, _ matrix: Matrix<S>) {
        self.init(trusted: name, matrix.elements, shape: [matrix.rows, matrix.columns])
    }

    /// A rows × columns array over the matrix's elements (no copy).
    public init<S: BLASScalar & WireScalar>(name: String, _ matrix: Matrix<S>) throws {
        try self.init(name: name, matrix.elements, shape: [matrix.rows, matrix.columns])
    }

    /// Number of elements (product of the shape).
    public var elementCount: Int { frame.count / dtype.size }
    /// Number of bytes.
    public var byteCount: Int { frame.count }

    /// XXH64 of the bytes (one pass over them).
    public func checksum() -> UInt64 { XXH64.hash(frame.bytes) }

    /// The descriptor that goes into the metadata (computes the checksum).
    public func descriptor() -> ArrayDescriptor {
        ArrayDescriptor(name: name, dtype: dtype, shape: shape, byteCount: byteCount, checksum: checksum())
    }

    /// Runs `body` over the elements in place when the dtype is `S` and the frame is aligned for it;
    /// otherwise over a converted copy (`elements(as:)`).
    public func withUnsafeElements<S: WireScalar, R>(as type: S.Type, _ body: (UnsafeBufferPointer<S>) throws -> R) throws -> R {
        if dtype == S.dtype, Int(bitPattern: frame.bytes.baseAddress) % MemoryLayout<S>.alignment == 0 {
            return try frame.bytes.withMemoryRebound(to: S.self) { try body($0) }
        }
        let copy = try elements(as: S.self)
        return try copy.withUnsafeBufferPointer { try body($0) }
    }

    /// The elements as `S`: free when the frame wraps an array of `S`, one copy from a received frame,
    /// a conversion between f32 and f64, or from f16/bf16 (exact).
    public func elements<S: WireScalar>(as type: S.Type) throws -> [S] {
        if dtype == S.dtype {
            if let array = source as? [S] { return array }
            let n = elementCount
            return [S](unsafeUninitializedCapacity: n) { buffer, initialized in
                UnsafeMutableRawBufferPointer(buffer).copyMemory(from: frame.bytes)
                initialized = n
            }
        }
        let p = frame.bytes
        let converted: Any?
        switch (dtype, S.dtype) {
        case (.f64, .f32):
            converted = (0..<elementCount).map { Float(Double(bitPattern: UInt64(littleEndian: p.loadUnaligned(fromByteOffset: $0 * 8, as: UInt64.self)))) }
        case (.f32, .f64):
            converted = (0..<elementCount).map { Double(Float(bitPattern: UInt32(littleEndian: p.loadUnaligned(fromByteOffset: $0 * 4, as: UInt32.self)))) }
        case (.f16, .f32), (.bf16, .f32):
            converted = NarrowFloat.decode(p, count: elementCount, from: dtype)
        case (.f16, .f64), (.bf16, .f64):
            converted = NarrowFloat.decode(p, count: elementCount, from: dtype).map(Double.init)
        default:
            converted = nil
        }
        guard let result = converted as? [S] else {
            throw WireError.unsupportedConversion(array: name, from: dtype, to: S.dtype.rawValue)
        }
        return result
    }

    /// The array as a matrix (rank 2 required; rank 1 is read as a single row).
    public func matrix<S: BLASScalar & WireScalar>(as type: S.Type) throws -> Matrix<S> {
        let rows: Int, columns: Int
        switch shape.count {
        case 2: rows = shape[0]; columns = shape[1]
        case 1: rows = 1; columns = shape[0]
        default: throw WireError.shapeMismatch(array: name, expected: [-1, -1], got: shape)
        }
        return Matrix(rows: rows, columns: columns, elements: try elements(as: S.self))
    }

    /// Checks dtype (one of `dtypes`) and shape, naming the array in the error.
    public func expect(shape expected: [Int], dtypes: [DType]) throws {
        guard dtypes.contains(dtype) else { throw WireError.dtypeMismatch(array: name, expected: dtypes, got: dtype) }
        guard shape == expected else { throw WireError.shapeMismatch(array: name, expected: expected, got: shape) }
    }

    /// The same bytes under another name (used when renaming for chunking or re-addressing).
    public func renamed(_ newName: String) throws -> TypedArray {
        guard ArrayDescriptor.isValidName(newName) else { throw WireError.invalidArrayName(index: 0, name: newName) }
        return TypedArray(unchecked: newName, dtype: dtype, shape: shape, frame: frame, source: source)
    }
}

extension TypedArray {
    /// Index of the first NaN/±∞ element, or nil; integer dtypes are always finite.
    public func firstNonFiniteIndex() -> Int? { firstNonFinite(frame.bytes, dtype) }
}

/// Scans for NaN/±∞: the exponent field is all ones. A vector pass answers "any?" at memory speed
/// (the common, all-finite case); only then a scalar pass finds the first index.
///
/// The vector test is branch-free: with `e = bits & exponentMask`, `e + lowestExponentBit` carries into
/// the sign bit exactly when `e` is all ones; OR-ing those sums and testing the sign bit at the end
/// needs only SSE2/NEON operations. (Auto-vectorization of the plain loop proved unreliable.)
func firstNonFinite(_ p: UnsafeRawBufferPointer, _ dtype: DType) -> Int? {
    guard let base = p.baseAddress else { return nil }
    switch dtype {
    case .f32:
        let n = p.count / 4
        guard anyAllOnes32(base, n) else { return nil }
        return (0..<n).first { base.loadUnaligned(fromByteOffset: $0 &* 4, as: UInt32.self) & 0x7F80_0000 == 0x7F80_0000 }
    case .f64:
        let n = p.count / 8
        guard anyAllOnes64(base, n) else { return nil }
        let mask: UInt64 = 0x7FF0_0000_0000_0000
        return (0..<n).first { base.loadUnaligned(fromByteOffset: $0 &* 8, as: UInt64.self) & mask == mask }
    case .f16, .bf16:
        let mask: UInt16 = dtype == .f16 ? 0x7C00 : 0x7F80
        let n = p.count / 2
        guard anyAllOnes16(base, n, mask: mask) else { return nil }
        return (0..<n).first { base.loadUnaligned(fromByteOffset: $0 &* 2, as: UInt16.self) & mask == mask }
    case .i64, .u8:
        return nil
    }
}

private func anyAllOnes32(_ base: UnsafeRawPointer, _ n: Int) -> Bool {
    let mask = SIMD16<UInt32>(repeating: 0x7F80_0000), carry = SIMD16<UInt32>(repeating: 0x0080_0000)
    var acc = SIMD16<UInt32>()
    var i = 0
    while i + 16 <= n {
        acc |= (base.loadUnaligned(fromByteOffset: i &* 4, as: SIMD16<UInt32>.self) & mask) &+ carry
        i += 16
    }
    var tail: UInt32 = 0
    while i < n { tail |= (base.loadUnaligned(fromByteOffset: i &* 4, as: UInt32.self) & 0x7F80_0000) &+ 0x0080_0000; i += 1 }
    return (acc.max() | tail) & 0x8000_0000 != 0
}

private func anyAllOnes64(_ base: UnsafeRawPointer, _ n: Int) -> Bool {
    let mask = SIMD8<UInt64>(repeating: 0x7FF0_0000_0000_0000), carry = SIMD8<UInt64>(repeating: 0x0010_0000_0000_0000)
    var acc = SIMD8<UInt64>()
    var i = 0
    while i + 8 <= n {
        acc |= (base.loadUnaligned(fromByteOffset: i &* 8, as: SIMD8<UInt64>.self) & mask) &+ carry
        i += 8
    }
    var tail: UInt64 = 0
    while i < n { tail |= (base.loadUnaligned(fromByteOffset: i &* 8, as: UInt64.self) & mask[0]) &+ carry[0]; i += 1 }
    for lane in 0..<8 { tail |= acc[lane] }
    return tail & 0x8000_0000_0000_0000 != 0
}

private func anyAllOnes16(_ base: UnsafeRawPointer, _ n: Int, mask m: UInt16) -> Bool {
    let lowest = m & ~(m &- 1)   // the exponent's lowest bit
    let mask = SIMD32<UInt16>(repeating: m), carry = SIMD32<UInt16>(repeating: lowest)
    var acc = SIMD32<UInt16>()
    var i = 0
    while i + 32 <= n {
        acc |= (base.loadUnaligned(fromByteOffset: i &* 2, as: SIMD32<UInt16>.self) & mask) &+ carry
        i += 32
    }
    var tail: UInt16 = 0
    while i < n { tail |= (base.loadUnaligned(fromByteOffset: i &* 2, as: UInt16.self) & m) &+ lowest; i += 1 }
    return (acc.max() | tail) & 0x8000 != 0
}
