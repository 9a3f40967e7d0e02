import Foundation

/// An n-dimensional array as stored in a NumPy `.npy` file: a shape and little-endian elements.
///
/// Reads `float32`, `float64`, `int64`, `int32` (C or Fortran order; Fortran is reordered to C);
/// writes C-order `float32`/`float64`/`int64` in format version 1.0.
public struct NumpyArray: Equatable, Sendable {
    /// The element storage, in C (row-major) order.
    public enum Elements: Equatable, Sendable {
        case float32([Float])
        case float64([Double])
        case int64([Int64])
    }

    /// Dimensions; `[]` for a 0-d scalar.
    public let shape: [Int]
    /// The elements.
    public let elements: Elements

    public init(shape: [Int], elements: Elements) throws {
        let count = shape.reduce(1, *)
        let actual: Int
        switch elements {
        case .float32(let v): actual = v.count
        case .float64(let v): actual = v.count
        case .int64(let v): actual = v.count
        }
        guard count == actual else {
            throw NumpyFormatError.malformed("shape \(shape) needs \(count) elements, got \(actual)")
        }
        self.shape = shape
        self.elements = elements
    }

    /// A 2-D array from a matrix (keeps its precision).
    public init<S: BLASScalar>(_ matrix: Matrix<S>) {
        self.shape = [matrix.rows, matrix.columns]
        self.elements = NumpyArray.wrap(matrix.elements)
    }

    /// A 1-D array from a vector.
    public init<S: BLASScalar>(_ vector: [S]) {
        self.shape = [vector.count]
        self.elements = NumpyArray.wrap(vector)
    }

    /// A 0-d scalar.
    public init(scalar: Double) {
        self.shape = []
        self.elements = .float64([scalar])
    }

    private static func wrap<S: BLASScalar>(_ v: [S]) -> Elements {
        if let f = v as? [Float] { return .float32(f) }
        if let d = v as? [Double] { return .float64(d) }
        return .float64(v.map { Double($0) })
    }

    /// Number of elements.
    public var count: Int { shape.reduce(1, *) }

    /// The NumPy dtype string (`<f4`, `<f8`, `<i8`).
    public var descr: String {
        switch elements {
        case .float32: return "<f4"
        case .float64: return "<f8"
        case .int64: return "<i8"
        }
    }

    /// The elements converted to `S`.
    public func values<S: BLASScalar>(as: S.Type = S.self) -> [S] {
        switch elements {
        case .float32(let v): return S.self == Float.self ? v as! [S] : v.map { S($0) }
        case .float64(let v): return S.self == Double.self ? v as! [S] : v.map { S($0) }
        case .int64(let v): return v.map { S($0) }
        }
    }

    /// The array as a matrix: 2-D as is, 1-D as a column (`asRow: false`) or a row, 0-d as 1 × 1.
    public func matrix<S: BLASScalar>(as: S.Type = S.self, asRow: Bool = false) throws -> Matrix<S> {
        switch shape.count {
        case 0: return Matrix(rows: 1, columns: 1, elements: values())
        case 1: return asRow ? Matrix(rows: 1, columns: shape[0], elements: values()) : Matrix(rows: shape[0], columns: 1, elements: values())
        case 2: return Matrix(rows: shape[0], columns: shape[1], elements: values())
        default:
            // Higher ranks fold trailing axes into columns (e.g. (m, k, m, k) kernels read as (m, k·m·k)).
            return Matrix(rows: shape[0], columns: count / max(shape[0], 1), elements: values())
        }
    }

    /// The single value of a 0-d (or one-element) array.
    public func scalar() throws -> Double {
        guard count == 1 else { throw NumpyFormatError.malformed("expected a scalar, got shape \(shape)") }
        return values(as: Double.self)[0]
    }

    // MARK: .npy encoding

    /// The `.npy` bytes of this array (format 1.0, header padded to a multiple of 64 bytes).
    public func npyData() -> Data {
        let shapeText = shape.count == 1 ? "(\(shape[0]),)" : "(" + shape.map(String.init).joined(separator: ", ") + ")"
        var header = "{'descr': '\(descr)', 'fortran_order': False, 'shape': \(shapeText), }"
        let unpadded = 10 + header.utf8.count + 1
        header += String(repeating: " ", count: (64 - unpadded % 64) % 64) + "\n"
        var data = Data([0x93] + Array("NUMPY".utf8) + [1, 0])
        let length = UInt16(header.utf8.count)
        data.append(contentsOf: [UInt8(length & 0xff), UInt8(length >> 8)])
        data.append(contentsOf: Array(header.utf8))
        switch elements {
        case .float32(let v): v.withUnsafeBytes { data.append(contentsOf: $0) }
        case .float64(let v): v.withUnsafeBytes { data.append(contentsOf: $0) }
        case .int64(let v): v.withUnsafeBytes { data.append(contentsOf: $0) }
        }
        return data
    }

