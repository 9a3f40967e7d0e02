import Foundation
import NTKCore

/// An array in the IDX format of the MNIST files: a big-endian header (`0, 0, type, rank`, then `rank`
/// 32-bit dimensions) and the elements, big-endian. Types: `0x08` ubyte, `0x09` byte, `0x0B` int16,
/// `0x0C` int32, `0x0D` float32, `0x0E` float64.
public struct IDXArray: Sendable {
    public let shape: [Int]
    /// The elements in C order, converted to Double.
    public let values: [Double]

    public init(contentsOf url: URL) throws {
        let data = try FileContents.read(url)  // MNIST is distributed as .gz
        try self.init(bytes: [UInt8](data), path: url.path)
    }

    public init(bytes: [UInt8], path: String) throws {
        func fail(_ reason: String) -> DataError { .malformed(path: path, line: 0, column: nil, reason: reason) }
        guard bytes.count >= 4, bytes[0] == 0, bytes[1] == 0 else { throw fail("not an IDX file (magic must start with two zero bytes)") }
        let type = bytes[2], rank = Int(bytes[3])
        let width: Int
        switch type {
        case 0x08, 0x09: width = 1
        case 0x0B: width = 2
        case 0x0C, 0x0D: width = 4
        case 0x0E: width = 8
        default: throw fail(String(format: "unknown IDX element type 0x%02X", type))
        }
        guard rank >= 1, bytes.count >= 4 + 4 * rank else { throw fail("truncated header (rank \(rank))") }
        var shape: [Int] = []
        for r in 0..<rank {
            let o = 4 + 4 * r
            shape.append(Int(bytes[o]) << 24 | Int(bytes[o + 1]) << 16 | Int(bytes[o + 2]) << 8 | Int(bytes[o + 3]))
        }
        let count = shape.reduce(1, *)
        let start = 4 + 4 * rank
        guard bytes.count == start + count * width else {
            throw fail("shape \(shape) of \(width)-byte elements needs \(start + count * width) bytes, the file has \(bytes.count)")
        }
        var values = [Double](repeating: 0, count: count)
        bytes.withUnsafeBufferPointer { b in
            func word(_ o: Int, _ n: Int) -> UInt64 {
                var w: UInt64 = 0
                for j in 0..<n { w = w << 8 | UInt64(b[o + j]) }
                return w
            }
            for i in 0..<count {
                let o = start + i * width
                switch type {
                case 0x08: values[i] = Double(b[o])
                case 0x09: values[i] = Double(Int8(bitPattern: b[o]))
                case 0x0B: values[i] = Double(Int16(bitPattern: UInt16(word(o, 2))))
                case 0x0C: values[i] = Double(Int32(bitPattern: UInt32(word(o, 4))))
                case 0x0D: values[i] = Double(Float(bitPattern: UInt32(word(o, 4))))
                default: values[i] = Double(bitPattern: word(o, 8))
                }
            }
        }
        self.shape = shape
        self.values = values
    }
}

extension LabeledTable {
    /// Reads an IDX pair (MNIST: `train-images-idx3-ubyte`, `train-labels-idx1-ubyte`): images (m × …) are
    /// flattened to rows, labels must be m values (rank 1). Errors name the file, the sample (as the line)
    /// and the column.
    public init(idxImages imagesURL: URL, labels labelsURL: URL) throws {
        let images = try IDXArray(contentsOf: imagesURL)
        let labelArray = try IDXArray(contentsOf: labelsURL)
        let m = images.shape[0]
        guard m > 0 else { throw DataError.malformed(path: imagesURL.path, line: 0, column: nil, reason: "no samples") }
        guard labelArray.shape == [m] || labelArray.shape == [m, 1] else {
            throw DataError.malformed(path: labelsURL.path, line: 0, column: nil,
                                      reason: "expected \(m) labels (the images file has \(m) samples), got shape \(labelArray.shape)")
        }
        let d = images.values.count / m
        for (n, v) in images.values.enumerated() where !v.isFinite {
            throw DataError.malformed(path: imagesURL.path, line: n / d + 1, column: n % d + 1, reason: "sample \(n / d + 1): \(v) is not a finite number")
        }
        for (i, v) in labelArray.values.enumerated() where !v.isFinite {
            throw DataError.malformed(path: labelsURL.path, line: i + 1, column: 1, reason: "sample \(i + 1): label \(v) is not a finite number")
        }
        self.init(features: Matrix(rows: m, columns: d, elements: images.values), labels: labelArray.values,
                  source: labelsURL.path, labelColumnNumber: 1)
    }
}
