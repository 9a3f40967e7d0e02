import Foundation

/// One lane for the heavy work of the clients that share a process: at most one of them computes a block,
/// trains locally or evaluates candidates at a time. The process then holds one client's block in memory,
/// not one per client, and its BLAS threads are not oversubscribed; heartbeats and receives go on meanwhile.
public final class ComputeLane: @unchecked Sendable {
    private let lock = NSLock()

    public init() {}

    /// Runs `work` when the lane is free.
    public func run<T>(_ work: () throws -> T) rethrows -> T {
        lock.lock()
        defer { lock.unlock() }
        return try work()
    }
}