    /// Decodes `.npy` bytes; `name` appears in errors.
    public init(npyData data: Data, name: String = "array") throws {
        let bytes = [UInt8](data)
        guard bytes.count >= 10, bytes[0] == 0x93, Array(bytes[1...5]) == Array("NUMPY".utf8) else {
            throw NumpyFormatError.malformed("\(name): not a .npy file (bad magic)")
        }
        let major = bytes[6]
        let headerLength: Int, headerStart: Int
        switch major {
        case 1: headerLength = Int(bytes[8]) | Int(bytes[9]) << 8; headerStart = 10
        case 2, 3:
            guard bytes.count >= 12 else { throw NumpyFormatError.malformed("\(name): truncated header") }
            headerLength = Int(bytes[8]) | Int(bytes[9]) << 8 | Int(bytes[10]) << 16 | Int(bytes[11]) << 24
            headerStart = 12
        default: throw NumpyFormatError.malformed("\(name): unsupported .npy version \(major)")
        }
        guard bytes.count >= headerStart + headerLength else { throw NumpyFormatError.malformed("\(name): truncated header") }
        guard let header = String(bytes: bytes[headerStart..<(headerStart + headerLength)], encoding: .utf8) else {
            throw NumpyFormatError.malformed("\(name): header is not text")
        }
        let descr = try NumpyArray.field("descr", in: header, name: name)
        let fortran = try NumpyArray.field("fortran_order", in: header, name: name) == "True"
        let shapeText = try NumpyArray.field("shape", in: header, name: name)
        let shape = try shapeText.trimmingCharacters(in: CharacterSet(charactersIn: "() "))
            .split(separator: ",").map { $0.trimmingCharacters(in: .whitespaces) }.filter { !$0.isEmpty }
            .map { (s: String) -> Int in
                guard let v = Int(s), v >= 0 else { throw NumpyFormatError.malformed("\(name): bad shape \(shapeText)") }
                return v
            }
        let count = shape.reduce(1, *)
        let body = data.subdata(in: (data.startIndex + headerStart + headerLength)..<data.endIndex)
        func read<T>(_ type: T.Type, _ size: Int) throws -> [T] {
            guard body.count >= count * size else {
                throw NumpyFormatError.malformed("\(name): \(body.count) data bytes for \(count) elements of \(size) bytes")
            }
            return body.withUnsafeBytes { raw in (0..<count).map { raw.loadUnaligned(fromByteOffset: $0 * size, as: T.self) } }
        }
        var elements: Elements
        switch descr {
        case "<f4", "float32": elements = .float32(try read(Float.self, 4))
        case "<f8", "float64": elements = .float64(try read(Double.self, 8))
        case "<i8": elements = .int64(try read(Int64.self, 8))
        case "<i4": elements = .int64(try read(Int32.self, 4).map(Int64.init))
        default: throw NumpyFormatError.unsupportedType("\(name): dtype \(descr) (supported: <f4, <f8, <i8, <i4)")
        }
        if fortran && shape.count == 2 {
            let (r, c) = (shape[0], shape[1])
            func reorder<T>(_ v: [T]) -> [T] { (0..<(r * c)).map { v[($0 % c) * r + $0 / c] } }
            switch elements {
            case .float32(let v): elements = .float32(reorder(v))
            case .float64(let v): elements = .float64(reorder(v))
            case .int64(let v): elements = .int64(reorder(v))
            }
        } else if fortran && shape.count > 2 {
            throw NumpyFormatError.unsupportedType("\(name): Fortran-order arrays of rank > 2")
        }
        try self.init(shape: shape, elements: elements)
    }

    private static func field(_ key: String, in header: String, name: String) throws -> String {
        guard let range = header.range(of: "'\(key)':") else {
            throw NumpyFormatError.malformed("\(name): header has no '\(key)'")
        }
        let rest = header[range.upperBound...].drop(while: { $0 == " " })
        if rest.first == "(" {
            guard let close = rest.firstIndex(of: ")") else { throw NumpyFormatError.malformed("\(name): unterminated shape") }
            return String(rest[rest.startIndex...close])
        }
        let end = rest.firstIndex(where: { $0 == "," || $0 == "}" }) ?? rest.endIndex
        return rest[rest.startIndex..<end].trimmingCharacters(in: CharacterSet(charactersIn: "' "))
    }

    // MARK: Files

    /// Reads a `.npy` file.
    public init(contentsOf url: URL) throws {
        let data: Data
        do { data = try Data(contentsOf: url) } catch { throw NumpyFormatError.unreadable(url.path, error.localizedDescription) }
        try self.init(npyData: data, name: url.path)
    }

    /// Writes a `.npy` file atomically.
    public func write(to url: URL) throws { try npyData().write(to: url, options: .atomic) }
}

/// A malformed or unsupported NumPy file.
public enum NumpyFormatError: Error, CustomStringConvertible {
    case malformed(String)
    case unsupportedType(String)
    case unreadable(String, String)
    case missingArray(file: String, key: String)

    public var description: String {
        switch self {
        case .malformed(let s): return "malformed NumPy data: \(s)"
        case .unsupportedType(let s): return "unsupported NumPy data: \(s)"
        case .unreadable(let path, let reason): return "\(path): cannot read: \(reason)"
        case .missingArray(let file, let key): return "\(file): has no array named '\(key)'"
        }
    }
}
