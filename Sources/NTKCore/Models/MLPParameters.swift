/// The weights `θ` of an MLP, one matrix and one bias vector per layer.
///
/// `weights[ℓ−1]` is `W^ℓ` with shape `n_ℓ × n_{ℓ−1}` (out × in, row-major) and `biases[ℓ−1]` is
/// `b^ℓ` with `n_ℓ` entries. The flat vector `θ ∈ R^P` lists `W^1` (row-major), `b^1`, `W^2`, `b^2`, …:
/// this is the row order of the Jacobian `Z` (`P × mk`).
public struct MLPParameters<Scalar: BLASScalar>: Equatable, Sendable {
    /// `W^1 … W^L`.
    public var weights: [Matrix<Scalar>]
    /// `b^1 … b^L`.
    public var biases: [[Scalar]]

    public init(weights: [Matrix<Scalar>], biases: [[Scalar]]) {
        precondition(weights.count == biases.count, "one bias vector per weight matrix")
        self.weights = weights
        self.biases = biases
    }

    /// All-zero parameters shaped for `architecture`.
    public init(zerosFor architecture: MLPArchitecture) {
        let w = architecture.widths
        weights = (1...architecture.layerCount).map { Matrix(rows: w[$0], columns: w[$0 - 1]) }
        biases = (1...architecture.layerCount).map { [Scalar](repeating: 0, count: w[$0]) }
    }

    /// Seeded initialization, bit-identical everywhere (see `PortableGaussian`): `W^ℓ` draws from
    /// stream `2ℓ`, `b^ℓ` from stream `2ℓ+1` of `seed`, in row-major order, scaled per the parametrization.
    public init(initializing architecture: MLPArchitecture, seed: UInt64) {
        let w = architecture.widths
        var weights: [Matrix<Scalar>] = []
        var biases: [[Scalar]] = []
        for l in 1...architecture.layerCount {
            var gw = PortableGaussian(seed: seed, stream: UInt64(2 * l))
            var gb = PortableGaussian(seed: seed, stream: UInt64(2 * l + 1))
            weights.append(Matrix(rows: w[l], columns: w[l - 1],
                                  elements: gw.fill(w[l] * w[l - 1], scale: architecture.weightInitStd(layer: l))))
            biases.append(gb.fill(w[l], scale: architecture.biasInitStd(layer: l)))
        }
        self.init(weights: weights, biases: biases)
    }

    /// Checks that the shapes match `architecture` and that every value is finite.
    public func validate(against architecture: MLPArchitecture) throws {
        let w = architecture.widths
        guard weights.count == architecture.layerCount else {
            throw ModelError.shapeMismatch("expected \(architecture.layerCount) layers, parameters have \(weights.count)")
        }
        for l in 1...architecture.layerCount {
            let W = weights[l - 1]
            guard W.rows == w[l], W.columns == w[l - 1] else {
                throw ModelError.shapeMismatch("W\(l) is \(W.rows)×\(W.columns), architecture needs \(w[l])×\(w[l - 1])")
            }
            guard biases[l - 1].count == w[l] else {
                throw ModelError.shapeMismatch("b\(l) has \(biases[l - 1].count) entries, architecture needs \(w[l])")
            }
            guard W.isFinite, biases[l - 1].withUnsafeBufferPointer(Scalar.allFinite) else {
                throw ModelError.nonFiniteParameters("W\(l) or b\(l) holds NaN or ∞")
            }
        }
    }

    /// Number of parameters `P`.
    public var count: Int { zip(weights, biases).reduce(0) { $0 + $1.0.count + $1.1.count } }

    /// `θ` as one flat vector in the documented order.
    public var flattened: [Scalar] {
        var theta: [Scalar] = []
        theta.reserveCapacity(count)
        for (W, b) in zip(weights, biases) { theta += W.elements; theta += b }
        return theta
    }

    /// Parameters shaped like `self` from a flat vector in the documented order.
    public func reshaping(_ theta: [Scalar]) -> MLPParameters {
        precondition(theta.count == count, "flat θ has \(theta.count) entries, parameters need \(count)")
        var offset = 0
        var out = self
        for l in weights.indices {
            let nw = weights[l].count, nb = biases[l].count
            out.weights[l].elements = Array(theta[offset..<(offset + nw)]); offset += nw
            out.biases[l] = Array(theta[offset..<(offset + nb)]); offset += nb
        }
        return out
    }

    /// `self + α · delta`.
    public func adding(_ delta: MLPParameters, scaledBy alpha: Scalar = 1) -> MLPParameters {
        var out = self
        for l in weights.indices {
            out.weights[l].add(delta.weights[l], scaledBy: alpha)
            for j in out.biases[l].indices { out.biases[l][j] += alpha * delta.biases[l][j] }
        }
        return out
    }

    /// Element-wise conversion to another precision.
    public func converted<T: BLASScalar>(to: T.Type = T.self) -> MLPParameters<T> {
        MLPParameters<T>(weights: weights.map { $0.converted() }, biases: biases.map { $0.map { T($0) } })
    }
}
