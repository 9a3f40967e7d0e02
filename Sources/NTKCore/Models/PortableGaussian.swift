/// A seeded stream of standard normal numbers that is bit-identical on every machine.
///
/// Generator: SplitMix64 (Steele, Lea, Flood 2014) produces 64-bit words; two words give two
/// uniforms `u₁ ∈ (0, 1]`, `u₂ ∈ [0, 1)` with 53 random bits each; Box–Muller turns them into
/// `√(−2 ln u₁) · cos(2π u₂)` and `… · sin(2π u₂)`. The logarithm and the sine/cosine are computed
/// here from IEEE-754 additions, multiplications, divisions and `sqrt` only (all correctly rounded,
/// no fused multiply-add), so the result never depends on the platform's `libm` or on CPU features.
public struct PortableGaussian: Sendable {
    private var state: UInt64
    private var spare: Double?

    /// A stream determined entirely by `seed`.
    public init(seed: UInt64) { state = seed }

    /// The stream for one named tensor of a model: layers draw from independent streams, so a
    /// layer's initial weights do not depend on the widths of the layers before it.
    public init(seed: UInt64, stream: UInt64) {
        var mixer = PortableGaussian(seed: seed ^ (stream &* 0x9E37_79B9_7F4A_7C15))
        _ = mixer.nextWord()
        state = mixer.nextWord()
    }

    /// SplitMix64.
    public mutating func nextWord() -> UInt64 {
        state &+= 0x9E37_79B9_7F4A_7C15
        var z = state
        z = (z ^ (z >> 30)) &* 0xBF58_476D_1CE4_E5B9
        z = (z ^ (z >> 27)) &* 0x94D0_49BB_1331_11EB
        return z ^ (z >> 31)
    }

    /// A uniform number in `[0, 1)` with 53 random bits.
    public mutating func nextUniform() -> Double { Double(nextWord() >> 11) * 0x1.0p-53 }

    /// A standard normal number.
    public mutating func next() -> Double {
        if let s = spare { spare = nil; return s }
        let u1 = 1.0 - nextUniform()            // (0, 1]: the logarithm stays finite
        let u2 = nextUniform()
        let radius = (-2.0 * PortableMath.log(u1)).squareRoot()
        let (s, c) = PortableMath.sinCosTwoPi(u2)
        spare = radius * s
        return radius * c
    }

    /// `count` standard normal numbers scaled by `scale`, rounded once to `S`.
    public mutating func fill<S: BLASScalar>(_ count: Int, scale: Double = 1, as: S.Type = S.self) -> [S] {
        (0..<count).map { _ in S(next() * scale) }
    }
}

/// Elementary functions from basic IEEE-754 operations only, for results that do not depend on `libm`.
public enum PortableMath {
    /// Natural logarithm of a positive finite number (relative error ≈ 1e-16).
    public static func log(_ x: Double) -> Double {
        precondition(x > 0 && x.isFinite)
        // x = m · 2^e with m ∈ [√½, √2), then ln m = 2 atanh(s), s = (m − 1)/(m + 1), |s| < 0.172.
        var e = Double(x.exponent)
        var m = x.significand                    // [1, 2)
        if m > 1.4142135623730951 { m *= 0.5; e += 1 }
        let s = (m - 1) / (m + 1)
        let s2 = s * s
        var term = s, sum = 0.0
        var k = 1.0
        while k < 40 {                           // s² < 0.03: 20 terms reach far below one ulp
            sum += term / k
            term *= s2
            k += 2
        }
        return 2 * sum + e * 0.6931471805599453
    }

    /// `(sin 2πu, cos 2πu)` for `u ∈ [0, 1)`.
    public static func sinCosTwoPi(_ u: Double) -> (Double, Double) {
        // Reduce exactly to an octant: 8u = q + r, r ∈ [0, 1), angle = (q + r)·π/4.
        let scaled = u * 8
        let q = Int(scaled)
        var r = scaled - Double(q)               // exact
        var octant = q & 7
        // Within an octant use the nearer end so the series argument is at most π/8.
        var fromUpper = false
        if r > 0.5 { r = 1 - r; fromUpper = true; octant += 1 }
        let x = r * 0.7853981633974483
        let (sx, cx) = taylor(x)
        let signedX = fromUpper ? -sx : sx       // angle = base − x when reduced from the upper end
        // base = octant·π/4; sin/cos of base are ±1, 0 or ±√½.
        let h = 0.7071067811865476
        let table: [(Double, Double)] = [(0, 1), (h, h), (1, 0), (h, -h), (0, -1), (-h, -h), (-1, 0), (-h, h)]
        let (sb, cb) = table[octant & 7]
        let sinA = sb * cx + cb * signedX
        let cosA = cb * cx - sb * signedX
        return (sinA, cosA)
    }

    private static func taylor(_ x: Double) -> (Double, Double) {
        let x2 = x * x
        var s = 0.0, c = 0.0
        var termS = x, termC = 1.0
        var n = 0.0
        for _ in 0..<12 {
            s += termS; c += termC
            termS *= -x2 / ((n + 2) * (n + 3))
            termC *= -x2 / ((n + 1) * (n + 2))
            n += 2
        }
        return (s, c)
    }
}
