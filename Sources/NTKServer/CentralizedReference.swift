import NTKConfig
import NTKCore
import NTKData

/// What one process does with the union of the workers' shards, in the given worker order, under the
/// same rule as the server (time chosen by the real network's mean training loss, refresh every round; a
/// hypernetwork's rows carry each worker's client features first, as the workers send them):
/// the weights a federation of those workers must reproduce. Used by tests as the reference.
public enum CentralizedReference {
    /// `scaling` replaces the configured feature map (e.g. a federated run's pooled standardization).
    public static func train(_ config: RunConfiguration, workers names: [String], scaling: FeatureScaling? = nil) throws -> [Float] {
        let shards = try names.map { name in
            guard let settings = config.workers.first(where: { $0.name == name }) else {
                throw ServerError.noBlocks("no worker named \(name) in the configuration")
            }
            let samples = try settings.data.load(scaling: scaling)
            // A hypernetwork's rows are [x, z], x being the worker's client features (as its worker prepends them).
            guard let features = settings.clientFeatures else { return samples }
            let d = samples.inputs.columns
            let rows = (0..<samples.inputs.rows).flatMap { i in features + samples.inputs.elements[(i * d)..<((i + 1) * d)] }
            return DataSource.Samples(inputs: Matrix(rows: samples.inputs.rows, columns: features.count + d, elements: rows),
                                      targets: samples.targets)
        }
        let model = config.model, n0 = model.inputDimension, k = model.outputCount
        let x = Matrix<Float>(rows: shards.reduce(0) { $0 + $1.inputs.rows }, columns: n0,
                              elements: shards.flatMap { $0.inputs.elements.map(Float.init) })
        let y = Matrix<Double>(rows: x.rows, columns: k, elements: shards.flatMap(\.targets.elements))
        var theta: [Float] = try model.initialParameters(seed: config.seed)
        for _ in 1...config.rounds {
            var training = try LinearizedTraining(initialParameters: theta, jacobian: model.jacobian(x, parameters: theta), targets: y,
                                                  options: config.linearization)
            let solutions = try training.solve(times: config.timeCandidates)
            let losses = try solutions.map { s -> Double in
                let out = try model.outputs(x, parameters: training.parameters(s.coefficients))
                return Evaluation(outputs: out.elements.map(Double.init), targets: y.elements, outputCount: k,
                                  loss: config.linearization.loss).loss
            }
            theta = training.parameters(solutions[losses.indices.min { losses[$0] < losses[$1] }!].coefficients)
        }
        return theta
    }
}
