import Foundation

/// Traps when two threads use the same ZeroMQ socket at the same moment.
///
/// ZeroMQ sockets are not thread-safe. The rule in this package is: **one owner at a time** — a
/// socket belongs to one thread (or one actor, or one serial queue) that makes every call on it.
/// Handing a socket to another thread is allowed (libzmq only requires a full memory barrier
/// between the two users, which the hand-over provides), using it from two threads at once is not.
/// Instead of remembering a thread id (which would forbid legitimate hand-overs, and actors do
/// hop threads), each call takes a lock with `try()`: if it is already held, another thread is
/// inside a call on the same socket right now, which is a bug in the caller, so we stop loudly
/// rather than let libzmq corrupt its state silently.
final class ExclusiveAccess: @unchecked Sendable {
    private let lock = NSLock()
    private let name: String

    init(name: String) { self.name = name }

    /// Runs `body` as the only user of the guarded object, or traps if someone else is inside.
    func run<T>(_ operation: StaticString, _ body: () throws -> T) rethrows -> T {
        guard lock.try() else {
            preconditionFailure("\(name).\(operation): the socket is in use by another thread. "
                + "ZeroMQ sockets are not thread-safe: give each socket a single owner (thread or actor).")
        }
        defer { lock.unlock() }
        return try body()
    }
}
