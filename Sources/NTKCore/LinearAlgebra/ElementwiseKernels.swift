/// The element-wise loops of the method (bias adds, Hadamard products, per-sample row dots), written once
/// generically and reached only through `BLASScalar`'s concrete `Float`/`Double` witnesses, so that they
/// are always compiled specialized — vectorized straight-line loops — even when called from generic code
/// that runs unspecialized (protocol witnesses of generic types, other modules).
public protocol ElementwiseKernels {
    /// `true` when no element is NaN or ±∞ (specialized per type: the generic `allSatisfy` it replaces ran
    /// unspecialized across modules and dominated FedAvg's local steps).
    static func allFinite(_ x: UnsafeBufferPointer<Self>) -> Bool
    /// `m[i, j] += α v[j]` for an r × c row-major matrix.
    static func addRowVector(_ m: UnsafeMutablePointer<Self>, rows: Int, columns: Int, _ v: UnsafePointer<Self>, scale: Self)
    /// Row `i·k + a` of `d` (mk × n) times row `i` of `s` (m × n), element-wise, in place.
    static func scaleRepeatedRows(_ d: UnsafeMutablePointer<Self>, samples: Int, outputs: Int, width: Int, by s: UnsafePointer<Self>)
    /// `out[i·k + a] += d[i·k + a, ·] · t[i, ·]`: per-sample dots of `Δ` rows with one row of `T` (the JVP's last step).
    static func accumulateRowDots(_ d: UnsafePointer<Self>, _ t: UnsafePointer<Self>, samples: Int, outputs: Int, width: Int,
                                  into out: UnsafeMutablePointer<Self>)
    /// `out[i, ·] = Σ_a v[i·k + a] d[i·k + a, ·]`: per-sample combinations of `Δ` rows (the contraction's first step).
    static func combineRows(_ d: UnsafePointer<Self>, weights v: UnsafePointer<Self>, samples: Int, outputs: Int, width: Int,
                            into out: UnsafeMutablePointer<Self>)
    /// `r[(i,a),(j,b)] += α b[(i,a),(j,b)] f[i, j]` for r, b of (mA·p) × (mB·p) and f of mA × mB;
    /// with `upperOnly` (square, symmetric operands) only entries on or above the diagonal.
    static func accumulateBlockHadamard(_ r: UnsafeMutablePointer<Self>, _ b: UnsafePointer<Self>, _ f: UnsafePointer<Self>,
                                        rowSamples: Int, columnSamples: Int, perSample p: Int, scale: Self, upperOnly: Bool)
    /// `r[(i,a),(j,b)] *= α f[i, j]` in place (the first layer's term: no zero-filled result to add to);
    /// `upperOnly` as in `accumulateBlockHadamard`.
    static func multiplyBlockHadamard(_ r: UnsafeMutablePointer<Self>, _ f: UnsafePointer<Self>,
                                      rowSamples: Int, columnSamples: Int, perSample p: Int, scale: Self, upperOnly: Bool)
    /// `r[(i,a),(j,a)] += α f[i, j]` for every a: the term of a layer whose backward product is `1 ⊗ I_p`
    /// (the output layer); `upperOnly` as in `accumulateBlockHadamard`.
    static func addToBlockDiagonals(_ r: UnsafeMutablePointer<Self>, _ f: UnsafePointer<Self>,
                                    rowSamples: Int, columnSamples: Int, perSample p: Int, scale: Self, upperOnly: Bool)
    /// Copies the upper triangle of an n × n matrix onto the lower one.
    static func mirrorUpper(_ m: UnsafeMutablePointer<Self>, order n: Int)
}

/// The generic bodies; `@inline(__always)` so each concrete witness gets its own specialized copy.
enum Kernels {
    @inline(__always)
    static func addRowVector<S: BinaryFloatingPoint>(_ m: UnsafeMutablePointer<S>, rows: Int, columns: Int, _ v: UnsafePointer<S>, scale: S) {
        for i in 0..<rows {
            let row = m + i * columns
            for j in 0..<columns { row[j] += scale * v[j] }
        }
    }

    @inline(__always)
    static func scaleRepeatedRows<S: BinaryFloatingPoint>(_ d: UnsafeMutablePointer<S>, samples: Int, outputs: Int, width: Int, by s: UnsafePointer<S>) {
        for i in 0..<samples {
            let sRow = s + i * width
            for a in 0..<outputs {
                let row = d + (i * outputs + a) * width
                for j in 0..<width { row[j] *= sRow[j] }
            }
        }
    }

    @inline(__always)
    static func accumulateRowDots<S: BinaryFloatingPoint>(_ d: UnsafePointer<S>, _ t: UnsafePointer<S>, samples: Int, outputs: Int,
                                                          width: Int, into out: UnsafeMutablePointer<S>) {
        for i in 0..<samples {
            let tRow = t + i * width
            for a in 0..<outputs {
                let row = d + (i * outputs + a) * width
                var s: S = 0
                for j in 0..<width { s += row[j] * tRow[j] }
                out[i * outputs + a] += s
            }
        }
    }

