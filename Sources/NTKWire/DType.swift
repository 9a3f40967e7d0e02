/// The element type of an array on the wire; the raw value is the name used in metadata JSON.
public enum DType: String, Codable, CaseIterable, Sendable {
    /// IEEE 754 binary32.
    case f32
    /// IEEE 754 binary64.
    case f64
    /// IEEE 754 binary16 (`NarrowFloat`; blocks' factors may travel in it).
    case f16
    /// bfloat16, the top half of a binary32 (likewise).
    case bf16
    /// Two's-complement signed 64-bit integer.
    case i64
    /// Unsigned byte (also the type of chunk segments, which may split elements).
    case u8

    /// Bytes per element.
    public var size: Int {
        switch self {
        case .f64, .i64: return 8
        case .f32: return 4
        case .f16, .bf16: return 2
        case .u8: return 1
        }
    }

    /// Whether NaN/∞ can occur (the `requireFinite` check scans these).
    public var isFloatingPoint: Bool {
        switch self {
        case .f32, .f64, .f16, .bf16: return true
        case .i64, .u8: return false
        }
    }
}
