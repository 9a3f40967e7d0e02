/// A batch of hypernetwork inputs `u_i = (x_{c(i)}, z_i)`: a few distinct `x` shared by many samples `z`.
///
/// Samples that share an `x` share the primary network's weights `V = f(x)`: `f` runs once per distinct
/// `x`, not once per sample. This is the federated case — a worker's `x` is its id or features, the same
/// for all its samples — and it is what makes the forward pass and the Jacobian cheap.
public struct HypernetworkInputs<Scalar: BLASScalar>: Sendable {
    /// The distinct meta-network inputs `x`, one per row (p × n_0).
    public let metaInputs: Matrix<Scalar>
    /// The primary network inputs `z_i`, one per sample (m × m_0).
    public let primaryInputs: Matrix<Scalar>
    /// `c(i)`: the row of `metaInputs` that sample `i` pairs with (m entries, each in `0..<p`).
    public let metaIndex: [Int]

    /// A batch from its parts; every index must name a row of `metaInputs`.
    public init(metaInputs: Matrix<Scalar>, primaryInputs: Matrix<Scalar>, metaIndex: [Int]) throws {
        guard metaIndex.count == primaryInputs.rows else {
            throw ModelError.shapeMismatch("\(primaryInputs.rows) samples z but \(metaIndex.count) meta indices")
        }
        guard metaIndex.allSatisfy({ $0 >= 0 && $0 < metaInputs.rows }) else {
            throw ModelError.shapeMismatch("a meta index lies outside the \(metaInputs.rows) meta inputs")
        }
        guard metaInputs.isFinite, primaryInputs.isFinite else { throw ModelError.nonFiniteParameters("inputs hold NaN or ∞") }
        self.metaInputs = metaInputs
        self.primaryInputs = primaryInputs
        self.metaIndex = metaIndex
    }

    /// One `x` for every sample (a worker's batch).
    public init(metaInput x: [Scalar], primaryInputs: Matrix<Scalar>) throws {
        try self.init(metaInputs: Matrix(rows: 1, columns: x.count, elements: x), primaryInputs: primaryInputs,
                      metaIndex: [Int](repeating: 0, count: primaryInputs.rows))
    }

    /// Row `i` of `metaInputs` pairs with row `i` of `primaryInputs` (no sharing).
    public init(pairing metaInputs: Matrix<Scalar>, with primaryInputs: Matrix<Scalar>) throws {
        guard metaInputs.rows == primaryInputs.rows else {
            throw ModelError.shapeMismatch("pairing \(metaInputs.rows) meta inputs with \(primaryInputs.rows) primary inputs")
        }
        try self.init(metaInputs: metaInputs, primaryInputs: primaryInputs, metaIndex: Array(0..<metaInputs.rows))
    }

    /// Number of samples m.
    public var sampleCount: Int { primaryInputs.rows }
    /// Number of distinct meta inputs p.
    public var metaInputCount: Int { metaInputs.rows }

    /// The samples of each meta input, in sample order (`groups[c]` lists the i with `c(i) = c`).
    public var groups: [[Int]] {
        var out = [[Int]](repeating: [], count: metaInputCount)
        for (i, c) in metaIndex.enumerated() { out[c].append(i) }
        return out
    }

    /// Element-wise conversion to another precision.
    public func converted<T: BLASScalar>(to: T.Type = T.self) -> HypernetworkInputs<T> {
        try! HypernetworkInputs<T>(metaInputs: metaInputs.converted(), primaryInputs: primaryInputs.converted(), metaIndex: metaIndex)
    }
}

extension Matrix {
    /// The rows `indices` of `self`, in that order (a gather; one block copy per row).
    func gatheringRows(_ indices: [Int]) -> Matrix {
        var out = Matrix(rows: indices.count, columns: columns)
        let c = columns
        guard c > 0 else { return out }
        withUnsafeBufferPointer { src in
            out.withUnsafeMutableBufferPointer { dst in
                for (r, i) in indices.enumerated() {
                    (dst.baseAddress! + r * c).update(from: src.baseAddress! + i * c, count: c)
                }
            }
        }
        return out
    }

    /// Writes the rows of `block` to rows `indices` of `self` (the inverse of `gatheringRows`).
    mutating func scatterRows(_ block: Matrix, to indices: [Int]) {
        precondition(block.rows == indices.count && block.columns == columns, "scatterRows: shapes differ")
        let c = columns
        guard c > 0 else { return }
        block.withUnsafeBufferPointer { src in
            withUnsafeMutableBufferPointer { dst in
                for (r, i) in indices.enumerated() {
                    (dst.baseAddress! + i * c).update(from: src.baseAddress! + r * c, count: c)
                }
            }
        }
    }
}
