import Foundation
import Logging
import NTKTransport
import NTKWire

/// The server's side of the protocol beneath the round logic: sends (chunked when large), receives,
/// decodes, reassembles chunks, and refuses bad messages — logged with the reason, the sender told —
/// so that the round logic only ever sees complete, valid messages of this run.
final class ServerMailbox {
    let transport: ServerTransport
    let runID: UInt64
    let limits: WireLimits
    let log: Logger
    private let reassembler: Reassembler<PeerID>
    /// Bytes received per peer and sent in total since the last `resetCounters`.
    private(set) var bytesReceived: [PeerID: Int] = [:]
    private(set) var bytesSent = 0
    /// Messages refused since start (for tests and logs).
    private(set) var refusals: [(peer: PeerID, reason: String)] = []

    init(transport: ServerTransport, runID: UInt64, limits: WireLimits, log: Logger) {
        self.transport = transport
        self.runID = runID
        self.limits = limits
        self.log = log
        self.reassembler = Reassembler(limits: limits, timeout: .seconds(600))
    }

    func resetCounters() {
        bytesReceived = [:]
        bytesSent = 0
    }

    /// Sends a payload to one worker, in chunks when it exceeds the message size limit.
    func send<P: WirePayload>(_ payload: P, to peer: PeerID, workerID: UInt32, round: Int) throws {
        let message = try Message(payload, workerID: workerID, runID: runID, round: UInt64(round))
        for part in try Wire.chunk(message, maxBytes: limits.maxMessageBytes) {
            let frames = part.encoded()
            try transport.send(frames, to: peer)
            bytesSent += frames.reduce(0) { $0 + $1.count }
        }
    }

    /// Tells a peer why its message was refused (best effort: it may have gone).
    func reject(_ peer: PeerID, _ code: RejectCode, _ reason: String, type: MessageType? = nil, round: UInt64? = nil, fatal: Bool = false) {
        log.warning("refused message from \(peer): \(reason)")
        refusals.append((peer, reason))
        let reply = Reject(code: code, reason: reason, rejectedType: type?.rawValue, rejectedRound: round, fatal: fatal)
        if let message = try? Message(reply, runID: runID) {
            try? transport.send(message.encoded(), to: peer)
        }
    }

    /// The next complete, valid message of this run, or `nil` once `deadline` passes.
    func next(until deadline: ContinuousClock.Instant) throws -> (peer: PeerID, message: Message)? {
        while true {
            let remaining = deadline - .now
            guard remaining > .zero else { return nil }
            guard let (peer, frames) = try transport.receive(timeout: remaining) else { return nil }
            bytesReceived[peer, default: 0] += frames.reduce(0) { $0 + $1.count }
            let message: Message
            do {
                message = try Wire.decode(frames, limits: limits)
            } catch let error as WireError {
                // §10.3: when the header itself is valid, say which message was refused.
                let header = Wire.peekHeader(frames)
                reject(peer, Reject(error).code, "undecodable message: \(error)", type: header?.type, round: header?.round,
                       fatal: Reject(error).fatal)
                continue
            }
            // A register may leave the run id 0 (§6.1); one that names another run is refused for good (§8.1).
            if message.header.runID != runID && (message.type != .register || message.header.runID != 0) {
                reject(peer, .wrongRun, "message for run \(String(message.header.runID, radix: 16)), this is run \(String(runID, radix: 16))",
                       type: message.type, round: message.header.round, fatal: message.type == .register)
                continue
            }
            if message.header.flags.contains(.chunk) {
                do {
                    guard let whole = try reassembler.accept(message, from: peer) else { continue }
                    return (peer, whole)
                } catch {
                    // The rebuilt message is validated like any other: keep its code (nonFinite, tooLarge, …).
                    reject(peer, (error as? WireError).map { Reject($0).code } ?? .malformed, "bad chunk: \(error)",
                           type: message.type, round: message.header.round)
                    continue
                }
            }
            return (peer, message)
        }
    }

    /// Drops partial messages of a peer that left.
    func forget(_ peer: PeerID) { _ = reassembler.evict(sender: peer) }
}
