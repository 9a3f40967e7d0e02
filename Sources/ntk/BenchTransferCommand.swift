import ArgumentParser
import Foundation
import NTKTransport
import NTKWire

/// `ntk bench transfer`: blocks per second and GB/s from worker *processes* to one server over tcp loopback.
///
/// The in-process `TransferBenchmark` (threads, raw frames) measures the transport alone; this command
/// measures what a round's block phase pays: each sender is a separate process that builds a real
/// `block` message per block (XXH64 of every array), chunks it to the server's message limit as a
/// worker does (`Wire.chunk`) and sends it zero-copy; the server decodes every message (checksums
/// verified) and rebuilds chunked ones with the `Reassembler`, as `ServerMailbox` does. Connection
/// set-up and the CURVE handshake happen before the clock starts (hello, then "go"). `--in-process`
/// runs `TransferBenchmark` instead, for comparison.
struct BenchTransferCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "transfer",
        abstract: "Time blocks sent by separate sender processes to one server over tcp loopback (plain or CURVE).",
        discussion: """
        The server binds tcp://127.0.0.1 on a free port and starts --senders copies of this executable \
        (hidden option --role sender). Each sends --blocks blocks of --block-mib MiB of float32 as \
        `block` messages, chunked above --max-message-mib (the run default is 256 MiB). With --json \
        the last stdout line is one JSON object: {"mode", "senders", "block_bytes", "blocks", \
        "chunks_per_block", "curve", "seconds", "bytes", "blocks_per_second", "gb_per_second"} \
        (GB = 10⁹ bytes of frames received, headers and metadata included).
        """)

    enum Role: String, ExpressibleByArgument { case server, sender }

    @Option(help: "Sender processes (workers).")
    var senders = 4
    @Option(name: .customLong("block-mib"), help: ArgumentHelp("Size of one block in MiB (float32 payload).", valueName: "MiB"))
    var blockMiB = 64
    @Option(help: "Blocks each sender sends.")
    var blocks = 8
    @Option(name: .customLong("max-message-mib"), help: ArgumentHelp("Largest message sent unchunked, in MiB (server.max_message_bytes).", valueName: "MiB"))
    var maxMessageMiB = 256
    @Flag(help: "Encrypt with CURVE; the server admits only the senders' keys (ZAP), as a run with a curve section.")
    var curve = false
    @Flag(name: .customLong("in-process"), help: "Run the in-process TransferBenchmark instead (sender threads, raw frames, no protocol).")
    var inProcess = false
    @Flag(help: "Print one JSON object as the last stdout line.")
    var json = false

    // Internal: how the server starts its senders.
    @Option(help: .hidden) var role: Role = .server
    @Option(help: .hidden) var endpoint = ""
    @Option(help: .hidden) var name = ""
    @Option(help: .hidden) var keys = ""

    func validate() throws {
        guard senders >= 1, blocks >= 1, blockMiB >= 1 else { throw ValidationError("--senders, --blocks and --block-mib must be ≥ 1") }
        guard maxMessageMiB >= 1 else { throw ValidationError("--max-message-mib must be ≥ 1") }
    }

    var blockBytes: Int { blockMiB << 20 }
    var maxMessageBytes: Int { maxMessageMiB << 20 }

    /// The sockets' options as a run sets them (frame size limit = the message limit).
    var options: ZMQTransportOptions {
        var options = ZMQTransportOptions()
        options.maxFrameSize = Int64(maxMessageBytes)
        options.linger = .seconds(30)
        options.sendTimeout = .seconds(120)
        return options
    }

    struct Result: Codable {
        let mode: String
        let senders: Int
        let blockBytes: Int
        let blocks: Int
        let chunksPerBlock: Int
        let curve: Bool
        let seconds: Double
        let bytes: Int
        let blocksPerSecond: Double
        let gbPerSecond: Double
    }

    func run() throws {
        switch role {
        case .sender: try runSender()
        case .server: try report(inProcess ? runInProcess() : runServer())
        }
    }

    // MARK: server

    func runServer() throws -> Result {
        let keyDirectory = curve ? try Self.writeKeys(senders: senders) : nil
        defer { keyDirectory.map { try? FileManager.default.removeItem(at: $0) } }
        let security = try keyDirectory.map { dir in
            CurveServerSecurity(keyPair: try CurveKeyPair.read(secretFile: dir.appendingPathComponent("server.key_secret")),
                                clients: .only(Set(try (0..<senders).map { try CurvePublicKey(contentsOf: dir.appendingPathComponent("sender-\($0).key")) })))
        }
        let server = try ZMQServerTransport(bind: "tcp://127.0.0.1:*", options: options, curve: security)
        defer { server.close() }
        let children = try (0..<senders).map { try spawnSender(index: $0, endpoint: server.endpoint, keys: keyDirectory) }
        defer { for child in children where child.isRunning { child.terminate() } }

        var peers: [PeerID] = []
        while peers.count < senders {
            guard let hello = try server.receive(timeout: .seconds(60)) else { throw TransportError.timedOut(operation: "wait for senders' hello") }
            peers.append(hello.peer)
        }
        let limits = WireLimits(maxMessageBytes: maxMessageBytes)
        let reassembler = Reassembler<PeerID>(limits: limits)
        let start = ContinuousClock.now
        for peer in peers { try server.send([Frame(copying: Array("go".utf8))], to: peer) }
        var bytes = 0, complete = 0, chunks = 0
        while complete < senders * blocks {
            guard let (peer, frames) = try server.receive(timeout: .seconds(120)) else { throw TransportError.timedOut(operation: "wait for blocks") }
            bytes += frames.reduce(0) { $0 + $1.count }
            let message = try Wire.decode(frames, limits: limits)
            if message.header.flags.contains(.chunk) {
                chunks += 1
                if try reassembler.accept(message, from: peer) != nil { complete += 1 }
            } else {
                complete += 1
            }
        }
        let seconds = Console.seconds(ContinuousClock.now - start)
        for peer in peers { try server.send([Frame(copying: Array("done".utf8))], to: peer) }
        for child in children {
            child.waitUntilExit()
            guard child.terminationStatus == 0 else { throw ValidationError("a sender exited with status \(child.terminationStatus)") }
        }
        let total = senders * blocks
        return Result(mode: "processes, protocol messages", senders: senders, blockBytes: blockBytes, blocks: total,
                      chunksPerBlock: max(1, chunks / total), curve: curve, seconds: seconds, bytes: bytes,
                      blocksPerSecond: Double(total) / seconds, gbPerSecond: Double(bytes) / seconds / 1e9)
    }

    /// A key pair for the server and one per sender, in a fresh temporary directory.
    static func writeKeys(senders: Int) throws -> URL {
        let dir = FileManager.default.temporaryDirectory.appendingPathComponent("ntk-bench-keys-\(UUID().uuidString)")
        try FileManager.default.createDirectory(at: dir, withIntermediateDirectories: true)
        for name in ["server"] + (0..<senders).map({ "sender-\($0)" }) {
            try CurveKeyPair.generate().write(basePath: dir.appendingPathComponent(name).path, name: name)
        }
        return dir
    }

    func spawnSender(index: Int, endpoint: String, keys: URL?) throws -> Process {
        let child = Process()
        child.executableURL = URL(fileURLWithPath: "/proc/self/exe").resolvingSymlinksInPath()
        child.arguments = ["bench", "transfer", "--role", "sender", "--endpoint", endpoint, "--name", "sender-\(index)",
                           "--block-mib", "\(blockMiB)", "--blocks", "\(blocks)", "--max-message-mib", "\(maxMessageMiB)"]
            + (keys.map { ["--keys", $0.path] } ?? [])
        try child.run()
        return child
    }

    // MARK: sender

    func runSender() throws {
        var security: CurveClientSecurity?
        if !keys.isEmpty {
            let dir = URL(fileURLWithPath: keys)
            security = CurveClientSecurity(serverPublicKey: try CurvePublicKey(contentsOf: dir.appendingPathComponent("server.key")),
                                           keyPair: try CurveKeyPair.read(secretFile: dir.appendingPathComponent("\(name).key_secret")))
        }
        let transport = try ZMQWorkerTransport(connect: endpoint, identity: name, options: options, curve: security)
        defer { transport.close() }
        // One block's values, written once (the cost of filling memory is not the transfer's).
        let values = (0..<(blockBytes / 4)).map { Float($0 % 4096) / 4096 }
        try transport.send([Frame(copying: Array("hello".utf8))])
        guard try transport.receive(timeout: .seconds(60)) != nil else { throw TransportError.timedOut(operation: "wait for go") }
        for index in 0..<blocks {
            // A fresh message per block, as a worker builds one per round: the checksum is part of the cost.
            let message = try Message(type: .block, body: ["index": index], arrays: [TypedArray(name: "Z", values)],
                                      workerID: 1, runID: RunID.of(name: "bench-transfer"), round: UInt64(index + 1))
            for part in try Wire.chunk(message, maxBytes: maxMessageBytes) { try transport.send(part.encoded()) }
        }
        // The server's "done": close() must not cut the last block.
        _ = try transport.receive(timeout: .seconds(120))
    }

    // MARK: in-process reference

    func runInProcess() throws -> Result {
        var configuration = TransferBenchmark.Configuration()
        configuration.senders = senders
        configuration.blockBytes = blockBytes
        configuration.blocksPerSender = blocks
        configuration.curve = curve
        let r = try TransferBenchmark.run(configuration)
        let total = senders * blocks
        return Result(mode: "threads, raw frames", senders: senders, blockBytes: blockBytes, blocks: total, chunksPerBlock: 1,
                      curve: curve, seconds: r.seconds, bytes: r.bytes, blocksPerSecond: Double(total) / r.seconds,
                      gbPerSecond: r.gigabytesPerSecond)
    }

    func report(_ r: Result) throws {
        let line = String(format: "%@: %d senders × %d MiB blocks%@, %d chunk(s) per block: %d blocks in %.3f s = %.1f blocks/s, %.2f GB/s",
                          r.mode, r.senders, r.blockBytes >> 20, r.curve ? " (CURVE)" : "", r.chunksPerBlock, r.blocks, r.seconds,
                          r.blocksPerSecond, r.gbPerSecond)
        if json {
            FileHandle.standardError.write(Data((line + "\n").utf8))
            print(try Console.jsonLine(r))
        } else {
            print(line)
        }
    }
}
