import Foundation
import NTKCore
import NTKWire
import XCTest

/// Measured rates of the hot paths on a 128 MiB Float32 block (printed; the figures mean something with -c release).
final class ThroughputTests: XCTestCase {
    private func seconds(_ body: () throws -> Void) rethrows -> Double {
        let t0 = DispatchTime.now().uptimeNanoseconds
        try body()
        return Double(DispatchTime.now().uptimeNanoseconds - t0) * 1e-9
    }

    func testBlockThroughput() throws {
        #if DEBUG
        let count = 4 << 20    // 16 MiB: unoptimized builds only check that the paths work
        #else
        let count = 32 << 20   // 128 MiB of Float32
        #endif
        var values = [Float](repeating: 0, count: count)
        for i in stride(from: 0, to: count, by: 1024) { values[i] = Float(i) }
        let gb = Double(count * 4) / 1e9
        var message: Message!
        let build = try seconds { message = try Message(type: .block, body: ["sampleCount": 1], arrays: [TypedArray(name: "Z", values, shape: [count / 1024, 1024])]) }
        var frames: [Frame] = []
        let encode = seconds { frames = message.encoded() }
        var limits = WireLimits.default
        limits.maxMessageBytes = 1 << 30
        let decode = try seconds { _ = try Wire.decode(frames, limits: limits) }
        limits.requireFinite = true
        let decodeFinite = try seconds { _ = try Wire.decode(frames, limits: limits) }
        var chunks: [Message] = []
        let chunking = try seconds { chunks = try Wire.chunk(message, maxBytes: 16 << 20) }
        let reassembler = Reassembler<Int>(limits: limits)
        var rebuilt: Message?
        let receive = try seconds {
            for c in chunks.reversed() { rebuilt = try reassembler.accept(Wire.decode(c.encoded(), limits: limits), from: 1) ?? rebuilt }
        }
        var copied: [Float] = []
        let toArray = try seconds { copied = try XCTUnwrap(rebuilt).arrays[0].elements(as: Float.self) }
        XCTAssertEqual(copied, values)
        func rate(_ s: Double) -> String { String(format: "%.2f GB/s", gb / s) }
        print("""
            throughput on \((count * 4) >> 20) MiB f32: build (hash) \(rate(build)), encode \(rate(encode)) (zero-copy), \
            decode \(rate(decode)), decode+finite \(rate(decodeFinite)), chunk 16 MiB \(rate(chunking)), \
            decode+reassemble \(chunks.count) chunks \(rate(receive)), to [Float] \(rate(toArray))
            """)
    }
}
