import NTKCore
import NTKWire

/// The baselines' local step: `epochs` passes of minibatch SGD on the shard, from the broadcast θ_r.
///
/// The gradient of the mean batch loss is `Z_b ∇_u C / b` — one contraction of the batch's Jacobian (factored
/// for an MLP) with the output residual (`u − y` for mse, `softmax(u) − y` for cross-entropy). FedProx adds
/// `μ(θ − θ_r)`, the gradient of its proximal term; SCAFFOLD adds the round's constant `correction` `c − c_i`.
enum LocalSGD {
    /// θ after local training (`[P]`) and the number K of steps taken (SCAFFOLD divides by it).
    struct Result {
        var theta: [Float]
        var steps: Int
    }

    /// - Parameter correction: SCAFFOLD's `c − c_i`, `[P]`, added to every step's gradient (`nil`: none).
    static func train(_ model: ModelArchitecture, from start: [Float], inputs: Matrix<Float>, targets: Matrix<Float>, settings: LocalTraining,
                      loss: LossFunction, round: UInt64, workerID: UInt32, correction: [Float]? = nil) throws -> Result {
        var theta = start
        let roundWeights = start   // θ_r, FedProx's anchor (the loop below reuses the name `start`)
        let mu = Float(settings.proximalMu ?? 0)
        let m = inputs.rows, d = inputs.columns, k = targets.columns
        var rng = PortableGaussian(seed: settings.seed ^ (round &* 0x9E37_79B9) ^ (UInt64(workerID) << 40))
        var order = Array(0..<m)
        var steps = 0
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
                var gradient = jacobian.contract(residual.map { Float($0 / Double(batch.count)) })
                gradient.withUnsafeMutableBufferPointer { pg in
                    // μ = 0 adds nothing at all, so that FedProx with μ = 0 is FedAvg bit for bit.
                    if mu != 0 {
                        theta.withUnsafeBufferPointer { pt in Float.axpy(n: pt.count, alpha: mu, x: pt.baseAddress!, y: pg.baseAddress!) }
                        roundWeights.withUnsafeBufferPointer { ps in Float.axpy(n: ps.count, alpha: -mu, x: ps.baseAddress!, y: pg.baseAddress!) }
                    }
                    correction?.withUnsafeBufferPointer { pc in Float.axpy(n: pc.count, alpha: 1, x: pc.baseAddress!, y: pg.baseAddress!) }
                }
                theta.withUnsafeMutableBufferPointer { pt in
                    gradient.withUnsafeBufferPointer { pg in Float.axpy(n: pg.count, alpha: -Float(settings.learningRate), x: pg.baseAddress!, y: pt.baseAddress!) }
                }
                steps += 1
                // Say so here rather than let the next step's forward pass refuse NaN weights without saying why.
                guard theta.withUnsafeBufferPointer(Float.allFinite) else { throw LocalSGDError.diverged(round: round, step: steps, settings: settings) }
            }
        }
        return Result(theta: theta, steps: steps)
    }
}

/// Why local training stopped.
public enum LocalSGDError: Error, CustomStringConvertible {
    case diverged(round: UInt64, step: Int, settings: LocalTraining)
    public var description: String {
        switch self {
        case .diverged(let round, let step, let s):
            return "round \(round): local SGD (\(s.solverName), learning_rate \(s.learningRate)) reached non-finite weights at step \(step); lower learning_rate"
        }
    }
}
