import Foundation
import NTKCore
import NTKWire
import XCTest

/// Envelope encoding and every validation the decoder performs.
final class CodecTests: XCTestCase {
    func testRoundTrip() throws {
        let message = try sampleMessage()
        let encoded = message.encoded()
        XCTAssertEqual(encoded.count, 2 + 5)
        XCTAssertEqual(encoded[0].count, 48)
        let decoded = try Wire.decode(encoded)
        assertSameMessage(message, decoded)
        XCTAssertEqual(try decoded.array("m")!.matrix(as: Float.self), try message.array("m")!.matrix(as: Float.self))
        XCTAssertEqual(try decoded.array("v")!.elements(as: Double.self), [1.5, -2.25, 1e300])
        XCTAssertEqual(try decoded.array("i")!.elements(as: Int64.self), [-1, 0, .max])
        XCTAssertEqual(try decoded.body(as: [String: String].self), ["note": "sample 1"])
        XCTAssertEqual(decoded.header.workerID, 3)
        XCTAssertEqual(decoded.header.round, 9)
        XCTAssertEqual(decoded.header.runID, RunID.of(name: "test"))
    }

    func testArrayFramesAreZeroCopy() throws {
        let values = [Float](repeating: 2, count: 1000)
        let a = try TypedArray(name: "x", values)
        let message = try Message(type: .heartbeat, body: [String: Int](), arrays: [a])
        let frames = message.encoded()
        values.withUnsafeBytes { XCTAssertEqual(frames[2].bytes.baseAddress, $0.baseAddress) }
        let decoded = try Wire.decode(frames)
        XCTAssertEqual(decoded.arrays[0].frame.bytes.baseAddress, frames[2].bytes.baseAddress)
        // In place read of the received frame, no copy.
        try decoded.arrays[0].withUnsafeElements(as: Float.self) { p in
            XCTAssertEqual(UnsafeRawPointer(p.baseAddress), frames[2].bytes.baseAddress)
            XCTAssertEqual(p.reduce(0, +), 2000)
        }
    }

    func testConversions() throws {
        let f = try TypedArray(name: "f", [Float(1.5), 2.5, -3], shape: [1, 3])
        XCTAssertEqual(try f.elements(as: Double.self), [1.5, 2.5, -3])
        XCTAssertEqual(try f.matrix(as: Double.self), Matrix<Double>([[1.5, 2.5, -3]]))
        let d = try TypedArray(name: "d", [1.0, 1e-50], shape: [2, 1])
        XCTAssertEqual(try d.elements(as: Float.self), [1, 0])
        assertThrowsWire(try d.elements(as: Int64.self)) { $0 == .unsupportedConversion(array: "d", from: .f64, to: "i64") }
        let h = try TypedArray(name: "h", dtype: .f16, shape: [2], frame: Frame(copying: [0, 0x3C, 0, 0x3C]))
        XCTAssertEqual(try h.elements(as: Float.self), [1, 1], "f16 0x3C00 is 1")
        assertThrowsWire(try h.elements(as: Int64.self)) { $0 == .unsupportedConversion(array: "h", from: .f16, to: "i64") }
        assertThrowsWire(try TypedArray(name: "bad name", [Float(1)])) { if case .invalidArrayName = $0 { return true }; return false }
        assertThrowsWire(try TypedArray(name: "s", [Float(1), 2, 3], shape: [2, 2])) {
            $0 == .byteCountMismatch(array: "s", shapeBytes: 16, descriptor: 12, frame: 12)
        }
        assertThrowsWire(try TypedArray(name: "t", [Float(1)], shape: [1, 1, 1]).matrix(as: Float.self)) {
            if case .shapeMismatch = $0 { return true }; return false
        }
    }

