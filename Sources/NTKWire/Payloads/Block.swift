import Foundation
import NTKCore

/// Worker → server: everything the server needs from one shard at the round's θ.
///
/// Arrays: `u` (m × k outputs f(x; θ)) and `y` (m × k targets) in f32 or f64, then, in that dtype or in a
/// 16-bit one (f16, bf16), either the
/// factors `X0 … X{L−1}` (m × n_{ℓ−1}, layer inputs) and `D1 … DL` (mk × n_ℓ, backward signals, row
/// `i·k + a`), or `Z` (mk × P: `Zᵀ` row-major, row `i·k + a` = ∂_θ f_a(x_i) in `flattened` order).
public struct Block: WirePayload {
    /// Sizes and format.
    public struct Body: Codable, Equatable, Sendable {
        /// m.
        public var sampleCount: Int
        /// k.
        public var outputCount: Int
        public var format: BlockFormat
        /// Optional: seconds the worker spent computing the block (forward + backward), so the server can
        /// report worker compute and transfer separately. Absent from older or third-party workers.
        public var computeSeconds: Double?
        /// Factored blocks only: `X0` (the samples' inputs, which never change in a run) is left out because the
        /// server kept it from this worker's earlier block (`Welcome.keepsInputs`). The factors start at `X1`.
        public var inputsOmitted: Bool?

        public init(sampleCount: Int, outputCount: Int, format: BlockFormat) {
            self.sampleCount = sampleCount
            self.outputCount = outputCount
            self.format = format
        }
    }

    public static let messageType = MessageType.block
    public var body: Body
    /// `u`, m × k.
    public var outputs: TypedArray
    /// `y`, m × k.
    public var targets: TypedArray
    /// `X0 … X{L−1}` (factored).
    public var layerInputs: [TypedArray]
    /// `D1 … DL` (factored).
    public var deltas: [TypedArray]
    /// `Z` (dense).
    public var dense: TypedArray?

    public var arrays: [TypedArray] { [outputs, targets] + layerInputs + deltas + (dense.map { [$0] } ?? []) }

    /// Leaves `X0` out of a factored block (the server kept it from an earlier one: `Welcome.keepsInputs`).
    public mutating func omitInputs() {
        guard body.format == .factored, body.inputsOmitted != true, !layerInputs.isEmpty else { return }
        layerInputs.removeFirst()
        body.inputsOmitted = true
    }

    /// A factored Float32 block whose factors travel rounded to `dtype` (`.f16`, `.bf16`: half the bytes;
    /// `.f32`: as they are). Outputs and targets stay Float32.
    public init(factored j: FactoredJacobian<Float>, targets: Matrix<Float>, dtype: DType) throws {
        try self.init(factored: j, targets: targets)
        guard dtype != .f32 else { return }
        guard dtype == .f16 || dtype == .bf16 else { throw WireError.invalidPayload("block: factors travel as f32, f16 or bf16, not \(dtype.rawValue)") }
        layerInputs = try j.layerInputs.enumerated().map { try TypedArray(name: "X\($0.offset)", narrowing: $0.element, to: dtype) }
        deltas = try j.deltas.enumerated().map { try TypedArray(name: "D\($0.offset + 1)", narrowing: $0.element, to: dtype) }
    }

    /// A factored block (no copies of the factors).
    public init<S: BLASScalar & WireScalar>(factored j: FactoredJacobian<S>, targets: Matrix<S>) throws {
        guard targets.rows == j.sampleCount, targets.columns == j.outputCount else {
            throw WireError.shapeMismatch(array: "y", expected: [j.sampleCount, j.outputCount], got: [targets.rows, targets.columns])
        }
        body = Body(sampleCount: j.sampleCount, outputCount: j.outputCount, format: .factored)
        outputs = TypedArray(trusted: "u", j.outputs)
        self.targets = TypedArray(trusted: "y", targets)
        layerInputs = j.layerInputs.enumerated().map { TypedArray(trusted: "X\($0.offset)", $0.element) }
        deltas = j.deltas.enumerated().map { TypedArray(trusted: "D\($0.offset + 1)", $0.element) }
        dense = nil
    }

    /// A dense Float32 block whose `Zᵀ` travels rounded to `dtype` (`.f16`, `.bf16`, or `.f32` as it is).
    public init(dense block: JacobianBlock<Float>, targets: Matrix<Float>, dtype: DType) throws {
        try self.init(dense: block, targets: targets)
        guard dtype != .f32 else { return }
        guard dtype == .f16 || dtype == .bf16 else { throw WireError.invalidPayload("block: Z travels as f32, f16 or bf16, not \(dtype.rawValue)") }
        dense = try TypedArray(name: "Z", narrowing: block.columnsAsRows, to: dtype)
    }

