import Foundation
import NTKCore
import NTKWire
import XCTest

/// The decoder against hostile input: every input either decodes or throws a `WireError`; nothing traps or hangs.
final class FuzzTests: XCTestCase {
    func testDeeplyNestedMetadata() throws {
        let base = try sampleMessage()
        for depth in [1_000, 100_000, 900_000] {
            let meta = Array(("{\"arrays\":[],\"body\":" + String(repeating: "[", count: depth) + String(repeating: "]", count: depth) + "}").utf8)
            let frames = [Frame(copying: resealed(header: base.header, metadata: meta, arrayCount: 0)), Frame(copying: meta)]
            var limits = WireLimits.default
            limits.maxMetadataBytes = 4 << 20
            do {
                let m = try Wire.decode(frames, limits: limits)
                _ = try? m.payload(Heartbeat.self)
            } catch is WireError {}
        }
    }
}

extension FuzzTests {
    /// 120 000 random and mutated messages through decode → typed payload → NTKCore helpers (→ reassembler
    /// for chunks). Mutations: bit flips, truncations, extensions, dropped/duplicated/swapped/inserted
    /// frames, random frames, random headers with valid checksums, byte edits of the metadata JSON and
    /// structural JSON edits (both resealed so they reach the parser and the validators), and array byte
    /// edits with recomputed checksums (so they reach the NaN/∞ scan and the payload checks).
    func testFuzzDecoder() throws {
        let iterations = 120_000
        var rng = SplitMix64(seed: 0xF022)
        let corpus = try fuzzCorpus()
        let arch = try MLPArchitecture(widths: [3, 4, 2], activation: .tanh)
        let reassembler = Reassembler<Int>(maxPendingBytes: 1 << 20, maxPendingPerSender: 4, timeout: .seconds(1))
        var rejected = 0, payloadRejected = 0, accepted = 0, foreignErrors: [String] = []
        var reasons: [String: Int] = [:]
        let start = Date()
        for i in 0..<iterations {
            let original = corpus[Int(rng.next() % UInt64(corpus.count))]
            let frames = mutate(original, &rng)
            var limits = WireLimits.default
            limits.requireFinite = rng.next() % 2 == 0
            if rng.next() % 8 == 0 { limits.maxArrayCount = Int(rng.next() % 8); limits.maxRank = Int(rng.next() % 3) }
            var m: Message?
            do {
                m = try Wire.decode(frames, limits: limits)
                try readPayload(m!, architecture: arch, reassembler: reassembler, sender: i % 3)
                accepted += 1
            } catch let e as WireError {
                if m == nil { rejected += 1 } else { payloadRejected += 1 }
                reasons[Mirror(reflecting: e).children.first?.label ?? "\(e)", default: 0] += 1
            } catch {
                if foreignErrors.count < 5 { foreignErrors.append(String(describing: error)) }
            }
            if i % 1000 == 0 { reassembler.evictExpired(now: .now + .seconds(2)) }
        }
        let seconds = Date().timeIntervalSince(start)
        print("fuzz: \(iterations) messages in \(String(format: "%.1f", seconds)) s: \(rejected) rejected by the decoder, \(payloadRejected) decoded but rejected as payloads, \(accepted) accepted (every rejection a WireError)")
        print("fuzz rejections by reason: " + reasons.sorted { $0.value > $1.value }.map { "\($0.key) \($0.value)" }.joined(separator: ", "))
        XCTAssertTrue(foreignErrors.isEmpty, "errors other than WireError: \(foreignErrors)")
        XCTAssertEqual(rejected + payloadRejected + accepted + foreignErrors.count, iterations)
        XCTAssertGreaterThan(rejected, iterations / 2)
        XCTAssertGreaterThan(payloadRejected, iterations / 100)   // mutations reach the payload layer
        XCTAssertGreaterThan(accepted, iterations / 100)
    }