    func testHeaderLayoutIsLittleEndianAndAligned() {
        let h = MessageHeader(type: .block, flags: .chunk, workerID: 0x0102_0304, runID: 0x1122_3344_5566_7788, round: 5,
                              arrayCount: 7, metadataLength: 300, metadataChecksum: 0xAABB_CCDD)
        let b = h.encoded()
        XCTAssertEqual(Array(b[0..<4]), Array("NTK1".utf8))
        XCTAssertEqual(Array(b[4..<8]), [1, 0, 4, 0])
        XCTAssertEqual(Array(b[8..<12]), [1, 0, 0, 0])
        XCTAssertEqual(Array(b[12..<16]), [4, 3, 2, 1])
        XCTAssertEqual(Array(b[16..<24]), [0x88, 0x77, 0x66, 0x55, 0x44, 0x33, 0x22, 0x11])
        XCTAssertEqual(Array(b[24..<32]), [5, 0, 0, 0, 0, 0, 0, 0])
        XCTAssertEqual(Array(b[32..<36]), [7, 0, 0, 0])
        XCTAssertEqual(Array(b[36..<40]), [44, 1, 0, 0])
        XCTAssertEqual(Array(b[40..<44]), [0xDD, 0xCC, 0xBB, 0xAA])
        let sum = b[0..<44].withUnsafeBytes { XXH64.hash32($0) }
        XCTAssertEqual(Array(b[44..<48]), withUnsafeBytes(of: sum.littleEndian) { Array($0) })
        XCTAssertEqual(try b.withUnsafeBytes { try MessageHeader.decode($0) }, h)
    }

    // MARK: Envelope errors

    func testFrameCountErrors() throws {
        let f = try sampleMessage().encoded()
        assertDecodeThrows([], .tooFewFrames(count: 0))
        assertDecodeThrows([f[0]], .tooFewFrames(count: 1))
        var limits = WireLimits.default
        limits.maxArrayCount = 2
        assertDecodeThrows(f, limits: limits, .tooManyFrames(count: 7, limit: 4))
        assertDecodeThrows(Array(f.dropLast()), .arrayCountMismatch(header: 5, descriptors: nil, frames: 4))
        assertDecodeThrows(f + [f[2]], .arrayCountMismatch(header: 5, descriptors: nil, frames: 6))
    }

    func testHeaderErrors() throws {
        let message = try sampleMessage()
        let f = message.encoded()
        var h = bytes(f[0])
        assertDecodeThrows([Frame(copying: h.dropLast())] + f[1...], .headerLength(got: 47))
        assertDecodeThrows([Frame(copying: h + [0])] + f[1...], .headerLength(got: 49))
        h[0] = UInt8(ascii: "X")
        assertDecodeThrows([Frame(copying: h)] + f[1...], .badMagic(got: [UInt8(ascii: "X"), 0x54, 0x4B, 0x31]))

        var v2 = message.header
        v2.version = 2
        assertDecodeThrows([Frame(copying: v2.encoded())] + f[1...], .unsupportedVersion(got: 2, supported: 1))

        var flipped = bytes(f[0])
        flipped[30] ^= 0x10   // a bit of the round
        let computed = flipped[0..<44].withUnsafeBytes { XXH64.hash32($0) }
        let stored = bytes(f[0])[44..<48].withUnsafeBytes { UInt32(littleEndian: $0.loadUnaligned(as: UInt32.self)) }
        assertDecodeThrows([Frame(copying: flipped)] + f[1...], .headerChecksumMismatch(stored: stored, computed: computed))

        // Unknown type and flags with a valid checksum.
        var raw = bytes(f[0])
        raw[6] = 99
        reseal(&raw)
        assertDecodeThrows([Frame(copying: raw)] + f[1...], .unknownMessageType(99))
        raw = bytes(f[0])
        raw[9] = 0x80
        reseal(&raw)
        assertDecodeThrows([Frame(copying: raw)] + f[1...], .unknownFlags(0x8000))
    }

    func testMetadataErrors() throws {
        let message = try sampleMessage()
        let f = message.encoded()
        let meta = bytes(f[1])
        // Length differs from the header.
        assertDecodeThrows([f[0], Frame(copying: meta + [0x20])] + f[2...],
                           .metadataLengthMismatch(header: meta.count, frame: meta.count + 1))
        // Too large.
        var limits = WireLimits.default
        limits.maxMetadataBytes = 100
        assertDecodeThrows(f, limits: limits, .metadataTooLarge(bytes: meta.count, limit: 100))
        // Corrupted byte (same length).
        var bad = meta
        bad[10] ^= 1
        let computed = bad.withUnsafeBytes { XXH64.hash32($0) }
        assertDecodeThrows([f[0], Frame(copying: bad)] + f[2...],
                           .metadataChecksumMismatch(stored: message.header.metadataChecksum, computed: computed))
        // Not JSON, with valid checksums.
        let junk = Array("{not json".utf8)
        assertThrowsWire(try Wire.decode([Frame(copying: resealed(header: message.header, metadata: junk)), Frame(copying: junk)] + f[2...])) {
            if case .invalidMetadata = $0 { return true }; return false
        }
        // No body.
        assertThrowsWire(try Wire.decode(editedMetadata(message) { $0["body"] = nil })) {
            if case .invalidMetadata(let why) = $0 { return why.contains("body") }; return false
        }
        // Descriptor count differs from the array frames.
        assertDecodeThrows(try editedMetadata(message) { j in
            j["arrays"] = Array((j["arrays"] as! [Any]).dropLast())
        }, .arrayCountMismatch(header: 5, descriptors: 4, frames: 5))
    }

