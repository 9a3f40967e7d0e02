/// How a worker ships its Jacobian block: per-layer factors (`n/2`× smaller) or the dense `Zᵀ`.
public enum BlockFormat: String, Codable, CaseIterable, Sendable {
    /// `X0…X{L−1}` and `D1…DL` (DESIGN.md §2).
    case factored
    /// `Z` as `Zᵀ` row-major, mk × P.
    case dense
}
