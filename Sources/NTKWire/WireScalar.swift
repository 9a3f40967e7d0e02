/// A Swift element type with a wire dtype: what `TypedArray` can be built from and converted to.
public protocol WireScalar: BitwiseCopyable, Sendable {
    /// The dtype this type travels as.
    static var dtype: DType { get }
}

extension Float: WireScalar { public static var dtype: DType { .f32 } }
extension Double: WireScalar { public static var dtype: DType { .f64 } }
extension Int64: WireScalar { public static var dtype: DType { .i64 } }
extension UInt8: WireScalar { public static var dtype: DType { .u8 } }

// The wire is little-endian and arrays travel as raw memory: a big-endian host would need byte swaps everywhere.
#if _endian(big)
#error("NTKWire assumes a little-endian host")
#endif
