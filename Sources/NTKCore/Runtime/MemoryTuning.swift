#if os(Linux)
/// glibc's `mallopt` (declared in malloc.h, which the Glibc module does not export).
@_silgen_name("mallopt") private func mallopt(_ parameter: Int32, _ value: Int32) -> Int32
#endif

/// Keeps glibc from returning large blocks to the kernel after every use.
///
/// A round allocates the same large matrices again and again (Grams, Δ factors, products). By default
/// glibc serves blocks above a dynamic threshold with `mmap` and unmaps them on `free`, so every reuse
/// page-faults its memory in again (measured: 18% of the empirical-Gram benchmark's cycles in page
/// faults). Raising the thresholds keeps freed memory in the heap for the next round. The process's
/// resident size then stays at its high-water mark, which a long-running server reaches anyway.
public enum MemoryTuning {
    /// Call once at process start.
    public static func keepLargeBlocksMapped() {
        #if os(Linux)
        _ = mallopt(-3 /* M_MMAP_THRESHOLD */, 1 << 30)
        _ = mallopt(-1 /* M_TRIM_THRESHOLD */, Int32.max)
        #endif
    }
}
