import NTKCore
import NTKWire

/// FedAvg's local step: `epochs` passes of minibatch SGD on the shard, from the broadcast θ.
///
/// The gradient of the mean batch loss is `Z_b ∇_u C / b` — one contraction of the batch's Jacobian (factored
/// for an MLP) with the output residual (`u − y` for mse, `softmax(u) − y` for cross-entropy).
enum LocalSGD {
    static func train(_ model: ModelArchitecture, from start: [Float], inputs: Matrix<Float>, targets: Matrix<Float>, settings: LocalTraining,
                      loss: LossFunction, round: UInt64, workerID: UInt32) throws -> [Float] {
        var theta = start
        let m = inputs.rows, d = inputs.columns, k = targets.columns
        var rng = PortableGaussian(seed: settings.seed ^ (round &* 0x9E37_79B9) ^ (UInt64(workerID) << 40))
        var order = Array(0..<m)
        for _ in 0..<settings.epochs {
            for i in stride(from: m - 1, to: 0, by: -1) { order.swapAt(i, Int(rng.nextWord() % UInt64(i + 1))) }
            for start in stride(from: 0, to: m, by: settings.batchSize) {
                let batch = order[start..<min(start + settings.batchSize, m)]
                var x = [Float](), y = [Double]()
                x.reserveCapacity(batch.count * d)
                for i in batch {
                    x += inputs.elements[(i * d)..<((i + 1) * d)]
                    y += targets.elements[(i * k)..<((i + 1) * k)].map(Double.init)
                }
                let jacobian = try model.jacobian(Matrix(rows: batch.count, columns: d, elements: x), parameters: theta)
                let u = jacobian.outputs.elements.map(Double.init)
                let residual: [Double] = loss == .mse
                    ? zip(u, y).map { $0 - $1 }
                    : CrossEntropyDynamics.lossGradient(u, targets: y, outputCount: k)
                let gradient = jacobian.contract(residual.map { Float($0 / Double(batch.count)) })
                theta.withUnsafeMutableBufferPointer { pt in
                    gradient.withUnsafeBufferPointer { pg in Float.axpy(n: pg.count, alpha: -Float(settings.learningRate), x: pg.baseAddress!, y: pt.baseAddress!) }
                }
            }
        }
        return theta
    }
}
