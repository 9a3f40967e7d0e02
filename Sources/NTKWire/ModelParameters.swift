import NTKCore

/// θ of any model on the wire (`roundStart`, `localUpdate`): the MLP's per-layer arrays `W1, b1, …, WL, bL`
/// (unchanged, so MLP peers need not know about other models), or for a network or hypernetwork one flat
/// array `theta` of P values in `Network`'s (`Hypernetwork.parameters`') order.
extension ModelArchitecture {
    /// The arrays for θ (an MLP's are reshaped views of one copy; a network's is θ itself).
    public func wireArrays<S: BLASScalar & WireScalar>(_ theta: [S]) throws -> [TypedArray] {
        guard theta.count == parameterCount else {
            throw WireError.invalidPayload("θ has \(theta.count) values, the model has \(parameterCount) parameters")
        }
        switch self {
        case .mlp(let a): return MLPParameters<S>(zerosFor: a).reshaping(theta).wireArrays()
        case .network, .hypernetwork: return [TypedArray(trusted: "theta", theta, shape: [theta.count])]
        }
    }

    /// θ from `wireArrays`' arrays, checked against the model (each error names the array).
    public func parameters<S: BLASScalar & WireScalar>(fromWire arrays: [TypedArray], as type: S.Type = S.self) throws -> [S] {
        switch self {
        case .mlp(let a): return try MLPParameters<S>(wireArrays: arrays, architecture: a).flattened
        case .network, .hypernetwork:
            guard let theta = arrays.first(where: { $0.name == "theta" }) else { throw WireError.missingArray("theta") }
            if let extra = arrays.first(where: { $0.name != "theta" }) { throw WireError.unexpectedArray(extra.name) }
            try theta.expect(shape: [parameterCount], dtypes: [.f32, .f64])
            return try theta.elements(as: S.self)
        }
    }
}
