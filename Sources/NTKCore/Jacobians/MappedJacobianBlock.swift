import Foundation

/// A dense Jacobian block (`Zᵀ`, mk × P, row-major, as `JacobianBlock`) kept in a memory-mapped file rather
/// than in memory: the server's fallback when the dense blocks of a round exceed its memory budget.
///
/// The file is unlinked as soon as it is mapped, so it disappears with the block (or the process) and never
/// outlives the run; the kernel pages its contents in and out as the BLAS calls stream through it. Every
/// product goes straight to BLAS on the mapped pointer.
public final class MappedJacobianBlock<Scalar: BLASScalar>: @unchecked Sendable {
    public let outputs: Matrix<Scalar>
    /// `mk` and `P`.
    public let rows: Int
    public let parameterCount: Int
    private let base: UnsafeMutableRawPointer
    private let length: Int

    /// Writes `write`'s bytes (exactly `mk · P` scalars, produced in pieces) to a new file in `directory`, maps it.
    public init(parameterCount: Int, outputs: Matrix<Scalar>, directory: URL,
                write: ((UnsafeRawBufferPointer) throws -> Void) throws -> Void) throws {
        self.outputs = outputs
        rows = outputs.count
        self.parameterCount = parameterCount
        length = rows * parameterCount * MemoryLayout<Scalar>.stride
        try FileManager.default.createDirectory(at: directory, withIntermediateDirectories: true)
        let path = directory.appendingPathComponent("block-\(UUID().uuidString).bin").path
        let fd = open(path, O_RDWR | O_CREAT | O_EXCL, 0o600)
        guard fd >= 0 else { throw MappedBlockError.io("cannot create \(path): \(String(cString: strerror(errno)))") }
        defer { close(fd); unlink(path) }
        var written = 0
        try write { piece in
            var offset = 0
            while offset < piece.count {
                let n = Foundation.write(fd, piece.baseAddress! + offset, piece.count - offset)
                if n < 0 {
                    if errno == EINTR { continue }
                    throw MappedBlockError.io("writing \(path): \(String(cString: strerror(errno)))")
                }
                offset += n
            }
            written += piece.count
        }
        guard written == length else {
            throw MappedBlockError.io("\(path): got \(written) bytes for a \(rows) × \(parameterCount) block (\(length) bytes)")
        }
        guard length > 0, let p = mmap(nil, length, PROT_READ, MAP_SHARED, fd, 0), p != MAP_FAILED else {
            throw MappedBlockError.io("cannot map \(path): \(String(cString: strerror(errno)))")
        }
        base = p
    }

    /// Spills an in-memory block (for tests and for blocks that are already decoded).
    public convenience init(_ block: JacobianBlock<Scalar>, directory: URL) throws {
        try self.init(parameterCount: block.parameterCount, outputs: block.outputs, directory: directory) { sink in
            try block.columnsAsRows.withUnsafeBufferPointer { try sink(UnsafeRawBufferPointer($0)) }
        }
    }

    deinit { munmap(base, length) }

    /// `Zᵀ`, mk × P, row-major.
    var z: UnsafePointer<Scalar> { UnsafePointer(base.assumingMemoryBound(to: Scalar.self)) }

    /// Bytes on disk.
    public var byteCount: Int { length }
}

/// Why a block could not be spilled.
public enum MappedBlockError: Error, CustomStringConvertible {
    case io(String)
    public var description: String { switch self { case .io(let s): return "spill to disk: \(s)" } }
}

extension MappedJacobianBlock: JacobianOperator {
    public var gramDepth: Int { parameterCount }

    public func contract(_ v: [Scalar]) -> [Scalar] {
        precondition(v.count == rows, "v has \(v.count) entries, Z has \(rows) columns")
        var out = [Scalar](repeating: 0, count: parameterCount)
        v.withUnsafeBufferPointer { pv in
            out.withUnsafeMutableBufferPointer { po in
                Scalar.gemv(trans: true, m: rows, n: parameterCount, alpha: 1, a: z, lda: parameterCount,
                            x: pv.baseAddress!, incx: 1, beta: 0, y: po.baseAddress!, incy: 1)
            }
        }
        return out
    }

    public func jvp(_ flat: [Scalar]) -> [Scalar] {
        precondition(flat.count == parameterCount, "w has \(flat.count) entries, Z has \(parameterCount) rows")
        var out = [Scalar](repeating: 0, count: rows)
        flat.withUnsafeBufferPointer { pw in
            out.withUnsafeMutableBufferPointer { po in
                Scalar.gemv(trans: false, m: rows, n: parameterCount, alpha: 1, a: z, lda: parameterCount,
                            x: pw.baseAddress!, incx: 1, beta: 0, y: po.baseAddress!, incy: 1)
            }
        }
        return out
    }

    public func gram(_ kind: KernelKind = .exact) -> Matrix<Scalar> { product(with: z, rows: rows, kind, symmetric: true) }

    public func crossGram(with other: any JacobianOperator<Scalar>, _ kind: KernelKind = .exact) -> Matrix<Scalar> {
        if let mapped = other as? MappedJacobianBlock<Scalar> { return product(with: mapped.z, rows: mapped.rows, kind, symmetric: false) }
        let dense = (other as? JacobianBlock<Scalar>) ?? other.denseBlock()
        return dense.columnsAsRows.withUnsafeBufferPointer { product(with: $0.baseAddress!, rows: dense.columnsAsRows.rows, kind, symmetric: false) }
    }

    /// Loads the whole block into memory (for checks and mixed representations).
    public func denseBlock() -> JacobianBlock<Scalar> {
        let copy = Matrix(rows: rows, columns: parameterCount, elements: Array(UnsafeBufferPointer(start: z, count: rows * parameterCount)))
        return try! JacobianBlock(parameterCount: parameterCount, outputCount: outputCount, columnsAsRows: copy, outputs: outputs)
    }

    /// `Zᵀ_mine Z_theirs` (exact), or with both viewed as m × (k·P) and divided by k (output-averaged).
    private func product(with other: UnsafePointer<Scalar>, rows otherRows: Int, _ kind: KernelKind, symmetric: Bool) -> Matrix<Scalar> {
        let k = outputCount
        let (m, n, depth, alpha) = kind == .exact
            ? (rows, otherRows, parameterCount, Scalar(1))
            : (rows / k, otherRows / k, k * parameterCount, 1 / Scalar(k))
        var g = Matrix<Scalar>(uninitializedRows: m, columns: n)
        g.withUnsafeMutableBufferPointer { pg in
            if symmetric {
                Scalar.syrk(trans: false, n: m, k: depth, alpha: alpha, a: z, lda: depth, beta: 0, c: pg.baseAddress!, ldc: m)
            } else {
                Scalar.gemm(transA: false, transB: true, m: m, n: n, k: depth, alpha: alpha, a: z, lda: depth,
                            b: other, ldb: depth, beta: 0, c: pg.baseAddress!, ldc: n)
            }
        }
        if symmetric { g.mirrorUpperTriangle() }
        return g
    }
}
