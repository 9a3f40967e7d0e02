import NTKCore

/// Seeded sampling built on `PortableGaussian` from IEEE-754 basic operations only, so that every machine
/// draws the same partition (each worker computes its own shard independently).
public enum PortableSampling {
    /// `e^x` to about 1 ulp: `x = k ln 2 + r` (Cody–Waite, |r| ≤ ln2/2), Taylor series of degree 15 in `r` (Horner).
    public static func exp(_ x: Double) -> Double {
        if x.isNaN { return x }
        if x > 709.78 { return .infinity }
        if x < -745.2 { return 0 }
        let ln2Hi = 6.93147180369123816490e-01, ln2Lo = 1.90821492927058770002e-10
        let k = (x * 1.4426950408889634).rounded()
        let r = (x - k * ln2Hi) - k * ln2Lo
        var sum = 1.0                                    // Horner: 1 + r(1 + r/2(1 + r/3(…)))
        for n in stride(from: 15, through: 1, by: -1) { sum = 1.0 + r * sum / Double(n) }
        // Scale in two steps so that 2^k never leaves the normal range before the product does.
        let k1 = Int(k) / 2, k2 = Int(k) - Int(k) / 2
        return sum * Double(sign: .plus, exponent: k1, significand: 1) * Double(sign: .plus, exponent: k2, significand: 1)
    }

    /// `log X` for `X ~ Gamma(shape, 1)` (Marsaglia & Tsang 2000; for shape < 1, `Gamma(shape+1)·U^{1/shape}`,
    /// kept in log space so that tiny shapes do not underflow).
    public static func logGamma(shape: Double, _ rng: inout PortableGaussian) -> Double {
        precondition(shape > 0 && shape.isFinite)
        if shape < 1 {
            let u = 1.0 - rng.nextUniform()                  // (0, 1]
            return logGamma(shape: shape + 1, &rng) + PortableMath.log(u) / shape
        }
        let d = shape - 1.0 / 3.0
        let c = 1.0 / (9.0 * d).squareRoot()
        while true {
            let x = rng.next()
            var v = 1.0 + c * x
            if v <= 0 { continue }
            v = v * v * v
            let u = rng.nextUniform()
            let x2 = x * x
            if u < 1.0 - 0.0331 * x2 * x2 { return PortableMath.log(d * v) }
            if u > 0, PortableMath.log(u) < 0.5 * x2 + d * (1.0 - v + PortableMath.log(v)) { return PortableMath.log(d * v) }
        }
    }

    /// A draw from the symmetric Dirichlet distribution `Dir(α, …, α)` with `count` components.
    public static func dirichlet(alpha: Double, count: Int, _ rng: inout PortableGaussian) -> [Double] {
        let logs = (0..<count).map { _ in logGamma(shape: alpha, &rng) }
        let top = logs.max() ?? 0
        let weights = logs.map { exp($0 - top) }
        var total = 0.0
        for w in weights { total += w }
        return weights.map { $0 / total }
    }

    /// Fisher–Yates shuffle.
    public static func shuffle<T>(_ a: inout [T], _ rng: inout PortableGaussian) {
        for i in stride(from: a.count - 1, to: 0, by: -1) { a.swapAt(i, Int(rng.nextWord() % UInt64(i + 1))) }
    }

    /// `n` split in proportion to `p` (largest remainders; ties to the lower index): the counts sum to `n`.
    public static func apportion(_ n: Int, _ p: [Double]) -> [Int] {
        let exact = p.map { $0 * Double(n) }
        var counts = exact.map { Int($0.rounded(.down)) }
        let remainders = exact.enumerated().map { ($0.offset, $0.element - Double(counts[$0.offset])) }
        let order = remainders.sorted { $0.1 != $1.1 ? $0.1 > $1.1 : $0.0 < $1.0 }
        var left = n - counts.reduce(0, +)
        var i = 0
        while left > 0 { counts[order[i % order.count].0] += 1; left -= 1; i += 1 }
        return counts
    }
}
