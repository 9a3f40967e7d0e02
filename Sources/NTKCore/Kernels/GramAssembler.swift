/// Builds the Gram of a union of blocks while the blocks arrive, in any order.
///
/// When block `j` arrives, its diagonal block `Θ̂(Z_j, Z_j)` and its cross blocks with every block already
/// present are computed and written at their fixed place; so the work overlaps the transfer of the
/// remaining blocks, and the result does not depend on the arrival order (each cross block is always
/// computed as `Θ̂(Z_i, Z_j)` with `i < j`, then mirrored).
public struct GramAssembler<Scalar: BLASScalar> {
    /// Samples per part, in the fixed order.
    public let partSizes: [Int]
    /// k.
    public let outputCount: Int
    /// Exact or output-averaged.
    public let kind: KernelKind
    private var present: [(any JacobianOperator<Scalar>)?]
    private var assembled: Matrix<Scalar>
    private let rowOffsets: [Int]
    private var rowsPerSample: Int { kind == .exact ? outputCount : 1 }

    public init(partSizes: [Int], outputCount: Int, kind: KernelKind) {
        self.partSizes = partSizes
        self.outputCount = outputCount
        self.kind = kind
        let r = kind == .exact ? outputCount : 1
        var offsets: [Int] = [], total = 0
        for m in partSizes { offsets.append(total); total += m * r }
        rowOffsets = offsets
        present = Array(repeating: nil, count: partSizes.count)
        assembled = Matrix(rows: total, columns: total)
    }

    /// Adds part `index` and computes every Gram block it completes.
    public mutating func add(_ part: any JacobianOperator<Scalar>, at index: Int) {
        precondition(part.sampleCount == partSizes[index], "part \(index) has \(part.sampleCount) samples, expected \(partSizes[index])")
        precondition(present[index] == nil, "part \(index) added twice")
        present[index] = part
        write(part.gram(kind), rowPart: index, columnPart: index)
        for (i, other) in present.enumerated() where i != index {
            guard let other else { continue }
            let (low, high) = i < index ? (other, part) : (part, other)
            let (lowIndex, highIndex) = i < index ? (i, index) : (index, i)
            write(low.crossGram(with: high, kind), rowPart: lowIndex, columnPart: highIndex)
        }
    }

    /// Whether every part has arrived.
    public var isComplete: Bool { present.allSatisfy { $0 != nil } }

    /// The full Gram once complete.
    public var gram: Matrix<Scalar>? { isComplete ? assembled : nil }

    /// Writes a block at (rowPart, columnPart) and its transpose at (columnPart, rowPart).
    private mutating func write(_ block: Matrix<Scalar>, rowPart: Int, columnPart: Int) {
        let r0 = rowOffsets[rowPart], c0 = rowOffsets[columnPart], n = assembled.columns
        let rows = block.rows, cols = block.columns
        assembled.withUnsafeMutableBufferPointer { out in
            block.withUnsafeBufferPointer { b in
                Scalar.copyMatrix(transpose: false, rows: rows, columns: cols, a: b.baseAddress!, lda: cols,
                                  b: out.baseAddress! + r0 * n + c0, ldb: n)
                if rowPart != columnPart {
                    Scalar.copyMatrix(transpose: true, rows: rows, columns: cols, a: b.baseAddress!, lda: cols,
                                      b: out.baseAddress! + c0 * n + r0, ldb: n)
                }
            }
        }
    }
}
