/// The run id in every header: XXH64 (seed 0) of the run name's UTF-8 bytes.
///
/// A hash rather than a counter so that a restarted server (same config, same name) keeps the same id
/// and its workers' messages stay valid, while a worker left over from another run is told apart.
public enum RunID {
    /// The id of the run called `name`.
    public static func of(name: String) -> UInt64 { XXH64.hash(Array(name.utf8)) }
}
