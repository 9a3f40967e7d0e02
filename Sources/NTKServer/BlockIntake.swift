import Foundation
import NTKCore
import NTKWire

/// Turns a refresh's blocks into Jacobian operators as they arrive: factored blocks as they are, dense
/// blocks in memory up to a limit (half the memory budget: the other half is the solver's) and in
/// memory-mapped files beyond it, so that a round whose dense blocks do not fit still runs.
struct BlockIntake {
    let model: ModelArchitecture
    /// Bytes of dense blocks held in memory before the next one goes to disk.
    let memoryLimit: Double
    let spillDirectory: URL
    private(set) var heldBytes = 0.0
    private(set) var spilledBytes = 0

    init(model: ModelArchitecture, memoryLimit: Double, spillDirectory: URL) {
        self.model = model
        self.memoryLimit = memoryLimit
        self.spillDirectory = spillDirectory
    }

    /// The block's Jacobian (checked against the architecture) and targets, Float32; `keptInputs`: the sender's
    /// `X0` from an earlier block, for a factored block that omits it.
    mutating func accept(_ block: Block, keptInputs: Matrix<Float>? = nil) throws -> (jacobian: any JacobianOperator<Float>, targets: Matrix<Float>) {
        switch block.body.format {
        case .factored:
            guard let architecture = model.mlp else { throw WireError.invalidPayload("block: only an MLP's blocks travel factored; \(model) needs dense") }
            let factored = try block.factoredJacobian(architecture: architecture, as: Float.self, inputs: keptInputs)
            return (factored.jacobian, factored.targets)
        case .dense:
            let bytes = Double(block.body.sampleCount * block.body.outputCount * model.parameterCount * MemoryLayout<Float>.size)
            if heldBytes + bytes > memoryLimit {
                let mapped = try block.mappedJacobianBlock(model: model, directory: spillDirectory)
                spilledBytes += mapped.block.byteCount
                return (mapped.block, mapped.targets)
            }
            heldBytes += bytes
            let dense = try block.jacobianBlock(model: model, as: Float.self)
            return (dense.block, dense.targets)
        }
    }

    /// For the round log, when blocks went to disk.
    var note: String? {
        spilledBytes == 0 ? nil
            : "\(spilledBytes / 1_000_000) MB of dense blocks memory-mapped from \(spillDirectory.path) (over half the memory budget)"
    }
}