    /// Valid messages of every type (and chunks), small so that mutations hit every part.
    private func fuzzCorpus() throws -> [Message] {
        let arch = try MLPArchitecture(widths: [3, 4, 2], activation: .tanh)
        let net = MLP<Float>(architecture: arch, seed: 3)
        let x = Matrix<Float>(rows: 2, columns: 3, elements: [0.1, -0.2, 0.3, 0.4, 0.5, -0.6])
        let y = Matrix<Float>(rows: 2, columns: 2, elements: [1, 0, 0, 1])
        let j = try FactoredJacobian(network: net, inputs: x)
        let run = RunID.of(name: "fuzz")
        var corpus: [Message] = [
            try sampleMessage(seed: 1), try sampleMessage(seed: 2, type: .block),
            try Message(Register(workerName: "w", sampleCount: 2, inputDimension: 3, outputCount: 2,
                                 dataFingerprint: DataFingerprint.sha256(inputs: x, targets: y)), runID: run),
            try Message(Welcome(workerID: 1, runName: "fuzz", architecture: arch), workerID: 1, runID: run),
            try Message(RoundStart(parameters: net.parameters, refresh: true, evaluate: true), workerID: 1, runID: run, round: 1),
            try Message(Block(factored: j, targets: y), workerID: 1, runID: run, round: 1),
            try Message(Block(dense: JacobianBlock(j), targets: y), workerID: 1, runID: run, round: 1),
            try Message(Candidates(times: [0.5, 1], parameters: [net.parameters, net.parameters]), workerID: 1, runID: run, round: 1),
            try Message(CandidateLosses(losses: [LossSummary(lossSum: 1, sampleCount: 2, correctCount: 1),
                                                 LossSummary(lossSum: .infinity, sampleCount: 2)]), workerID: 1, runID: run, round: 1),
            try Message(EvaluationReport(heldOut: LossSummary(lossSum: 0.5, sampleCount: 2, correctCount: 2)), workerID: 1, runID: run),
            try Message(Heartbeat(sentAt: 1), workerID: 1, runID: run),
            try Message(Reject(code: .wrongRound, reason: "late", rejectedType: 4, rejectedRound: 1), runID: run),
            try Message(Shutdown(reason: "done"), runID: run),
            try Message(LocalUpdate(parameters: MLPParameters<Float>(initializing: arch, seed: 3), sampleCount: 5,
                                    loss: LossSummary(lossSum: 1, sampleCount: 5, correctCount: 4)), workerID: 1, runID: run, round: 1),
        ]
        let block = try Message(Block(factored: j, targets: y), workerID: 1, runID: run, round: 1)
        corpus += try Wire.chunk(block, maxBytes: 1800, messageID: 0xABCD)
        return corpus
    }

    /// Reads the payload the header announces and, with the fuzz architecture, the NTKCore values.
    private func readPayload(_ m: Message, architecture arch: MLPArchitecture, reassembler: Reassembler<Int>, sender: Int) throws {
        if m.header.flags.contains(.chunk) {
            _ = try reassembler.accept(m, from: sender)
            return
        }
        switch m.type {
        case .register: _ = try m.payload(Register.self)
        case .welcome: _ = try m.payload(Welcome.self)
        case .roundStart: _ = try m.payload(RoundStart.self).parameters(architecture: arch, as: Float.self)
        case .block:
            let b = try m.payload(Block.self)
            if b.body.format == .factored { _ = try b.factoredJacobian(architecture: arch, as: Float.self) } else { _ = try b.jacobianBlock(architecture: arch, as: Double.self) }
        case .candidates: _ = try m.payload(Candidates.self).parameters(architecture: arch, as: Float.self)
        case .candidateLosses: _ = try m.payload(CandidateLosses.self)
        case .evaluationReport: _ = try m.payload(EvaluationReport.self)
        case .heartbeat: _ = try m.payload(Heartbeat.self)
        case .reject: _ = try m.payload(Reject.self)
        case .shutdown: _ = try m.payload(Shutdown.self)
        case .localUpdate: _ = try m.payload(LocalUpdate.self).parameters(architecture: arch, as: Float.self)
        }
    }

