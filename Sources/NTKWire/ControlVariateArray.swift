/// SCAFFOLD's control variates on the wire: `roundStart`'s `c` (the server's) and `localUpdate`'s `deltaC`
/// (a client's change Δc_i), each one rank-1 array of P finite values in θ's flat order, `f32` or `f64`
/// (protocol §6.3, §6.11). The payloads check what needs no model (rank, dtype, finite); `values` checks P.
enum ControlVariateArray {
    /// `roundStart`'s array: the server's control variate c.
    static let serverName = "c"
    /// `localUpdate`'s array: Δc_i = c_i⁺ − c_i.
    static let deltaName = "deltaC"

    /// `values` (`[P]`) as the array `name` (no copy).
    static func make(_ name: String, _ values: [Float]) -> TypedArray {
        TypedArray(trusted: name, values, shape: [values.count])
    }

    /// Rank 1, `f32` or `f64`, no NaN or ±∞ (a non-finite c would poison every later step of every client).
    static func check(_ array: TypedArray) throws {
        guard array.dtype == .f32 || array.dtype == .f64 else {
            throw WireError.dtypeMismatch(array: array.name, expected: [.f32, .f64], got: array.dtype)
        }
        guard array.shape.count == 1 else { throw WireError.shapeMismatch(array: array.name, expected: [-1], got: array.shape) }
        if let bad = array.firstNonFiniteIndex() { throw WireError.nonFinite(array: array.name, index: bad) }
    }

    /// The values as Float, `[P]`, after checking the length against the model's parameter count.
    static func values(_ array: TypedArray, parameterCount: Int) throws -> [Float] {
        try array.expect(shape: [parameterCount], dtypes: [.f32, .f64])
        let values = try array.elements(as: Float.self)
        // f64 values beyond Float's range would become ±∞ here.
        if let bad = values.firstIndex(where: { !$0.isFinite }) { throw WireError.nonFinite(array: array.name, index: bad) }
        return values
    }

    /// Splits a trailing array named `name` off a payload's arrays (θ's arrays come first) and checks it.
    static func split(_ name: String, from arrays: [TypedArray]) throws -> (rest: [TypedArray], control: TypedArray?) {
        guard let last = arrays.last, last.name == name else { return (arrays, nil) }
        try check(last)
        return (Array(arrays.dropLast()), last)
    }
}