    @inline(__always)
    static func combineRows<S: BinaryFloatingPoint>(_ d: UnsafePointer<S>, weights v: UnsafePointer<S>, samples: Int, outputs: Int,
                                                    width: Int, into out: UnsafeMutablePointer<S>) {
        for i in 0..<samples {
            let o = out + i * width
            for j in 0..<width { o[j] = 0 }
            for a in 0..<outputs {
                let c = v[i * outputs + a]
                if c == 0 { continue }
                let row = d + (i * outputs + a) * width
                for j in 0..<width { o[j] += c * row[j] }
            }
        }
    }

    @inline(__always)
    static func accumulateBlockHadamard<S: BinaryFloatingPoint>(_ r: UnsafeMutablePointer<S>, _ b: UnsafePointer<S>, _ f: UnsafePointer<S>,
                                                                rowSamples: Int, columnSamples: Int, perSample p: Int, scale: S,
                                                                upperOnly: Bool) {
        let columns = columnSamples * p
        for row in 0..<(rowSamples * p) {
            let i = row / p
            let fRow = f + i * columnSamples
            let out = r + row * columns, bRow = b + row * columns
            if p == 1 {
                for j in (upperOnly ? row : 0)..<columnSamples { out[j] += scale * fRow[j] * bRow[j] }
            } else {
                // Sample block j = i may straddle the diagonal: include it whole (its lower half is mirrored over).
                for j in (upperOnly ? i : 0)..<columnSamples {
                    let c = scale * fRow[j]
                    for q in 0..<p { out[j * p + q] += c * bRow[j * p + q] }
                }
            }
        }
    }

    @inline(__always)
    static func multiplyBlockHadamard<S: BinaryFloatingPoint>(_ r: UnsafeMutablePointer<S>, _ f: UnsafePointer<S>,
                                                              rowSamples: Int, columnSamples: Int, perSample p: Int, scale: S,
                                                              upperOnly: Bool) {
        let columns = columnSamples * p
        for row in 0..<(rowSamples * p) {
            let i = row / p
            let fRow = f + i * columnSamples
            let out = r + row * columns
            if p == 1 {
                for j in (upperOnly ? row : 0)..<columnSamples { out[j] *= scale * fRow[j] }
            } else {
                for j in (upperOnly ? i : 0)..<columnSamples {
                    let c = scale * fRow[j]
                    for q in 0..<p { out[j * p + q] *= c }
                }
            }
        }
    }

    @inline(__always)
    static func addToBlockDiagonals<S: BinaryFloatingPoint>(_ r: UnsafeMutablePointer<S>, _ f: UnsafePointer<S>,
                                                            rowSamples: Int, columnSamples: Int, perSample p: Int, scale: S,
                                                            upperOnly: Bool) {
        let columns = columnSamples * p
        for row in 0..<(rowSamples * p) {
            let i = row / p, a = row % p
            let fRow = f + i * columnSamples
            let out = r + row * columns + a
            for j in (upperOnly ? i : 0)..<columnSamples { out[j * p] += scale * fRow[j] }
        }
    }

    @inline(__always)
    static func allFinite<S: BinaryFloatingPoint>(_ x: UnsafeBufferPointer<S>) -> Bool {
        // x − x is 0 for finite x and NaN for NaN or ±∞; one branch at the end lets the loop vectorize.
        var acc: S = 0
        for v in x { acc += v - v }
        return acc == 0
    }

    @inline(__always)
    static func mirrorUpper<S: BinaryFloatingPoint>(_ m: UnsafeMutablePointer<S>, order n: Int) {
        // Blocked so both the read and the write stay in cache.
        let tile = 64
        for i0 in stride(from: 0, to: n, by: tile) {
            for j0 in stride(from: 0, to: i0 + 1, by: tile) {
                for i in i0..<min(i0 + tile, n) {
                    for j in j0..<min(j0 + tile, i) { m[i * n + j] = m[j * n + i] }
                }
            }
        }
    }
}

