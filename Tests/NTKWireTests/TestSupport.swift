import Foundation
import NTKCore
import NTKWire
import XCTest

/// Bytes of a frame as an array.
func bytes(_ f: Frame) -> [UInt8] { Array(f.bytes) }

/// Frames rebuilt from byte arrays (copies).
func frames(_ parts: [[UInt8]]) -> [Frame] { parts.map { Frame(copying: $0) } }

/// Re-derives the header's metadata length/checksum and header checksum after a test edited the metadata,
/// so that validation reaches the layer the test is about.
func resealed(header: MessageHeader, metadata: [UInt8], arrayCount: Int? = nil) -> [UInt8] {
    var h = header
    h.metadataLength = UInt32(metadata.count)
    h.metadataChecksum = metadata.withUnsafeBytes { XXH64.hash32($0) }
    if let arrayCount { h.arrayCount = UInt32(arrayCount) }
    return h.encoded()
}

/// Edits the metadata JSON of a message (as a dictionary) and reseals the header; array frames untouched.
func editedMetadata(_ message: Message, _ edit: (inout [String: Any]) -> Void) throws -> [Frame] {
    var json = try XCTUnwrap(JSONSerialization.jsonObject(with: message.metadata) as? [String: Any])
    edit(&json)
    let meta = [UInt8](try JSONSerialization.data(withJSONObject: json))
    let encoded = message.encoded()
    return [Frame(copying: resealed(header: message.header, metadata: meta, arrayCount: encoded.count - 2)),
            Frame(copying: meta)] + Array(encoded[2...])
}

/// Asserts that decoding throws exactly `expected`.
func assertDecodeThrows(_ f: [Frame], limits: WireLimits = .default, _ expected: WireError,
                        file: StaticString = #filePath, line: UInt = #line) {
    do {
        _ = try Wire.decode(f, limits: limits)
        XCTFail("decoded, expected \(expected)", file: file, line: line)
    } catch let e as WireError {
        XCTAssertEqual(e, expected, file: file, line: line)
    } catch {
        XCTFail("unexpected error \(error)", file: file, line: line)
    }
}

/// Asserts that `body` throws a WireError for which `matches` holds.
func assertThrowsWire<T>(_ body: @autoclosure () throws -> T, file: StaticString = #filePath, line: UInt = #line,
                         _ matches: (WireError) -> Bool) {
    do {
        _ = try body()
        XCTFail("no error thrown", file: file, line: line)
    } catch let e as WireError {
        XCTAssertTrue(matches(e), "unexpected WireError: \(e)", file: file, line: line)
    } catch {
        XCTFail("unexpected error \(error)", file: file, line: line)
    }
}

/// A small mixed message: a 3×4 f32 matrix, a f64 vector, an i64 vector, a u8 array and an empty array.
func sampleMessage(seed: UInt64 = 1, type: MessageType = .heartbeat) throws -> Message {
    var rng = SplitMix64(seed: seed)
    let m = Matrix<Float>(rows: 3, columns: 4, elements: (0..<12).map { _ in Float(Int(rng.next() % 1000)) / 7 })
    return try Message(type: type, body: ["note": "sample \(seed)"], arrays: [
        TypedArray(name: "m", m),
        TypedArray(name: "v", [1.5, -2.25, 1e300]),
        TypedArray(name: "i", [Int64(-1), 0, Int64.max]),
        TypedArray(name: "bytes", [UInt8](repeating: 7, count: 5)),
        TypedArray(name: "empty", [Float](), shape: [0, 3]),
    ], workerID: 3, runID: RunID.of(name: "test"), round: 9)
}

/// Asserts two messages carry the same header routing, metadata and array bytes.
func assertSameMessage(_ a: Message, _ b: Message, file: StaticString = #filePath, line: UInt = #line) {
    XCTAssertEqual(a.header, b.header, file: file, line: line)
    XCTAssertEqual(a.metadata, b.metadata, file: file, line: line)
    XCTAssertEqual(a.descriptors, b.descriptors, file: file, line: line)
    XCTAssertEqual(a.arrays.count, b.arrays.count, file: file, line: line)
    for (x, y) in zip(a.arrays, b.arrays) {
        XCTAssertEqual(x.name, y.name, file: file, line: line)
        XCTAssertEqual(x.dtype, y.dtype, file: file, line: line)
        XCTAssertEqual(x.shape, y.shape, file: file, line: line)
        XCTAssertTrue(x.frame.bytes.elementsEqual(y.frame.bytes), "bytes of \(x.name) differ", file: file, line: line)
    }
}

/// A small network, its factored Jacobian on a few samples, and targets.
func smallBlock(widths: [Int] = [5, 7, 6, 3], samples: Int = 4, seed: UInt64 = 1) throws
    -> (MLPArchitecture, MLP<Float>, FactoredJacobian<Float>, Matrix<Float>) {
    let arch = try MLPArchitecture(widths: widths, activation: .tanh, biasScale: 0.3)
    let net = MLP<Float>(architecture: arch, seed: seed)
    var g = PortableGaussian(seed: seed &+ 100)
    let x = Matrix<Float>(rows: samples, columns: widths[0], elements: g.fill(samples * widths[0], scale: 1))
    let y = Matrix<Float>(rows: samples, columns: widths.last!, elements: g.fill(samples * widths.last!, scale: 1))
    return (arch, net, try FactoredJacobian(network: net, inputs: x), y)
}
