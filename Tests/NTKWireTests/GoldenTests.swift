import Foundation
import NTKCore
import NTKWire
import XCTest

/// The worked example of docs/protocol.md §8, computed independently (Python's json + libxxhash):
/// this implementation must produce exactly these bytes, so a third party can check theirs against them.
final class GoldenTests: XCTestCase {
    static let header = "4e544b31010003000000000003000000788106b5e3a5dbef07000000000000000200000015010000dd4758fa1d44d114"
    static let metadata = #"{"arrays":[{"bytes":8,"dtype":"f32","name":"W1","shape":[1,2],"xxh64":"83b9d4e891c60132"},{"bytes":4,"dtype":"f32","name":"b1","shape":[1],"xxh64":"991f4d764868e477"}],"body":{"blockDType":"f32","blockFormat":"factored","candidatesFollow":true,"evaluate":false,"refresh":true}}"#

    private func hex(_ f: Frame) -> String { f.bytes.map { String(format: "%02x", $0) }.joined() }

    func testRoundStartExampleBytes() throws {
        XCTAssertEqual(RunID.of(name: "demo"), 0xEFDB_A5E3_B506_8178)
        let arch = try MLPArchitecture(widths: [2, 1])
        var theta = MLPParameters<Float>(zerosFor: arch)
        theta.weights[0] = Matrix([[0.5, -1]])
        theta.biases[0] = [0.25]
        let message = try Message(RoundStart(parameters: theta, refresh: true, evaluate: false), workerID: 3,
                                  runID: RunID.of(name: "demo"), round: 7)
        let frames = message.encoded()
        XCTAssertEqual(frames.count, 4)
        XCTAssertEqual(hex(frames[0]), Self.header)
        XCTAssertEqual(String(decoding: frames[1].bytes, as: UTF8.self), Self.metadata)
        XCTAssertEqual(hex(frames[2]), "0000003f000080bf")
        XCTAssertEqual(hex(frames[3]), "0000803e")
        XCTAssertEqual(message.header.metadataChecksum, 0xFA58_47DD)   // low 32 bits of c165a1ddfa5847dd
        XCTAssertEqual(try Wire.decode(frames).payload(RoundStart.self).parameters(architecture: arch, as: Float.self), theta)
    }
}
