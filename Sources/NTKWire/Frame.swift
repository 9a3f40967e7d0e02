/// One frame of a multipart message: a contiguous run of bytes that may be owned elsewhere.
///
/// Large payloads (Jacobian blocks of hundreds of megabytes) must travel without copies: a `Frame`
/// can wrap memory owned by a Swift array, a memory map or a received ZeroMQ message, and keeps
/// that owner alive for as long as the frame exists (the transport hands the owner to ZeroMQ's
/// zero-copy `zmq_msg_init_data` and releases it in the free callback).
public final class Frame: @unchecked Sendable {
    /// The bytes (valid while this frame lives).
    public let bytes: UnsafeRawBufferPointer
    /// Whatever keeps `bytes` valid (an array box, a zmq_msg holder, …); released with the frame.
    private let owner: AnyObject?
    private let release: (() -> Void)?

    /// A frame over memory kept alive by `owner` (and optionally released by `release` on deinit).
    public init(bytes: UnsafeRawBufferPointer, owner: AnyObject?, release: (() -> Void)? = nil) {
        self.bytes = bytes
        self.owner = owner
        self.release = release
    }

    /// A frame that owns a copy of `data`.
    public convenience init<C: Collection>(copying data: C) where C.Element == UInt8 {
        let storage = UnsafeMutableRawBufferPointer.allocate(byteCount: max(data.count, 1), alignment: 64)
        _ = storage.initializeMemory(as: UInt8.self, from: data)
        self.init(bytes: UnsafeRawBufferPointer(rebasing: storage[0..<data.count]), owner: nil,
                  release: { storage.deallocate() })
    }

    /// A frame over the elements of an array, without copying them (the array is retained).
    public convenience init<T: BitwiseCopyable>(array: [T]) {
        let box = ArrayBox(array)
        self.init(bytes: box.bytes, owner: box)
    }

    /// Number of bytes.
    public var count: Int { bytes.count }

    deinit { release?() }
}

/// Keeps an array's storage alive and exposes its bytes.
private final class ArrayBox<T: BitwiseCopyable> {
    let array: [T]
    let bytes: UnsafeRawBufferPointer
    init(_ array: [T]) {
        self.array = array
        // The array is immutable here, so its contiguous storage has a stable address for the box's lifetime.
        self.bytes = array.withUnsafeBytes { $0 }
    }
}
