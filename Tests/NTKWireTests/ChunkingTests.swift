import Foundation
import NTKCore
import NTKWire
import XCTest

/// Chunking and reassembly: order, duplicates, corruption, memory bounds, eviction.
final class ChunkingTests: XCTestCase {
    /// A message with arrays large enough to need several chunks.
    private func bigMessage(seed: UInt64, floats: Int = 50_000) throws -> Message {
        var rng = SplitMix64(seed: seed)
        let a = (0..<floats).map { _ in Float(bitPattern: UInt32(truncatingIfNeeded: rng.next()) & 0x3FFF_FFFF) }
        let b = (0..<(floats / 3)).map { _ in Double(rng.next() % 1_000_000) }
        return try Message(type: .block, body: ["sampleCount": 12], arrays: [
            TypedArray(name: "u", a, shape: [floats / 10, 10]),
            TypedArray(name: "empty", [Float](), shape: [0]),
            TypedArray(name: "tiny", [UInt8(1), 2, 3]),
            TypedArray(name: "Z", b),
        ], workerID: 2, runID: 77, round: 3)
    }

    /// Chunks travel as frames like any message.
    private func transmit(_ m: Message) throws -> Message { try Wire.decode(m.encoded()) }

    func testRandomSizesShuffledOrderManySenders() throws {
        var rng = SplitMix64(seed: 42)
        let reassembler = Reassembler<String>(maxPendingPerSender: 8)
        for trial in 0..<20 {
            let originals = try (0..<3).map { try bigMessage(seed: UInt64(trial * 10 + $0)) }
            var all: [(String, Message)] = []
            for (i, original) in originals.enumerated() {
                let maxBytes = 2048 + Int(rng.next() % 300_000)
                let chunks = try Wire.chunk(original, maxBytes: maxBytes)
                XCTAssertGreaterThan(chunks.count, 1)
                for c in chunks {
                    XCTAssertLessThanOrEqual(c.byteCount, maxBytes)
                    XCTAssertTrue(c.header.flags.contains(.chunk))
                    all.append(("sender-\(i % 2)", try transmit(c)))
                }
            }
            all.shuffle(using: &rng)
            var rebuilt: [Message] = []
            for (sender, c) in all {
                if let m = try reassembler.accept(c, from: sender) { rebuilt.append(m) }
            }
            XCTAssertEqual(rebuilt.count, 3)
            XCTAssertEqual(reassembler.pendingCount, 0)
            XCTAssertEqual(reassembler.pendingBytes, 0)
            for original in originals {
                let match = try XCTUnwrap(rebuilt.first { $0.metadata == original.metadata })
                assertSameMessage(original, match)
                XCTAssertFalse(match.header.flags.contains(.chunk))
            }
        }
    }

    func testSmallMessagePassesThrough() throws {
        let m = try sampleMessage()
        let chunks = try Wire.chunk(m, maxBytes: m.byteCount)
        XCTAssertEqual(chunks.count, 1)
        XCTAssertFalse(chunks[0].header.flags.contains(.chunk))
        assertThrowsWire(try Reassembler<Int>().accept(m, from: 1)) { if case .invalidChunk = $0 { return true }; return false }
    }

    func testTooSmallMaximum() throws {
        let m = try bigMessage(seed: 1)
        assertThrowsWire(try Wire.chunk(m, maxBytes: 300)) { if case .chunkSizeTooSmall = $0 { return true }; return false }
    }

    func testBlockSurvivesChunking() throws {
        let (arch, _, j, y) = try smallBlock(widths: [20, 64, 64, 4], samples: 50)
        let original = try Message(Block(factored: j, targets: y), workerID: 1, runID: 9, round: 1)
        let chunks = try Wire.chunk(original, maxBytes: 8192)
        let reassembler = Reassembler<Int>()
        var result: Message?
        for c in chunks.reversed() { result = try reassembler.accept(transmit(c), from: 1) ?? result }
        let (j2, y2) = try XCTUnwrap(result).payload(Block.self).factoredJacobian(architecture: arch, as: Float.self)
        XCTAssertEqual(j2.deltas, j.deltas)
        XCTAssertEqual(j2.layerInputs, j.layerInputs)
        XCTAssertEqual(y2, y)
        // Reassembled arrays sit in 64-byte aligned buffers: read in place.
        for a in try XCTUnwrap(result).arrays { XCTAssertEqual(Int(bitPattern: a.frame.bytes.baseAddress) % 64, 0) }
    }