    func testTooLargeAndTooManyArrays() throws {
        let f = try sampleMessage().encoded()
        var limits = WireLimits.default
        let total = f.reduce(0) { $0 + $1.count }
        limits.maxMessageBytes = total - 1
        assertDecodeThrows(f, limits: limits, .messageTooLarge(bytes: total, limit: total - 1))
        limits = .default
        limits.maxArrayCount = 4
        assertDecodeThrows(f, limits: limits, .tooManyFrames(count: 7, limit: 6))
    }

    // MARK: Array errors

    func testDescriptorErrors() throws {
        let message = try sampleMessage()
        func edit(_ index: Int, _ key: String, _ value: Any) throws -> [Frame] {
            try editedMetadata(message) { j in
                var arrays = j["arrays"] as! [[String: Any]]
                arrays[index][key] = value
                j["arrays"] = arrays
            }
        }
        assertDecodeThrows(try edit(0, "name", "a b"), .invalidArrayName(index: 0, name: "a b"))
        assertDecodeThrows(try edit(0, "name", ""), .invalidArrayName(index: 0, name: ""))
        assertDecodeThrows(try edit(1, "name", "m"), .duplicateArrayName("m"))
        assertDecodeThrows(try edit(0, "dtype", "f8"), .unknownDType(array: "m", dtype: "f8"))
        assertDecodeThrows(try edit(0, "shape", [1, 1, 1, 1, 12]), .rankTooLarge(array: "m", rank: 5, limit: 4))
        assertDecodeThrows(try edit(0, "shape", [-3, -4]), .invalidDimension(array: "m", axis: 0, value: -3, limit: 1 << 31))
        XCTAssertEqual(try Wire.decode(edit(0, "shape", [4, 3])).arrays[0].shape, [4, 3])   // same bytes, another view: valid
        assertDecodeThrows(try edit(0, "shape", [3, 5]), .byteCountMismatch(array: "m", shapeBytes: 60, descriptor: 48, frame: 48))
        assertDecodeThrows(try edit(0, "bytes", 60), .byteCountMismatch(array: "m", shapeBytes: 48, descriptor: 60, frame: 48))
        assertDecodeThrows(try edit(0, "shape", [1 << 31, 1 << 31, 1 << 31]), .byteCountMismatch(array: "m", shapeBytes: nil, descriptor: 48, frame: 48))
        assertDecodeThrows(try edit(0, "dtype", "f64"), .byteCountMismatch(array: "m", shapeBytes: 96, descriptor: 48, frame: 48))
        assertDecodeThrows(try edit(0, "xxh64", "XYZ"), .invalidChecksumFormat(array: "m", value: "XYZ"))
        assertDecodeThrows(try edit(0, "xxh64", "0123456789ABCDEF"), .invalidChecksumFormat(array: "m", value: "0123456789ABCDEF"))
        assertDecodeThrows(try edit(0, "xxh64", "0000000000000001"),
                           .arrayChecksumMismatch(array: "m", stored: 1, computed: message.descriptors[0].checksum))
        assertThrowsWire(try Wire.decode(edit(0, "shape", "3x4"))) { if case .invalidMetadata = $0 { return true }; return false }
        var limits = WireLimits.default
        limits.maxDimension = 3
        assertDecodeThrows(message.encoded(), limits: limits, .invalidDimension(array: "m", axis: 1, value: 4, limit: 3))
        limits = .default
        limits.maxRank = 1
        assertDecodeThrows(message.encoded(), limits: limits, .rankTooLarge(array: "m", rank: 2, limit: 1))
    }

