/// Conversions between `Float` and the two 16-bit float formats blocks may travel in, which halve the
/// bytes of a block at the price of precision: IEEE binary16 (`f16`: 11-bit significand, range ±65 504,
/// values below 6·10⁻⁵ lose bits) and bfloat16 (`bf16`: the top half of a binary32, 8-bit significand,
/// binary32's range). Both round to nearest, ties to even; NaN stays NaN.
public enum NarrowFloat {
    /// `values` as 16-bit patterns of `dtype` (`.f16` or `.bf16`).
    public static func encode(_ values: UnsafeBufferPointer<Float>, as dtype: DType) -> [UInt16] {
        precondition(dtype == .f16 || dtype == .bf16, "narrow dtypes are f16 and bf16")
        return [UInt16](unsafeUninitializedCapacity: values.count) { out, initialized in
            if dtype == .f16 {
                for i in 0..<values.count { out[i] = Float16(values[i]).bitPattern }
            } else {
                for i in 0..<values.count { out[i] = bfloat16Bits(values[i]) }
            }
            initialized = values.count
        }
    }

    /// 16-bit patterns of `dtype` as `Float` (exact: every f16 and bf16 value is a binary32 value).
    public static func decode(_ bits: UnsafeRawBufferPointer, count: Int, from dtype: DType) -> [Float] {
        precondition(dtype == .f16 || dtype == .bf16, "narrow dtypes are f16 and bf16")
        return [Float](unsafeUninitializedCapacity: count) { out, initialized in
            if dtype == .f16 {
                for i in 0..<count { out[i] = Float(Float16(bitPattern: UInt16(littleEndian: bits.loadUnaligned(fromByteOffset: 2 * i, as: UInt16.self)))) }
            } else {
                for i in 0..<count {
                    out[i] = Float(bitPattern: UInt32(UInt16(littleEndian: bits.loadUnaligned(fromByteOffset: 2 * i, as: UInt16.self))) << 16)
                }
            }
            initialized = count
        }
    }

    /// The bfloat16 nearest to `x` (ties to even); NaN keeps a set quiet bit so that it cannot round to ∞.
    @inline(__always)
    static func bfloat16Bits(_ x: Float) -> UInt16 {
        let bits = x.bitPattern
        if x.isNaN { return UInt16(truncatingIfNeeded: bits >> 16) | 0x0040 }
        let roundingBias = 0x7FFF + ((bits >> 16) & 1)
        return UInt16(truncatingIfNeeded: (bits &+ roundingBias) >> 16)
    }
}