    func testDuplicatesRejectedBeforeAndAfterCompletion() throws {
        let chunks = try Wire.chunk(bigMessage(seed: 3), maxBytes: 100_000)
        XCTAssertGreaterThanOrEqual(chunks.count, 3)
        let r = Reassembler<Int>()
        XCTAssertNil(try r.accept(chunks[0], from: 1))
        assertThrowsWire(try r.accept(chunks[0], from: 1)) { if case .duplicateChunk(_, 0) = $0 { return true }; return false }
        // The same chunk from another sender is another message.
        XCTAssertNil(try r.accept(chunks[0], from: 2))
        for c in chunks.dropFirst().dropLast() { XCTAssertNil(try r.accept(c, from: 1)) }
        XCTAssertNotNil(try r.accept(chunks.last!, from: 1))
        assertThrowsWire(try r.accept(chunks[1], from: 1)) { if case .duplicateChunk = $0 { return true }; return false }
    }

    func testCorruptedChunkAndForgedPiece() throws {
        let original = try bigMessage(seed: 4)
        let chunks = try Wire.chunk(original, maxBytes: 60_000)
        // A flipped bit in a piece fails the chunk's own checksum.
        var frames = chunks[1].encoded()
        var piece = bytes(frames[2])
        piece[piece.count / 2] ^= 0x08
        frames[2] = Frame(copying: piece)
        assertThrowsWire(try Wire.decode(frames)) { if case .arrayChecksumMismatch = $0 { return true }; return false }

        // A piece re-checksummed by the sender (or altered before chunking) fails the whole-array checksum.
        let info = try chunks[1].body(as: ChunkInfo.self)
        let forgedPiece = try TypedArray(name: chunks[1].arrays[0].name, piece)
        let forged = try Message(type: .block, body: info, arrays: [forgedPiece] + chunks[1].arrays.dropFirst(),
                                 flags: .chunk, workerID: 2, runID: 77, round: 3)
        let r = Reassembler<Int>()
        var caught: WireError?
        for c in [forged] + chunks.enumerated().filter({ $0.offset != 1 }).map(\.element) {
            do { _ = try r.accept(c, from: 1) } catch let e as WireError { caught = e }
        }
        guard case .arrayChecksumMismatch(let name, _, _) = caught else { return XCTFail("expected a checksum mismatch, got \(String(describing: caught))") }
        XCTAssertEqual(name, chunks[1].arrays[0].name)
        XCTAssertEqual(r.pendingCount, 0)
    }

    func testInconsistentChunks() throws {
        let chunks = try Wire.chunk(bigMessage(seed: 5), maxBytes: 50_000)
        let r = Reassembler<Int>()
        _ = try r.accept(chunks[0], from: 1)
        // Same message id, other round.
        let wrongRound = chunks[1].addressed(round: 4)
        assertThrowsWire(try r.accept(wrongRound, from: 1)) { if case .inconsistentChunk = $0 { return true }; return false }
        // Same id, other original metadata.
        var info = try chunks[1].body(as: ChunkInfo.self)
        info.original = info.original.replacingOccurrences(of: "\"sampleCount\":12", with: "\"sampleCount\":13")
        let altered = try Message(type: .block, body: info, arrays: chunks[1].arrays, flags: .chunk, workerID: 2, runID: 77, round: 3)
        assertThrowsWire(try r.accept(altered, from: 1)) { if case .inconsistentChunk = $0 { return true }; return false }
        // A piece beyond its array's end.
        info = try chunks[1].body(as: ChunkInfo.self)
        info.segments[0].offset = 1 << 40
        let beyond = try Message(type: .block, body: info, arrays: chunks[1].arrays, flags: .chunk, workerID: 2, runID: 77, round: 3)
        assertThrowsWire(try r.accept(beyond, from: 1)) { if case .inconsistentChunk = $0 { return true }; return false }
        // Index out of range.
        info = try chunks[1].body(as: ChunkInfo.self)
        info.index = info.count
        let outOfRange = try Message(type: .block, body: info, arrays: chunks[1].arrays, flags: .chunk, workerID: 2, runID: 77, round: 3)
        assertThrowsWire(try r.accept(outOfRange, from: 1)) { if case .invalidChunk = $0 { return true }; return false }
        // The refused chunks left the state untouched: the genuine rest completes the message.
        var done: Message?
        for c in chunks.dropFirst() { done = try r.accept(c, from: 1) ?? done }
        XCTAssertNotNil(done)
    }

