import NTKCore

/// The fingerprint a worker registers for its shard: `"sha256:"` + 64 hex digits.
///
/// SHA-256 over, in order: `m`, `n_0`, `k` as u64 little-endian, then the inputs (m × n_0) and the
/// targets (m × k) as f64 little-endian, row-major. Float32 data is widened to Float64 first (exactly),
/// so the same shard gives the same fingerprint whatever precision a worker loads it in. The server only
/// compares fingerprints (a rejoining worker must present the same one); it never sees the data.
public enum DataFingerprint {
    /// The fingerprint of a shard.
    public static func sha256<S: BLASScalar>(inputs: Matrix<S>, targets: Matrix<S>) -> String {
        var h = SHA256()
        var sizes: [UInt64] = [UInt64(inputs.rows), UInt64(inputs.columns), UInt64(targets.columns)]
        for i in sizes.indices { sizes[i] = sizes[i].littleEndian }
        sizes.withUnsafeBytes { h.update($0) }
        for matrix in [inputs, targets] {
            // Widen in blocks so a large shard is not duplicated in memory.
            let n = matrix.count
            var start = 0
            var buffer = [UInt64](repeating: 0, count: min(n, 8192))
            while start < n {
                let end = min(start + 8192, n)
                for i in start..<end { buffer[i - start] = Double(matrix.elements[i]).bitPattern.littleEndian }
                buffer.withUnsafeBytes { h.update(UnsafeRawBufferPointer(rebasing: $0[0..<((end - start) * 8)])) }
                start = end
            }
        }
        return "sha256:" + hexString(h.finalize())
    }
}

/// Lowercase hex of bytes.
func hexString(_ bytes: [UInt8]) -> String {
    let digits = Array("0123456789abcdef".utf8)
    var out: [UInt8] = []
    out.reserveCapacity(bytes.count * 2)
    for b in bytes { out.append(digits[Int(b >> 4)]); out.append(digits[Int(b & 15)]) }
    return String(decoding: out, as: UTF8.self)
}
