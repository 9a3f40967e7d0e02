/// A SCAFFOLD control variate (Karimireddy et al. 2020): an estimate of a gradient of the training loss, one
/// value per parameter (shape `[P]`, θ's flat order).
///
/// The server keeps `c`, the estimate of the federation's gradient; each client i keeps `c_i`, the estimate of
/// its own. A client's local step uses `g_i(y) − c_i + c` instead of `g_i(y)`: its drift towards its own optimum
/// is replaced by the federation's direction. With option II of Algorithm 1 both are updated from quantities
/// the round produces anyway, so that `c = (1/N) Σ_i c_i` over all N clients holds after every round.
public struct ControlVariate: Equatable, Sendable {
    /// The values, `[P]`.
    public private(set) var values: [Float]

    /// Zeros: nothing is known about the gradient before round 1.
    public init(zerosFor parameterCount: Int) {
        values = [Float](repeating: 0, count: parameterCount)
    }

    /// A control variate with these values (e.g. a checkpoint's).
    public init(values: [Float]) {
        self.values = values
    }

    public var count: Int { values.count }

    /// `c − c_i` (self is `c_i`): the constant added to every local gradient of the round, `[P]`.
    public func correction(towards server: ControlVariate) -> [Float] {
        precondition(server.count == count, "control variates of \(server.count) and \(count) parameters")
        return zip(server.values, values).map { $0 - $1 }
    }

    /// Option II's client update after `steps` local steps of size `learningRate` from `x` to `y` (both `[P]`):
    /// `c_i⁺ = c_i − c + (x − y)/(Kη)`. Self (`c_i`) becomes `c_i⁺`; returns `Δc_i = c_i⁺ − c_i`, `[P]`, what the
    /// server needs to keep `c` the mean of all clients' `c_i`.
    ///
    /// `(x − y)/(Kη)` is the mean corrected gradient of the round's steps; subtracting the correction `c − c_i`
    /// again leaves the mean of the client's own gradients `g_i` along its path.
    public mutating func advance(server: ControlVariate, from x: [Float], to y: [Float], steps: Int, learningRate: Double) -> [Float] {
        precondition(server.count == count && x.count == count && y.count == count, "control variate and θ sizes differ")
        precondition(steps > 0 && learningRate > 0, "SCAFFOLD's update needs K ≥ 1 steps of size η > 0")
        let scale = 1 / (Double(steps) * learningRate)
        var delta = [Float](repeating: 0, count: count)
        for j in 0..<count {
            let next = values[j] - server.values[j] + Float(Double(x[j] - y[j]) * scale)
            delta[j] = next - values[j]
            values[j] = next
        }
        return delta
    }

    /// The server's update `c ← c + weight · Σ Δc_i`, one call per client (weight `1/N`, N = all clients of the run,
    /// not only this round's: the clients that sat out keep their `c_i`, so they contribute nothing new to the mean).
    public mutating func add(_ delta: [Float], weight: Float) {
        precondition(delta.count == count, "Δc has \(delta.count) values, c has \(count)")
        values.withUnsafeMutableBufferPointer { pc in
            delta.withUnsafeBufferPointer { pd in Float.axpy(n: pc.count, alpha: weight, x: pd.baseAddress!, y: pc.baseAddress!) }
        }
    }
}