    func testOverlappingPiecesDetected() throws {
        let chunks = try Wire.chunk(bigMessage(seed: 6, floats: 20_000), maxBytes: 30_000)
        XCTAssertGreaterThanOrEqual(chunks.count, 3)
        // Chunk 1 moved back by one byte overlaps chunk 0 and leaves a gap at its end.
        var info = try chunks[1].body(as: ChunkInfo.self)
        guard info.segments[0].offset > 0 else { throw XCTSkip("layout") }
        info.segments[0].offset -= 1
        let shifted = try Message(type: .block, body: info, arrays: chunks[1].arrays, flags: .chunk, workerID: 2, runID: 77, round: 3)
        let r = Reassembler<Int>()
        var caught: WireError?
        for c in [chunks[0], shifted] + chunks.dropFirst(2) {
            do { _ = try r.accept(c, from: 1) } catch let e as WireError { caught = e }
        }
        guard case .inconsistentChunk = caught else { return XCTFail("expected overlap detection, got \(String(describing: caught))") }
    }

    func testMemoryBoundsAndEviction() throws {
        let m = try bigMessage(seed: 7)
        let chunks = try Wire.chunk(m, maxBytes: 50_000)
        // Whole message over the per-message limit.
        var limits = WireLimits.default
        limits.maxReassembledBytes = m.byteCount / 2
        assertThrowsWire(try Reassembler<Int>(limits: limits).accept(chunks[0], from: 1)) { if case .reassemblyLimit = $0 { return true }; return false }
        // All partial messages together over the memory bound.
        let tight = Reassembler<Int>(maxPendingBytes: m.byteCount + m.byteCount / 2)
        XCTAssertNil(try tight.accept(chunks[0], from: 1))
        let other = try Wire.chunk(bigMessage(seed: 8), maxBytes: 50_000)
        assertThrowsWire(try tight.accept(other[0], from: 2)) { if case .reassemblyLimit = $0 { return true }; return false }
        // Too many partial messages from one sender.
        let perSender = Reassembler<Int>(maxPendingPerSender: 1)
        XCTAssertNil(try perSender.accept(chunks[0], from: 1))
        assertThrowsWire(try perSender.accept(other[0], from: 1)) { if case .reassemblyLimit = $0 { return true }; return false }
        XCTAssertNil(try perSender.accept(other[0], from: 2))
        XCTAssertEqual(perSender.evict(sender: 1), 1)
        XCTAssertEqual(perSender.pendingCount, 1)
        // Idle messages expire.
        let t0 = ContinuousClock.now
        let r = Reassembler<Int>(timeout: .seconds(10))
        XCTAssertNil(try r.accept(chunks[0], from: 1, now: t0))
        XCTAssertGreaterThan(r.pendingBytes, m.byteCount - 1)
        XCTAssertEqual(r.evictExpired(now: t0 + .seconds(5)), 0)
        XCTAssertNil(try r.accept(chunks[1], from: 1, now: t0 + .seconds(6)))   // activity extends the deadline
        XCTAssertEqual(r.evictExpired(now: t0 + .seconds(12)), 0)
        XCTAssertEqual(r.evictExpired(now: t0 + .seconds(17)), 1)
        XCTAssertEqual(r.pendingBytes, 0)
    }

    func testRequireFiniteAppliesToReassembledMessage() throws {
        var values = [Float](repeating: 0.5, count: 30_000)
        values[29_999] = .nan
        let m = try Message(type: .block, body: [String: Int](), arrays: [TypedArray(name: "D1", values)])
        var limits = WireLimits.default
        limits.requireFinite = true
        let r = Reassembler<Int>(limits: limits)
        var caught: WireError?
        for c in try Wire.chunk(m, maxBytes: 16_384) {
            do { _ = try r.accept(Wire.decode(c.encoded(), limits: limits), from: 1) } catch let e as WireError { caught = e }
        }
        XCTAssertEqual(caught, .nonFinite(array: "D1", index: 29_999))
    }
}