    func testArrayFrameCorruptionAndTruncation() throws {
        let message = try sampleMessage()
        let f = message.encoded()
        var m = bytes(f[2])
        m[5] ^= 0x40
        let computed = m.withUnsafeBytes { XXH64.hash($0) }
        assertDecodeThrows([f[0], f[1], Frame(copying: m)] + f[3...],
                           .arrayChecksumMismatch(array: "m", stored: message.descriptors[0].checksum, computed: computed))
        assertDecodeThrows([f[0], f[1], Frame(copying: m.dropLast(4))] + f[3...],
                           .byteCountMismatch(array: "m", shapeBytes: 48, descriptor: 48, frame: 44))
    }

    func testRequireFinite() throws {
        var values = [Float](repeating: 1, count: 10_000)
        values[7777] = .nan
        let withNaN = try Message(type: .block, body: [String: Int](), arrays: [
            TypedArray(name: "ok", [1.0, 2.0]), TypedArray(name: "D2", values, shape: [100, 100]),
        ])
        XCTAssertNoThrow(try Wire.decode(withNaN.encoded()))   // allowed unless required
        var limits = WireLimits.default
        limits.requireFinite = true
        assertDecodeThrows(withNaN.encoded(), limits: limits, .nonFinite(array: "D2", index: 7777))
        let inf = try Message(type: .block, body: [String: Int](), arrays: [TypedArray(name: "theta", [0, 1, -Double.infinity])])
        assertDecodeThrows(inf.encoded(), limits: limits, .nonFinite(array: "theta", index: 2))
        // f16 / bf16 by exponent bits: 0x7C00 is +∞ in binary16, 0x7FC0 NaN in bfloat16.
        let half = try TypedArray(name: "h", dtype: .f16, shape: [3], frame: Frame(copying: [0, 0x3C, 0, 0x7C, 0, 0]))
        XCTAssertEqual(half.firstNonFiniteIndex(), 1)
        let bf = try TypedArray(name: "b", dtype: .bf16, shape: [2], frame: Frame(copying: [0x80, 0x3F, 0xC0, 0x7F]))
        XCTAssertEqual(bf.firstNonFiniteIndex(), 1)
        XCTAssertNil(try TypedArray(name: "i", [Int64(-1)]).firstNonFiniteIndex())
    }

    func testFiniteScanMatchesReference() throws {
        var rng = SplitMix64(seed: 11)
        for trial in 0..<300 {
            let n = Int(rng.next() % 200)
            var f = (0..<n).map { _ in Float(bitPattern: UInt32(truncatingIfNeeded: rng.next()) & 0xBF7F_FFFF) }   // finite
            var d = (0..<n).map { _ in Double(f.isEmpty ? 0 : 1) * Double(rng.next() % 1000) }
            var h = (0..<n).map { _ in UInt16(truncatingIfNeeded: rng.next()) & 0xBBFF }   // exponent never all ones
            var expected: Int?
            if n > 0, trial % 3 != 0 {
                let i = Int(rng.next() % UInt64(n))
                expected = i
                f[i] = [Float.nan, .infinity, -.infinity, Float(bitPattern: 0x7F80_0001)][trial % 4]
                d[i] = [Double.nan, .infinity, -.infinity, Double(bitPattern: 0xFFF0_0000_0000_0001)][trial % 4]
                h[i] |= 0x7C00
                // a later bad value must not be reported first
                if i + 1 < n { f[n - 1] = .nan; d[n - 1] = .nan; h[n - 1] |= 0x7C00 }
            }
            XCTAssertEqual(try TypedArray(name: "f", f).firstNonFiniteIndex(), expected)
            XCTAssertEqual(try TypedArray(name: "d", d).firstNonFiniteIndex(), expected)
            let half = try TypedArray(name: "h", dtype: .f16, shape: [n], frame: Frame(array: h))
            XCTAssertEqual(half.firstNonFiniteIndex(), expected)
            XCTAssertEqual(f.firstIndex { !$0.isFinite }, expected)
        }
    }

    func testPayloadTypeMismatch() throws {
        let hb = try Message(Heartbeat(sentAt: 1))
        assertThrowsWire(try hb.payload(Shutdown.self)) { $0 == .wrongMessageType(expected: .shutdown, got: .heartbeat) }
    }

    private func reseal(_ raw: inout [UInt8]) {
        let sum = raw[0..<44].withUnsafeBytes { XXH64.hash32($0) }
        withUnsafeBytes(of: sum.littleEndian) { for i in 0..<4 { raw[44 + i] = $0[i] } }
    }
}
