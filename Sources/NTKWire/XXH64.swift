import Foundation

/// XXH64 (xxHash, 64-bit variant, spec: github.com/Cyan4973/xxHash doc/xxhash_spec.md): the protocol's checksum.
///
/// Chosen over CRC32C and zlib's crc32 because it is the fastest of the three in portable code
/// (four independent 64-bit multiply lanes, no tables, no CPU-specific instructions), so checksumming
/// never limits a ~2 GB/s transfer, and it has maintained implementations in every common language
/// (Python `xxhash`, Rust `twox-hash`, Go `cespare/xxhash`, Java `lz4-java`, C `libxxhash`).
/// Seed is always 0 on the wire. It detects corruption; it is not a cryptographic MAC (CURVE does that).
public struct XXH64: Sendable {
    @usableFromInline static let p1: UInt64 = 0x9E37_79B1_85EB_CA87
    @usableFromInline static let p2: UInt64 = 0xC2B2_AE3D_27D4_EB4F
    @usableFromInline static let p3: UInt64 = 0x1656_67B1_9E37_79F9
    @usableFromInline static let p4: UInt64 = 0x85EB_CA77_C2B2_AE63
    @usableFromInline static let p5: UInt64 = 0x27D4_EB2F_1656_67C5

    // Streaming state: four lanes, a ≤ 32-byte carry buffer, the total length.
    private var v1: UInt64, v2: UInt64, v3: UInt64, v4: UInt64
    private let seed: UInt64
    private var totalLength: UInt64 = 0
    private var buffer: (UInt64, UInt64, UInt64, UInt64) = (0, 0, 0, 0)
    private var bufferCount = 0

    /// A fresh streaming hasher.
    public init(seed: UInt64 = 0) {
        self.seed = seed
        v1 = seed &+ XXH64.p1 &+ XXH64.p2
        v2 = seed &+ XXH64.p2
        v3 = seed
        v4 = seed &- XXH64.p1
    }

    /// The hash of a byte buffer in one call.
    public static func hash(_ bytes: UnsafeRawBufferPointer, seed: UInt64 = 0) -> UInt64 {
        var h = XXH64(seed: seed)
        h.update(bytes)
        return h.finalize()
    }

    /// The hash of a byte array in one call.
    public static func hash<C: ContiguousBytes>(_ bytes: C, seed: UInt64 = 0) -> UInt64 {
        bytes.withUnsafeBytes { hash($0, seed: seed) }
    }

    /// The low 32 bits of `hash`: the header and metadata checksums.
    public static func hash32(_ bytes: UnsafeRawBufferPointer) -> UInt32 { UInt32(truncatingIfNeeded: hash(bytes)) }

    @inline(__always) @usableFromInline
    static func round(_ acc: UInt64, _ input: UInt64) -> UInt64 {
        var a = acc &+ input &* p2
        a = (a << 31) | (a >> 33)
        return a &* p1
    }

    @inline(__always) @usableFromInline
    static func mergeRound(_ acc: UInt64, _ val: UInt64) -> UInt64 {
        let v = round(0, val)
        return (acc ^ v) &* p1 &+ p4
    }

    /// Feeds more bytes (any split of the input gives the same hash).
    public mutating func update(_ input: UnsafeRawBufferPointer) {
        guard input.count > 0, let base = input.baseAddress else { return }
        totalLength &+= UInt64(input.count)
        var p = 0
        let n = input.count
        if bufferCount > 0 {
            let take = min(32 - bufferCount, n)
            withUnsafeMutableBytes(of: &buffer) { b in
                b.baseAddress!.advanced(by: bufferCount).copyMemory(from: base, byteCount: take)
            }
            bufferCount += take
            p = take
            guard bufferCount == 32 else { return }
            v1 = XXH64.round(v1, UInt64(littleEndian: buffer.0))
            v2 = XXH64.round(v2, UInt64(littleEndian: buffer.1))
            v3 = XXH64.round(v3, UInt64(littleEndian: buffer.2))
            v4 = XXH64.round(v4, UInt64(littleEndian: buffer.3))
            bufferCount = 0
        }
        if n - p >= 32 {
            // The hot loop: locals so the four lanes stay in registers.
            var a = v1, b = v2, c = v3, d = v4
            let limit = n - 32
            while p <= limit {
                a = XXH64.round(a, UInt64(littleEndian: base.loadUnaligned(fromByteOffset: p, as: UInt64.self)))
                b = XXH64.round(b, UInt64(littleEndian: base.loadUnaligned(fromByteOffset: p + 8, as: UInt64.self)))
                c = XXH64.round(c, UInt64(littleEndian: base.loadUnaligned(fromByteOffset: p + 16, as: UInt64.self)))
                d = XXH64.round(d, UInt64(littleEndian: base.loadUnaligned(fromByteOffset: p + 24, as: UInt64.self)))
                p += 32
            }
            v1 = a; v2 = b; v3 = c; v4 = d
        }
        if p < n {
            let rest = n - p
            withUnsafeMutableBytes(of: &buffer) { b in
                b.baseAddress!.copyMemory(from: base + p, byteCount: rest)
            }
            bufferCount = rest
        }
    }

    /// The hash of everything fed so far (the state is not consumed).
    public func finalize() -> UInt64 {
        var h: UInt64
        if totalLength >= 32 {
            h = ((v1 << 1) | (v1 >> 63)) &+ ((v2 << 7) | (v2 >> 57)) &+ ((v3 << 12) | (v3 >> 52)) &+ ((v4 << 18) | (v4 >> 46))
            h = XXH64.mergeRound(h, v1)
            h = XXH64.mergeRound(h, v2)
            h = XXH64.mergeRound(h, v3)
            h = XXH64.mergeRound(h, v4)
        } else {
            h = seed &+ XXH64.p5
        }
        h &+= totalLength
        var tail = buffer
        let count = bufferCount
        withUnsafeBytes(of: &tail) { t in
            var p = 0
            while p + 8 <= count {
                let k = XXH64.round(0, UInt64(littleEndian: t.loadUnaligned(fromByteOffset: p, as: UInt64.self)))
                h ^= k
                h = ((h << 27) | (h >> 37)) &* XXH64.p1 &+ XXH64.p4
                p += 8
            }
            if p + 4 <= count {
                h ^= UInt64(UInt32(littleEndian: t.loadUnaligned(fromByteOffset: p, as: UInt32.self))) &* XXH64.p1
                h = ((h << 23) | (h >> 41)) &* XXH64.p2 &+ XXH64.p3
                p += 4
            }
            while p < count {
                h ^= UInt64(t[p]) &* XXH64.p5
                h = ((h << 11) | (h >> 53)) &* XXH64.p1
                p += 1
            }
        }
        h ^= h >> 33
        h &*= XXH64.p2
        h ^= h >> 29
        h &*= XXH64.p3
        h ^= h >> 32
        return h
    }
}