    private func mutate(_ message: Message, _ rng: inout SplitMix64) -> [Frame] {
        var parts = message.encoded().map(bytes)
        func r(_ n: Int) -> Int { n <= 0 ? 0 : Int(rng.next() % UInt64(n)) }
        func randomBytes(_ n: Int) -> [UInt8] { (0..<n).map { _ in UInt8(truncatingIfNeeded: rng.next()) } }
        switch r(12) {
        case 0, 1:   // bit flips anywhere
            for _ in 0..<(1 + r(8)) {
                let f = r(parts.count)
                guard !parts[f].isEmpty else { continue }
                parts[f][r(parts[f].count)] ^= UInt8(1 << r(8))
            }
        case 2:   // truncate a frame
            let f = r(parts.count)
            parts[f] = Array(parts[f].prefix(r(parts[f].count + 1)))
        case 3:   // extend a frame
            let f = r(parts.count)
            parts[f] += randomBytes(1 + r(16))
        case 4:   // frame count: drop, duplicate, swap, insert
            switch r(4) {
            case 0: if !parts.isEmpty { parts.remove(at: r(parts.count)) }
            case 1: parts.insert(parts[r(parts.count)], at: r(parts.count + 1))
            case 2: let a = r(parts.count), b = r(parts.count); parts.swapAt(a, b)
            default: parts.insert(randomBytes(r(64)), at: r(parts.count + 1))
            }
        case 5:   // random frames
            parts = (0..<r(8)).map { _ in randomBytes(r(3) == 0 ? 48 : r(200)) }
        case 6:   // random header fields behind a valid checksum
            var h = message.header
            h.version = r(4) == 0 ? UInt16(r(3)) : 1
            h.flags = MessageFlags(rawValue: r(4) == 0 ? UInt32(truncatingIfNeeded: rng.next()) : UInt32(r(2)))
            h.arrayCount = r(2) == 0 ? UInt32(r(10)) : UInt32(truncatingIfNeeded: rng.next())
            h.metadataLength = r(2) == 0 ? h.metadataLength : UInt32(truncatingIfNeeded: rng.next())
            h.round = rng.next()
            var raw = h.encoded()
            if r(3) == 0 { raw[6] = UInt8(r(16)) ; raw[7] = 0 }
            let sum = raw[0..<44].withUnsafeBytes { XXH64.hash32($0) }
            withUnsafeBytes(of: sum.littleEndian) { for i in 0..<4 { raw[44 + i] = $0[i] } }
            parts[0] = raw
        case 7, 8:   // byte edits of the JSON text, resealed
            var meta = parts[1]
            for _ in 0..<(1 + r(4)) {
                switch r(3) {
                case 0: if !meta.isEmpty { meta[r(meta.count)] = Array("{}[]\",:0123456789-e.tfnul x".utf8)[r(27)] }
                case 1: if !meta.isEmpty { meta.remove(at: r(meta.count)) }
                default: meta.insert(Array("{}[]\",:09-e.".utf8)[r(12)], at: r(meta.count + 1))
                }
            }
            parts[1] = meta
            parts[0] = resealed(header: message.header, metadata: meta, arrayCount: parts.count - 2)
        case 9, 10:   // structural JSON edits, resealed
            if var json = try? JSONSerialization.jsonObject(with: Data(parts[1])) {
                for _ in 0..<(1 + r(3)) { json = mutateJSON(json, &rng, depth: 0) }
                if let data = try? JSONSerialization.data(withJSONObject: json, options: [.fragmentsAllowed]) {
                    parts[1] = [UInt8](data)
                    parts[0] = resealed(header: message.header, metadata: parts[1], arrayCount: parts.count - 2)
                }
            }
        default:   // array bytes changed and re-checksummed (reaches NaN scans and payload checks)
            guard parts.count > 2, var json = try? JSONSerialization.jsonObject(with: Data(parts[1])) as? [String: Any],
                  var arrays = json["arrays"] as? [[String: Any]] else { break }
            let a = 2 + r(parts.count - 2)
            if !parts[a].isEmpty {
                for _ in 0..<(1 + r(4)) { parts[a][r(parts[a].count)] = r(2) == 0 ? 0xFF : UInt8(truncatingIfNeeded: rng.next()) }
            }
            let sum = parts[a].withUnsafeBytes { XXH64.hash($0) }
            let hex = String(sum, radix: 16)
            arrays[a - 2]["xxh64"] = String(repeating: "0", count: 16 - hex.count) + hex
            json["arrays"] = arrays
            if let data = try? JSONSerialization.data(withJSONObject: json) {
                parts[1] = [UInt8](data)
                parts[0] = resealed(header: message.header, metadata: parts[1], arrayCount: parts.count - 2)
            }
        }
        return frames(parts)
    }

    /// Replaces one random node of a JSON value with a random value.
    private func mutateJSON(_ value: Any, _ rng: inout SplitMix64, depth: Int) -> Any {
        func r(_ n: Int) -> Int { Int(rng.next() % UInt64(max(n, 1))) }
        let stop = depth > 0 && r(3) == 0
        if var dict = value as? [String: Any], !dict.isEmpty, !stop {
            let key = Array(dict.keys).sorted()[r(dict.count)]
            if r(8) == 0 { dict[key] = nil } else { dict[key] = mutateJSON(dict[key]!, &rng, depth: depth + 1) }
            return dict
        }
        if var array = value as? [Any], !array.isEmpty, !stop {
            switch r(6) {
            case 0: array.remove(at: r(array.count))
            case 1: array.append(array[r(array.count)])
            default: let i = r(array.count); array[i] = mutateJSON(array[i], &rng, depth: depth + 1)
            }
            return array
        }
        let choices: [Any] = [NSNull(), -1, 0, 1, 2, 3, 7, 1 << 31, (1 << 31) + 1, Int.max, Int.min, 1e300, -0.5, 2.5, true, false,
                              "", "x", "f32", "f64", "f16", "u8", "i64", "factored", "dense", "W1", "theta0", "X0", "D1", "u",
                              "0000000000000000", "ffffffffffffffff", String(repeating: "a", count: 300),
                              [Any](), [1, 2], [0, 1 << 31], [Int.max, 2], ["a": 1], [String: Any]()]
        return choices[r(choices.count)]
    }
}
