/// The Jacobian of the union of several workers' shards: `Z = [Z_1 | Z_2 | … | Z_W]`, in a fixed order.
///
/// Products split along the blocks (`Z v = Σ_w Z_w v_w`, `Zᵀ u = [Z_1ᵀ u; …; Z_Wᵀ u]`), so the union is
/// never copied into one buffer. The order of `parts` is the order of the samples everywhere (Gram rows,
/// `β`, outputs): the server fixes it by worker id, so the result does not depend on arrival order.
public struct JacobianUnion<Scalar: BLASScalar>: JacobianOperator {
    /// The blocks, in sample order.
    public let parts: [any JacobianOperator<Scalar>]
    public let parameterCount: Int
    public let outputs: Matrix<Scalar>

    public init(_ parts: [any JacobianOperator<Scalar>]) throws {
        guard let first = parts.first else { throw ModelError.shapeMismatch("a union needs at least one block") }
        guard parts.allSatisfy({ $0.parameterCount == first.parameterCount && $0.outputCount == first.outputCount }) else {
            throw ModelError.shapeMismatch("blocks of a union must come from the same network (same P and k)")
        }
        self.parts = parts
        self.parameterCount = first.parameterCount
        self.outputs = Matrix(rows: parts.reduce(0) { $0 + $1.sampleCount }, columns: first.outputCount,
                              elements: parts.flatMap { $0.outputs.elements })
    }

    /// Where each part's columns start in `v ∈ R^{mk}`.
    private var offsets: [Int] {
        var o: [Int] = [], total = 0
        for p in parts { o.append(total); total += p.columnCount }
        return o
    }

    /// The most expensive part's depth (the plan is an estimate; mixed unions are rare).
    public var gramDepth: Int { parts.map(\.gramDepth).max()! }

    public func contract(_ v: [Scalar]) -> [Scalar] {
        precondition(v.count == columnCount, "contract: vector has \(v.count) entries, the union has \(columnCount) columns")
        var total = [Scalar](repeating: 0, count: parameterCount)
        for (part, start) in zip(parts, offsets) {
            let piece = part.contract(Array(v[start..<(start + part.columnCount)]))
            total.withUnsafeMutableBufferPointer { pt in
                piece.withUnsafeBufferPointer { pp in Scalar.axpy(n: parameterCount, alpha: 1, x: pp.baseAddress!, y: pt.baseAddress!) }
            }
        }
        return total
    }

    public func jvp(_ w: [Scalar]) -> [Scalar] { parts.flatMap { $0.jvp(w) } }

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
        return try! JacobianBlock(parameterCount: parameterCount, outputCount: outputCount,
                                  columnsAsRows: Matrix(rows: columnCount, columns: parameterCount,
                                                        elements: dense.flatMap(\.columnsAsRows.elements)),
                                  outputs: outputs)
    }
}