extension Float: ElementwiseKernels {
    public static func allFinite(_ x: UnsafeBufferPointer<Float>) -> Bool { Kernels.allFinite(x) }
    public static func addRowVector(_ m: UnsafeMutablePointer<Float>, rows: Int, columns: Int, _ v: UnsafePointer<Float>, scale: Float) {
        Kernels.addRowVector(m, rows: rows, columns: columns, v, scale: scale)
    }
    public static func scaleRepeatedRows(_ d: UnsafeMutablePointer<Float>, samples: Int, outputs: Int, width: Int, by s: UnsafePointer<Float>) {
        Kernels.scaleRepeatedRows(d, samples: samples, outputs: outputs, width: width, by: s)
    }
    public static func accumulateRowDots(_ d: UnsafePointer<Float>, _ t: UnsafePointer<Float>, samples: Int, outputs: Int, width: Int,
                                         into out: UnsafeMutablePointer<Float>) {
        Kernels.accumulateRowDots(d, t, samples: samples, outputs: outputs, width: width, into: out)
    }
    public static func combineRows(_ d: UnsafePointer<Float>, weights v: UnsafePointer<Float>, samples: Int, outputs: Int, width: Int,
                                   into out: UnsafeMutablePointer<Float>) {
        Kernels.combineRows(d, weights: v, samples: samples, outputs: outputs, width: width, into: out)
    }
    public static func accumulateBlockHadamard(_ r: UnsafeMutablePointer<Float>, _ b: UnsafePointer<Float>, _ f: UnsafePointer<Float>,
                                               rowSamples: Int, columnSamples: Int, perSample p: Int, scale: Float, upperOnly: Bool) {
        Kernels.accumulateBlockHadamard(r, b, f, rowSamples: rowSamples, columnSamples: columnSamples, perSample: p, scale: scale, upperOnly: upperOnly)
    }
    public static func multiplyBlockHadamard(_ r: UnsafeMutablePointer<Float>, _ f: UnsafePointer<Float>,
                                             rowSamples: Int, columnSamples: Int, perSample p: Int, scale: Float, upperOnly: Bool) {
        Kernels.multiplyBlockHadamard(r, f, rowSamples: rowSamples, columnSamples: columnSamples, perSample: p, scale: scale, upperOnly: upperOnly)
    }
    public static func addToBlockDiagonals(_ r: UnsafeMutablePointer<Float>, _ f: UnsafePointer<Float>,
                                           rowSamples: Int, columnSamples: Int, perSample p: Int, scale: Float, upperOnly: Bool) {
        Kernels.addToBlockDiagonals(r, f, rowSamples: rowSamples, columnSamples: columnSamples, perSample: p, scale: scale, upperOnly: upperOnly)
    }
    public static func mirrorUpper(_ m: UnsafeMutablePointer<Float>, order n: Int) { Kernels.mirrorUpper(m, order: n) }
}

extension Double: ElementwiseKernels {
    public static func allFinite(_ x: UnsafeBufferPointer<Double>) -> Bool { Kernels.allFinite(x) }
    public static func addRowVector(_ m: UnsafeMutablePointer<Double>, rows: Int, columns: Int, _ v: UnsafePointer<Double>, scale: Double) {
        Kernels.addRowVector(m, rows: rows, columns: columns, v, scale: scale)
    }
    public static func scaleRepeatedRows(_ d: UnsafeMutablePointer<Double>, samples: Int, outputs: Int, width: Int, by s: UnsafePointer<Double>) {
        Kernels.scaleRepeatedRows(d, samples: samples, outputs: outputs, width: width, by: s)
    }
    public static func accumulateRowDots(_ d: UnsafePointer<Double>, _ t: UnsafePointer<Double>, samples: Int, outputs: Int, width: Int,
                                         into out: UnsafeMutablePointer<Double>) {
        Kernels.accumulateRowDots(d, t, samples: samples, outputs: outputs, width: width, into: out)
    }
    public static func combineRows(_ d: UnsafePointer<Double>, weights v: UnsafePointer<Double>, samples: Int, outputs: Int, width: Int,
                                   into out: UnsafeMutablePointer<Double>) {
        Kernels.combineRows(d, weights: v, samples: samples, outputs: outputs, width: width, into: out)
    }
    public static func accumulateBlockHadamard(_ r: UnsafeMutablePointer<Double>, _ b: UnsafePointer<Double>, _ f: UnsafePointer<Double>,
                                               rowSamples: Int, columnSamples: Int, perSample p: Int, scale: Double, upperOnly: Bool) {
        Kernels.accumulateBlockHadamard(r, b, f, rowSamples: rowSamples, columnSamples: columnSamples, perSample: p, scale: scale, upperOnly: upperOnly)
    }
    public static func multiplyBlockHadamard(_ r: UnsafeMutablePointer<Double>, _ f: UnsafePointer<Double>,
                                             rowSamples: Int, columnSamples: Int, perSample p: Int, scale: Double, upperOnly: Bool) {
        Kernels.multiplyBlockHadamard(r, f, rowSamples: rowSamples, columnSamples: columnSamples, perSample: p, scale: scale, upperOnly: upperOnly)
    }
    public static func addToBlockDiagonals(_ r: UnsafeMutablePointer<Double>, _ f: UnsafePointer<Double>,
                                           rowSamples: Int, columnSamples: Int, perSample p: Int, scale: Double, upperOnly: Bool) {
        Kernels.addToBlockDiagonals(r, f, rowSamples: rowSamples, columnSamples: columnSamples, perSample: p, scale: scale, upperOnly: upperOnly)
    }
    public static func mirrorUpper(_ m: UnsafeMutablePointer<Double>, order n: Int) { Kernels.mirrorUpper(m, order: n) }
}
