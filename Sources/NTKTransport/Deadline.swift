import Foundation

/// A point in time after which a blocking call gives up; `nil` timeouts never expire.
///
/// Loops that retry after `EINTR` or a spurious wake-up must not restart the full timeout each
/// time, so they ask a fixed deadline how much time is left.
struct Deadline {
    private let end: ContinuousClock.Instant?

    /// `timeout == nil` waits forever; `.zero` (or negative) does not wait at all.
    init(_ timeout: Duration?) {
        end = timeout.map { ContinuousClock.now.advanced(by: max($0, .zero)) }
    }

    /// Whether the deadline has passed (never, for an infinite one).
    var hasPassed: Bool {
        guard let end else { return false }
        return ContinuousClock.now >= end
    }

    /// Time left in milliseconds, rounded up, as libzmq wants it: -1 means forever.
    var remainingMilliseconds: Int {
        guard let end else { return -1 }
        let left = end - ContinuousClock.now
        return left <= .zero ? 0 : left.roundedUpMilliseconds
    }

    /// The same instant as a `Date`, for Foundation's condition variables (`distantFuture` if infinite).
    var date: Date {
        guard let end else { return .distantFuture }
        let left = end - ContinuousClock.now
        return Date(timeIntervalSinceNow: max(0, left.seconds))
    }
}

extension Duration {
    /// Whole milliseconds, rounded up so that a 0.5 ms timeout still waits (clamped to Int32 range).
    var roundedUpMilliseconds: Int {
        let (seconds, attoseconds) = components
        let millis = seconds.multipliedReportingOverflow(by: 1000)
        if millis.overflow || seconds > Int64(Int32.max) { return Int(Int32.max) }
        let fraction = (attoseconds + 999_999_999_999_999) / 1_000_000_000_000_000
        return Int(min(millis.partialValue + fraction, Int64(Int32.max)))
    }

    /// Milliseconds as the `Int32` that ZeroMQ's time options take.
    var zmqMilliseconds: Int32 { Int32(clamping: roundedUpMilliseconds) }

    /// The duration in seconds as a floating-point number.
    var seconds: Double {
        let (s, atto) = components
        return Double(s) + Double(atto) * 1e-18
    }
}
