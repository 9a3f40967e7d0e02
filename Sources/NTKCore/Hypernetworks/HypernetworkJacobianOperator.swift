/// A hypernetwork's Jacobian used only through products with `Z`, as the closed-form dynamics use any block.
///
/// `Z v` and `Zᵀ w` run on the factors of `HypernetworkJacobian` like `FactoredJacobian`'s, except that the
/// forward factors `q^{l−1}` are stored once per distinct `x`: the samples of one `x` are summed first
/// (`Z v`) or share one row of `T^l` (`Zᵀ w`).
extension HypernetworkJacobian: JacobianOperator {
    /// Multiply–adds per exact Gram entry from the factors: `Σ_l n_l` (dominated by `n_L`, the weights of `g`).
    public var gramDepth: Int { architecture.metaArchitecture.widths.dropFirst().reduce(0, +) }

    /// `Z v` for `v ∈ R^{mk}`: per layer `∂W^l = s_w Σ_c D̂_cᵀ q^{l−1}_c`, `∂b^l = s_b Σ_i D̃_i`, where
    /// `D̃_i = Σ_a v_{i,a} δ^l_{i,a}` and `D̂_c` sums `D̃_i` over the samples of `x_c`; flat in `w`'s order.
    public func contract(_ v: [Scalar]) -> [Scalar] {
        precondition(v.count == columnCount, "contract: vector has \(v.count) entries, Z has \(columnCount) columns")
        let arch = architecture.metaArchitecture
        let m = sampleCount, k = outputCount, p = metaLayerInputs[0].rows
        var out: [Scalar] = []
        out.reserveCapacity(arch.parameterCount)
        for l in 1...arch.layerCount {
            let n = arch.widths[l]
            var mixed = Matrix<Scalar>(rows: m, columns: n)
            deltas[l - 1].withUnsafeBufferPointer { pd in
                v.withUnsafeBufferPointer { pv in
                    mixed.withUnsafeMutableBufferPointer { pm in
                        Scalar.combineRows(pd.baseAddress!, weights: pv.baseAddress!, samples: m, outputs: k, width: n, into: pm.baseAddress!)
                    }
                }
            }
            var perMeta = Matrix<Scalar>(rows: p, columns: n)
            mixed.withUnsafeBufferPointer { pm in
                perMeta.withUnsafeMutableBufferPointer { pp in
                    for i in 0..<m { Scalar.axpy(n: n, alpha: 1, x: pm.baseAddress! + i * n, y: pp.baseAddress! + metaIndex[i] * n) }
                }
            }
            out += Matrix.product(perMeta, metaLayerInputs[l - 1], transposeA: true,
                                  alpha: Scalar(arch.weightMultiplier(layer: l))).elements
            let ones = Scalar.filled(1, count: p)
            let sb = Scalar(arch.biasMultiplier(layer: l))
            out += perMeta.times(ones, transposed: true).map { $0 * sb }
        }
        return out
    }

    /// `Zᵀ w`: per layer `T^l = s_w Q^{l−1} ∂W^lᵀ + s_b 1 ∂b^lᵀ` (one row per distinct `x`), then
    /// `(Zᵀw)_{i,a} = Σ_l δ^l_{i,a} · T^l_{c(i)}`.
    public func jvp(_ w: [Scalar]) -> [Scalar] {
        let arch = architecture.metaArchitecture
        precondition(w.count == arch.parameterCount, "jvp: vector has \(w.count) entries, Z has \(arch.parameterCount) rows")
        let m = sampleCount, k = outputCount
        var out = Scalar.filled(0, count: m * k)
        var offset = 0
        for l in 1...arch.layerCount {
            let nIn = arch.widths[l - 1], n = arch.widths[l]
            let dW = Matrix(rows: n, columns: nIn, elements: Array(w[offset..<(offset + n * nIn)]))
            let db = Array(w[(offset + n * nIn)..<(offset + n * nIn + n)])
            offset += n * (nIn + 1)
            var t = Matrix.product(metaLayerInputs[l - 1], dW, transposeB: true, alpha: Scalar(arch.weightMultiplier(layer: l)))
            let sb = Scalar(arch.biasMultiplier(layer: l)), rows = t.rows
            db.withUnsafeBufferPointer { pb in
                t.withUnsafeMutableBufferPointer { pt in Scalar.addRowVector(pt.baseAddress!, rows: rows, columns: n, pb.baseAddress!, scale: sb) }
            }
            let perSample = t.gatheringRows(metaIndex)
            deltas[l - 1].withUnsafeBufferPointer { pd in
                perSample.withUnsafeBufferPointer { pt in
                    out.withUnsafeMutableBufferPointer { po in
                        Scalar.accumulateRowDots(pd.baseAddress!, pt.baseAddress!, samples: m, outputs: k, width: n, into: po.baseAddress!)
                    }
                }
            }
        }
        return out
    }

    public func crossGram(with other: any JacobianOperator<Scalar>, _ kind: KernelKind) -> Matrix<Scalar> {
        if let same = other as? HypernetworkJacobian<Scalar>, same.architecture == architecture { return crossGram(with: same, kind) }
        return denseBlock().crossGram(with: other, kind)
    }

    public func denseBlock() -> JacobianBlock<Scalar> { dense }
}
