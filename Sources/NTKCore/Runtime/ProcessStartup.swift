/// What every executable of the system does first: settle the BLAS kernels (may re-execute the process)
/// and the allocator, and return the line to log about them.
public enum ProcessStartup {
    public static func prepare() -> String {
        let selection = BLASRuntime.selectFastestCore()
        MemoryTuning.keepLargeBlocksMapped()
        return BLASRuntime.describe(selection)
    }
}
