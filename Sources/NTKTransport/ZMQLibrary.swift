import CZeroMQ

/// Facts about the libzmq this process is linked against.
public enum ZMQLibrary {
    /// The runtime version (may differ from the header the package was compiled with).
    public static var version: (major: Int, minor: Int, patch: Int) {
        var major: Int32 = 0, minor: Int32 = 0, patch: Int32 = 0
        zmq_version(&major, &minor, &patch)
        return (Int(major), Int(minor), Int(patch))
    }

    /// Whether CURVE security is available (libzmq built with libsodium).
    public static var hasCurve: Bool { zmq_has("curve") != 0 }
}
