import CZeroMQ
import Foundation
import NTKWire

// How a `Frame` becomes a `zmq_msg_t` and back, without copying large payloads either way.
//
// Sending: `zmq_msg_init_data` lets a message point at memory we own. libzmq calls a C free
// function, on one of its I/O threads, once the bytes have been written to the network (or the
// message was dropped). We hand it a +1 reference to the `Frame` as the "hint" and release that
// reference in the free function: the frame, and whatever owns its bytes, stays alive exactly as
// long as ZeroMQ needs it, even if the sender has long forgotten it.
//
// Receiving: a received `zmq_msg_t` already holds the bytes (libzmq read them from the socket
// straight into it). `ZMQMessageBox` keeps that message alive and closes it on deinit, and the
// `Frame` points into it with the box as owner.

/// Called by libzmq, on an I/O thread, when it is done with the bytes of a zero-copy frame.
private let releaseRetainedFrame: @convention(c) (UnsafeMutableRawPointer?, UnsafeMutableRawPointer?) -> Void = { _, hint in
    guard let hint else { return }
    Unmanaged<Frame>.fromOpaque(hint).release()
}

/// Initializes `message` with the bytes of `frame`: by reference if the frame is at least
/// `zeroCopyThreshold` bytes long, by copy otherwise (copying a few kilobytes is cheaper than the
/// allocation, reference counting and cross-thread callback that zero-copy costs).
///
/// The frame's bytes must not change until libzmq releases them; `Frame` is immutable, so this holds.
func initializeOutgoing(_ message: UnsafeMutablePointer<zmq_msg_t>, with frame: Frame, zeroCopyThreshold: Int) throws {
    let count = frame.count
    if count >= max(zeroCopyThreshold, 1), let base = frame.bytes.baseAddress {
        let hint = Unmanaged.passRetained(frame).toOpaque()
        // libzmq never writes through this pointer when sending; the C signature is just not const.
        if zmq_msg_init_data(message, UnsafeMutableRawPointer(mutating: base), count, releaseRetainedFrame, hint) != 0 {
            let error = TransportError.last("zmq_msg_init_data")
            Unmanaged<Frame>.fromOpaque(hint).release()
            throw error
        }
    } else {
        if zmq_msg_init_size(message, count) != 0 { throw TransportError.last("zmq_msg_init_size") }
        if count > 0, let source = frame.bytes.baseAddress {
            zmq_msg_data(message).copyMemory(from: source, byteCount: count)
        }
    }
}

/// Initializes `message` with a copy of a few bytes (an identity, a ZAP reply field).
func initializeOutgoing(_ message: UnsafeMutablePointer<zmq_msg_t>, copying bytes: Data) throws {
    if zmq_msg_init_size(message, bytes.count) != 0 { throw TransportError.last("zmq_msg_init_size") }
    if !bytes.isEmpty {
        bytes.withUnsafeBytes { zmq_msg_data(message).copyMemory(from: $0.baseAddress!, byteCount: $0.count) }
    }
}

/// Owns one received `zmq_msg_t` at a fixed heap address and closes it when the last frame over it goes.
///
/// The address must not move: libzmq stores messages of up to 33 bytes inside the `zmq_msg_t`
/// itself, so `zmq_msg_data` may point into the struct.
final class ZMQMessageBox {
    let message: UnsafeMutablePointer<zmq_msg_t>

    init() {
        message = .allocate(capacity: 1)
        message.initialize(to: zmq_msg_t())
        zmq_msg_init(message)
    }

    /// The message's bytes (valid while the box lives).
    var bytes: UnsafeRawBufferPointer {
        UnsafeRawBufferPointer(start: zmq_msg_data(message), count: zmq_msg_size(message))
    }

    /// Whether more parts of the same multipart message follow.
    var hasMore: Bool { zmq_msg_more(message) != 0 }

    /// A frame over the message's bytes that keeps this box alive; no copy.
    func frame() -> Frame { Frame(bytes: bytes, owner: self) }

    deinit {
        zmq_msg_close(message)
        message.deinitialize(count: 1)
        message.deallocate()
    }
}
