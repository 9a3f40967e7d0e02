import CZeroMQ
import Foundation

/// A libzmq context: the I/O threads that do the actual network work, shared by the sockets of a process.
///
/// Every socket is created from a context and does its TCP reading, writing, encryption and
/// heartbeating on one of the context's I/O threads; the caller's thread only hands messages to
/// and from those threads through lock-free queues. A context is thread-safe (unlike its sockets).
///
/// **How many I/O threads.** ZeroMQ's rule of thumb is one I/O thread per gigabyte per second,
/// and a single TCP connection is always served by one I/O thread. On the 2-core machines of
/// DESIGN.md §4 the default is **one**:
/// - a worker has a single connection, which one I/O thread serves fully; its second core
///   belongs to BLAS;
/// - the server receives from several workers at once, and there a second I/O thread does help
///   the transfer: measured with `TransferBenchmark` (4 workers × 64 MiB blocks, tcp loopback,
///   workers on the same 2 cores), 1.1–1.65 GB/s with one I/O thread against 1.7–2.1 GB/s with two;
///   with CURVE 0.36–0.48 against 0.52–0.56 GB/s. But the server also assembles the Gram while
///   blocks arrive, and two I/O threads plus two BLAS threads oversubscribe two cores. Use
///   `ZMQContext(ioThreads: 2)` for the server when transfer dominates the round (dense blocks),
///   one when compute does (factored blocks); measure with `TransferBenchmark` on the machine at hand.
///
/// **Lifetime.** Each socket keeps its context alive; the context is terminated (`zmq_ctx_term`)
/// when the last reference goes. Termination waits for every socket to be closed and, for each
/// closed socket, for its unsent messages up to that socket's linger time, so a finite linger
/// matters (see `ZMQTransportOptions.linger`).
public final class ZMQContext: @unchecked Sendable {
    /// The default number of I/O threads on the machines this project targets (2 cores): see the type's documentation.
    public static let recommendedIOThreads = 1

    let handle: UnsafeMutableRawPointer
    /// Number of I/O threads of this context.
    public let ioThreads: Int

    /// Creates a context with `ioThreads` I/O threads (set before any socket exists, as libzmq requires).
    public init(ioThreads: Int = ZMQContext.recommendedIOThreads) throws {
        guard ioThreads >= 1 else { throw TransportError.invalidArgument("ioThreads must be at least 1") }
        guard let handle = zmq_ctx_new() else { throw TransportError.last("zmq_ctx_new") }
        if zmq_ctx_set(handle, ZMQ_IO_THREADS, Int32(ioThreads)) != 0 {
            let error = TransportError.last("zmq_ctx_set(ZMQ_IO_THREADS)")
            zmq_ctx_term(handle)
            throw error
        }
        self.handle = handle
        self.ioThreads = ioThreads
    }

    /// Makes every blocking call on this context's sockets return at once with `TransportError.closed`.
    ///
    /// This is the way to stop a thread that waits in `receive` (for instance on Ctrl-C): the
    /// sockets must still be closed by their owners afterwards.
    public func shutdown() {
        zmq_ctx_shutdown(handle)
    }

    deinit {
        // zmq_ctx_term can be interrupted by a signal; it must then simply be called again.
        while zmq_ctx_term(handle) != 0 && zmq_errno() == EINTR {}
    }
}
