import Foundation
import Logging
import NTKConfig
import NTKData
import NTKTransport

/// A worker process hosting many logical clients. Each client is a `FederatedWorker` with its own shard,
/// fingerprint, state and connection (the server reasons about clients and cannot tell how they are
/// housed, so the same clients can be spread over hosts unchanged); they share the parsed data files and
/// one `ComputeLane`, so the process computes and streams one client's block at a time.
public final class ClientHost {
    public let clients: [FederatedWorker]

    /// Loads every client's data (each file parsed once) and connects each client through `connect`.
    public init(settings: [WorkerSettings], connect: (WorkerSettings) throws -> WorkerTransport,
                logger: (WorkerSettings) -> Logger) throws {
        let tables = TableCache(), lane = ComputeLane()
        clients = try settings.map { s in
            try FederatedWorker(settings: s, transport: try connect(s), logger: logger(s), tables: tables, lane: lane)
        }
    }

    /// Runs every client on its own thread until the server shuts the run down; rethrows the first failure
    /// (the other clients keep serving the run until it ends).
    public func run() throws {
        let group = DispatchGroup()
        let failures = Failures()
        for client in clients {
            group.enter()
            let thread = Thread {
                defer { group.leave() }
                do { try client.run() } catch { failures.record(client.settings.name, error) }
            }
            thread.stackSize = 8 << 20   // reserved address space, not resident memory: as much as the main thread has
            thread.start()
        }
        group.wait()
        if let (name, error) = failures.first { throw ClientHostError(client: name, underlying: error) }
    }

    /// The first error of any client thread.
    private final class Failures: @unchecked Sendable {
        private let lock = NSLock()
        private(set) var first: (String, Error)?
        func record(_ name: String, _ error: Error) {
            lock.lock()
            defer { lock.unlock() }
            if first == nil { first = (name, error) }
        }
    }
}

/// A hosted client failed.
public struct ClientHostError: Error, CustomStringConvertible {
    public let client: String
    public let underlying: Error
    public var description: String { "client \(client): \(underlying)" }
}
