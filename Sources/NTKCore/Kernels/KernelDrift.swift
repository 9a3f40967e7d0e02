/// How far the kernel moved between two linearizations: `‖H_new − H_old‖_F / ‖H_old‖_F`.
///
/// Exact from two formed Grams; otherwise estimated without forming either, by Hutchinson's identity
/// `E_g ‖M g‖² = ‖M‖_F²` for standard normal `g`, with the same seeded probes for both kernels.
/// Both kernels must cover the same samples in the same order.
public enum KernelDrift {
    /// Exact relative Frobenius distance.
    public static func exact(new: Matrix<Double>, old: Matrix<Double>) -> Double { new.relativeDistance(to: old) }

    /// Hutchinson estimate with `probes` Gaussian vectors (two products with each kernel per probe).
    public static func estimate<S: BLASScalar>(new: any JacobianOperator<S>, old: any JacobianOperator<S>,
                                               probes: Int = 16, seed: UInt64 = 0x6472_6966_74) -> Double? {
        guard new.columnCount == old.columnCount, new.columnCount > 0 else { return nil }
        var g = PortableGaussian(seed: seed)
        var difference = 0.0, reference = 0.0
        for _ in 0..<probes {
            let v: [S] = g.fill(new.columnCount)
            let a = new.jvp(new.contract(v)), b = old.jvp(old.contract(v))
            for i in a.indices {
                let d = Double(a[i]) - Double(b[i])
                difference += d * d
                reference += Double(b[i]) * Double(b[i])
            }
        }
        return reference > 0 ? (difference / reference).squareRoot() : nil
    }
}