    /// A dense block (no copy of `Zᵀ`).
    public init<S: BLASScalar & WireScalar>(dense block: JacobianBlock<S>, targets: Matrix<S>) throws {
        let m = block.outputs.rows, k = block.outputs.columns
        guard targets.rows == m, targets.columns == k else {
            throw WireError.shapeMismatch(array: "y", expected: [m, k], got: [targets.rows, targets.columns])
        }
        body = Body(sampleCount: m, outputCount: k, format: .dense)
        outputs = TypedArray(trusted: "u", block.outputs)
        self.targets = TypedArray(trusted: "y", targets)
        layerInputs = []
        deltas = []
        dense = TypedArray(trusted: "Z", block.columnsAsRows)
    }

    public init(body: Body, arrays: [TypedArray]) throws {
        let m = body.sampleCount, k = body.outputCount
        guard m > 0, k > 0 else { throw WireError.invalidPayload("block: sampleCount \(m) and outputCount \(k) must be > 0") }
        let (mk, overflow) = m.multipliedReportingOverflow(by: k)
        guard !overflow else { throw WireError.invalidPayload("block: m·k overflows") }
        var byName: [String: TypedArray] = [:]
        for a in arrays { byName[a.name] = a }
        func take(_ name: String) throws -> TypedArray {
            guard let a = byName.removeValue(forKey: name) else { throw WireError.missingArray(name) }
            return a
        }
        let u = try take("u"), y = try take("y")
        guard u.dtype == .f32 || u.dtype == .f64 else { throw WireError.dtypeMismatch(array: "u", expected: [.f32, .f64], got: u.dtype) }
        try u.expect(shape: [m, k], dtypes: [u.dtype])
        try y.expect(shape: [m, k], dtypes: [u.dtype])
        // The factors (or Z) share one dtype: the outputs', or a 16-bit one (`f16`, `bf16`) that halves them.
        let omitted = body.format == .factored && body.inputsOmitted == true
        let first = byName[body.format == .dense ? "Z" : omitted ? "D1" : "X0"]
        let dtypes = [first.map(\.dtype).flatMap { [.f16, .bf16].contains($0) ? $0 : nil } ?? u.dtype]
        var xs: [TypedArray] = [], ds: [TypedArray] = []
        var z: TypedArray?
        switch body.format {
        case .factored:
            // X0 … X{L−1} (or X1 … with the inputs omitted), then D1 … DL; Δ^ℓ is as wide as X^ℓ, the last one k.
            let firstX = omitted ? 1 : 0
            var l = firstX
            while let x = byName.removeValue(forKey: "X\(l)") { xs.append(x); l += 1 }
            let layers = l   // L
            guard layers >= 1, omitted || !xs.isEmpty else { throw WireError.missingArray("X0") }
            for l in 1...layers { ds.append(try take("D\(l)")) }
            for x in xs {
                guard x.shape.count == 2 else { throw WireError.shapeMismatch(array: x.name, expected: [m, -1], got: x.shape) }
                try x.expect(shape: [m, x.shape[1]], dtypes: dtypes)
            }
            for (i, d) in ds.enumerated() {
                // D^{i+1} is as wide as X^{i+1} (the next layer's input); the last one is k wide.
                let next = i + 1 - firstX
                let width = i + 1 < layers ? xs[next].shape[1] : k
                guard d.shape.count == 2 else { throw WireError.shapeMismatch(array: d.name, expected: [mk, width], got: d.shape) }
                try d.expect(shape: [mk, width], dtypes: dtypes)
            }
        case .dense:
            let zz = try take("Z")
            guard zz.shape.count == 2 else { throw WireError.shapeMismatch(array: "Z", expected: [mk, -1], got: zz.shape) }
            try zz.expect(shape: [mk, zz.shape[1]], dtypes: dtypes)
            z = zz
        }
        if let extra = arrays.first(where: { byName[$0.name] != nil }) { throw WireError.unexpectedArray(extra.name) }
        self.body = body
        outputs = u
        targets = y
        layerInputs = xs
        deltas = ds
        dense = z
    }

