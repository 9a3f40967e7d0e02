import NTKCore

/// θ on the wire: per-layer arrays `W1, b1, …, WL, bL` (RoundStart) or one flat vector (Candidates).
extension MLPParameters where Scalar: WireScalar {
    /// `W{ℓ}` (n_ℓ × n_{ℓ−1}) and `b{ℓ}` (n_ℓ) for ℓ = 1…L, in that order; no copies.
    public func wireArrays() -> [TypedArray] {
        var out: [TypedArray] = []
        for l in weights.indices {
            out.append(TypedArray(trusted: "W\(l + 1)", weights[l]))
            out.append(TypedArray(trusted: "b\(l + 1)", biases[l], shape: [biases[l].count]))
        }
        return out
    }

    /// θ flattened in `MLPParameters.flattened` order (W1 row-major, b1, W2, …) as one array of P values.
    public func flatWireArray(name: String) throws -> TypedArray {
        try TypedArray(name: name, flattened)
    }

    /// Parameters from `W1, b1, …` arrays, checked against the architecture (f32 or f64 accepted;
    /// exactly these arrays, each error names the array).
    public init(wireArrays arrays: [TypedArray], architecture: MLPArchitecture) throws {
        try architecture.checkedForWire()
        let w = architecture.widths
        let L = architecture.layerCount
        var byName: [String: TypedArray] = [:]
        for a in arrays { byName[a.name] = a }
        var weights: [Matrix<Scalar>] = []
        var biases: [[Scalar]] = []
        for l in 1...L {
            guard let W = byName.removeValue(forKey: "W\(l)") else { throw WireError.missingArray("W\(l)") }
            guard let b = byName.removeValue(forKey: "b\(l)") else { throw WireError.missingArray("b\(l)") }
            try W.expect(shape: [w[l], w[l - 1]], dtypes: [.f32, .f64])
            try b.expect(shape: [w[l]], dtypes: [.f32, .f64])
            weights.append(Matrix(rows: w[l], columns: w[l - 1], elements: try W.elements(as: Scalar.self)))
            biases.append(try b.elements(as: Scalar.self))
        }
        if let extra = arrays.first(where: { byName[$0.name] != nil }) { throw WireError.unexpectedArray(extra.name) }
        self.init(weights: weights, biases: biases)
    }
}
