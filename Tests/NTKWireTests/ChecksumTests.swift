import Foundation
import XCTest
import NTKWire

/// XXH64 and SHA-256 against published vectors, and their throughput.
final class ChecksumTests: XCTestCase {
    // Vectors from the reference C library (libxxhash 0.8.1, seed 0).
    func testXXH64Vectors() {
        XCTAssertEqual(XXH64.hash([UInt8]()), 0xEF46_DB37_51D8_E999)
        XCTAssertEqual(XXH64.hash(Array("a".utf8)), 0xD24E_C4F1_A98C_6E5B)
        XCTAssertEqual(XXH64.hash(Array("abc".utf8)), 0x44BC_2CF5_AD77_0999)
        XCTAssertEqual(XXH64.hash(Array("NTK1".utf8)), 0x91D3_D60A_DE80_CB8B)
        let long = [UInt8]((0..<512).map { UInt8($0 & 0xFF) }) + Array("xyz".utf8)
        XCTAssertEqual(XXH64.hash(long), 0x4B52_CA15_0D7D_875F)
    }

    func testXXH64StreamingMatchesOneShot() {
        var rng = SplitMix64(seed: 7)
        for _ in 0..<200 {
            let n = Int(rng.next() % 300)
            let bytes = (0..<n).map { _ in UInt8(truncatingIfNeeded: rng.next()) }
            var h = XXH64()
            var p = 0
            while p < n {
                let step = min(n - p, Int(rng.next() % 40))
                bytes[p..<(p + step)].withUnsafeBytes { h.update($0) }
                p += step
            }
            XCTAssertEqual(h.finalize(), XXH64.hash(bytes), "n = \(n)")
        }
    }

    func testXXH64Throughput() {
        let floats = [Float](repeating: 1.5, count: 64 << 18)   // 64 MiB
        let bytes = Double(floats.count * 4)
        var best = Double.infinity
        var sink: UInt64 = 0
        for _ in 0..<5 {
            let t0 = DispatchTime.now().uptimeNanoseconds
            sink ^= floats.withUnsafeBytes { XXH64.hash($0) }
            best = min(best, Double(DispatchTime.now().uptimeNanoseconds - t0) * 1e-9)
        }
        print("XXH64 throughput: \(String(format: "%.2f", bytes / best / 1e9)) GB/s (64 MiB, best of 5) [\(sink & 1)]")
    }
}

/// A small deterministic generator for tests (SplitMix64).
struct SplitMix64: RandomNumberGenerator {
    var state: UInt64
    init(seed: UInt64) { state = seed }
    mutating func next() -> UInt64 {
        state &+= 0x9E37_79B9_7F4A_7C15
        var z = state
        z = (z ^ (z >> 30)) &* 0xBF58_476D_1CE4_E5B9
        z = (z ^ (z >> 27)) &* 0x94D0_49BB_1331_11EB
        return z ^ (z >> 31)
    }
}

/// SHA-256 against FIPS 180-4 examples.
final class SHA256Tests: XCTestCase {
    private func hex(_ b: [UInt8]) -> String { b.map { String(format: "%02x", $0) }.joined() }

    func testVectors() {
        XCTAssertEqual(hex(SHA256.hash([UInt8]())), "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855")
        XCTAssertEqual(hex(SHA256.hash(Array("abc".utf8))), "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad")
        XCTAssertEqual(hex(SHA256.hash(Array("abcdbcdecdefdefgefghfghighijhijkijkljklmklmnlmnomnopnopq".utf8))),
                       "248d6a61d20638b8e5c026930c3e6039a33ce45964ff2167f6ecedd419db06c1")
        XCTAssertEqual(hex(SHA256.hash([UInt8](repeating: UInt8(ascii: "a"), count: 1_000_000))),
                       "cdc76e5c9914fb9281a1c7e284d73e67f1809a48a497200e046d39ccc7112cd0")
    }

    func testStreamingSplits() {
        let data = (0..<1000).map { UInt8(truncatingIfNeeded: $0 &* 31) }
        for split in [0, 1, 55, 56, 63, 64, 65, 500, 999] {
            var s = SHA256()
            s.update(Array(data[..<split]))
            s.update(Array(data[split...]))
            XCTAssertEqual(s.finalize(), SHA256.hash(data), "split \(split)")
        }
    }
}