    /// The factors as a `FactoredJacobian`, checked against the architecture, and the targets.
    /// `inputs`: the worker's `X0` kept by the server, for a block that omits it.
    public func factoredJacobian<S: BLASScalar & WireScalar>(architecture: MLPArchitecture, as type: S.Type = S.self,
                                                              inputs: Matrix<S>? = nil) throws
        -> (jacobian: FactoredJacobian<S>, targets: Matrix<S>) {
        guard body.format == .factored else { throw WireError.invalidPayload("block: format is \(body.format.rawValue), not factored") }
        try architecture.checkedForWire()
        let m = body.sampleCount, k = body.outputCount, w = architecture.widths, L = architecture.layerCount
        let (mk, overflow) = m.multipliedReportingOverflow(by: k)
        guard !overflow else { throw WireError.invalidPayload("block: m·k overflows") }
        guard k == architecture.outputCount else {
            throw WireError.shapeMismatch(array: "u", expected: [m, architecture.outputCount], got: outputs.shape)
        }
        let omitted = body.inputsOmitted == true
        if omitted {
            guard let inputs else { throw WireError.invalidPayload("block: X0 omitted, but the server keeps no inputs of this worker (send them)") }
            guard inputs.rows == m, inputs.columns == w[0] else {
                throw WireError.shapeMismatch(array: "X0 (kept)", expected: [m, w[0]], got: [inputs.rows, inputs.columns])
            }
        }
        let sent = omitted ? L - 1 : L
        guard layerInputs.count == sent else {
            throw WireError.missingArray(layerInputs.count < sent ? "X\(layerInputs.count + L - sent)" : "none beyond X\(L - 1)")
        }
        var xs: [Matrix<S>] = omitted ? [inputs!] : [], ds: [Matrix<S>] = []
        for l in 1...L {
            try deltas[l - 1].expect(shape: [mk, w[l]], dtypes: [.f32, .f64, .f16, .bf16])
            ds.append(try deltas[l - 1].matrix(as: S.self))
            guard !(omitted && l == 1) else { continue }
            let x = layerInputs[l - 1 - (L - sent)]
            try x.expect(shape: [m, w[l - 1]], dtypes: [.f32, .f64, .f16, .bf16])
            xs.append(try x.matrix(as: S.self))
        }
        do {
            let j = try FactoredJacobian(architecture: architecture, layerInputs: xs, deltas: ds, outputs: outputs.matrix(as: S.self))
            return (j, try targets.matrix(as: S.self))
        } catch let e as ModelError {
            throw WireError.invalidPayload("block: \(e)")
        }
    }

    /// The dense block as a `JacobianBlock`, checked against the architecture, and the targets.
    public func jacobianBlock<S: BLASScalar & WireScalar>(architecture: MLPArchitecture, as type: S.Type = S.self) throws
        -> (block: JacobianBlock<S>, targets: Matrix<S>) {
        try architecture.checkedForWire()
        return try jacobianBlock(model: .mlp(architecture), as: S.self)
    }

    /// The dense block of any model as a `JacobianBlock`, checked against the model, and the targets.
    public func jacobianBlock<S: BLASScalar & WireScalar>(model: ModelArchitecture, as type: S.Type = S.self) throws
        -> (block: JacobianBlock<S>, targets: Matrix<S>) {
        let z = try checkedDense(model)
        do {
            let b = try JacobianBlock(parameterCount: model.parameterCount, outputCount: model.outputCount,
                                      columnsAsRows: z.matrix(as: S.self), outputs: outputs.matrix(as: S.self))
            return (b, try targets.matrix(as: S.self))
        } catch let e as ModelError {
            throw WireError.invalidPayload("block: \(e)")
        }
    }

    /// The dense block written to a memory-mapped file in `directory` instead of memory (Float32), and the targets.
    public func mappedJacobianBlock(model: ModelArchitecture, directory: URL) throws -> (block: MappedJacobianBlock<Float>, targets: Matrix<Float>) {
        let z = try checkedDense(model)
        let block = try MappedJacobianBlock<Float>(parameterCount: model.parameterCount, outputs: outputs.matrix(as: Float.self), directory: directory) { sink in
            // f32 frames go to the file as they are; f64/f16/bf16 ones are converted first.
            try z.withUnsafeElements(as: Float.self) { try sink(UnsafeRawBufferPointer($0)) }
        }
        return (block, try targets.matrix(as: Float.self))
    }

    /// `Z` checked against the architecture (format, shape, dtype).
    private func checkedDense(_ architecture: ModelArchitecture) throws -> TypedArray {
        guard body.format == .dense, let z = dense else { throw WireError.invalidPayload("block: format is \(body.format.rawValue), not dense") }
        let m = body.sampleCount, k = body.outputCount
        let (mk, overflow) = m.multipliedReportingOverflow(by: k)
        guard !overflow else { throw WireError.invalidPayload("block: m·k overflows") }
        guard k == architecture.outputCount else {
            throw WireError.shapeMismatch(array: "u", expected: [m, architecture.outputCount], got: outputs.shape)
        }
        try z.expect(shape: [mk, architecture.parameterCount], dtypes: [.f32, .f64, .f16, .bf16])
        return z
    }
}
