/// The Jacobian of the union of several workers' shards: `Z = [Z_1 | Z_2 | … | Z_W]`, in a fixed order.
///
/// Products split along the blocks (`Z v = Σ_w Z_w v_w`, `Zᵀ u = [Z_1ᵀ u; …; Z_Wᵀ u]`), so the union is
/// never copied into one buffer. The order of `parts` is the order of the samples everywhere (Gram rows,
/// `β`, outputs): the server fixes it by worker id, so the result does not depend on arrival order.
public struct JacobianUnion<Scalar: BLASScalar>: JacobianOperator {
    /// The blocks, in sample order.
    public let parts: [any JacobianOperator<Scalar>]
    public let architecture: MLPArchitecture
    public let outputs: Matrix<Scalar>

    public init(_ parts: [any JacobianOperator<Scalar>]) throws {
        guard let first = parts.first else { throw ModelError.shapeMismatch("a union needs at least one block") }
        guard parts.allSatisfy({ $0.architecture == first.architecture }) else {
            throw ModelError.shapeMismatch("blocks of a union must come from the same network")
        }
        self.parts = parts
        self.architecture = first.architecture
        self.outputs = Matrix(rows: parts.reduce(0) { $0 + $1.sampleCount }, columns: first.outputCount,
                              elements: parts.flatMap { $0.outputs.elements })
    }

    /// Where each part's columns start in `v ∈ R^{mk}`.
    private var offsets: [Int] {
        var o: [Int] = [], total = 0
        for p in parts { o.append(total); total += p.columnCount }
        return o
    }

    public func contract(_ v: [Scalar]) -> MLPParameters<Scalar> {
        precondition(v.count == columnCount, "contract: vector has \(v.count) entries, the union has \(columnCount) columns")
        var total = MLPParameters<Scalar>(zerosFor: architecture)
        for (part, start) in zip(parts, offsets) {
            total = total.adding(part.contract(Array(v[start..<(start + part.columnCount)])))
        }
        return total
    }

    public func jvp(_ w: MLPParameters<Scalar>) -> [Scalar] { parts.flatMap { $0.jvp(w) } }

    public func gram(_ kind: KernelKind = .exact) -> Matrix<Scalar> {
        var assembler = GramAssembler<Scalar>(partSizes: parts.map(\.sampleCount), outputCount: outputCount, kind: kind)
        for (i, p) in parts.enumerated() { assembler.add(p, at: i) }
        return assembler.gram!
    }

    public func crossGram(with other: any JacobianOperator<Scalar>, _ kind: KernelKind = .exact) -> Matrix<Scalar> {
        let blocks = parts.map { $0.crossGram(with: other, kind) }
        return Matrix(rows: blocks.reduce(0) { $0 + $1.rows }, columns: blocks[0].columns, elements: blocks.flatMap(\.elements))
    }

    public func denseBlock() -> JacobianBlock<Scalar> {
        let dense = parts.map { $0.denseBlock() }
        return try! JacobianBlock(architecture: architecture,
                                  columnsAsRows: Matrix(rows: columnCount, columns: architecture.parameterCount,
                                                        elements: dense.flatMap(\.columnsAsRows.elements)),
                                  outputs: outputs)
    }
}
