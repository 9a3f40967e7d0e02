import NTKData
import NTKWire

/// Federated feature standardization: the registered workers' per-feature counts, sums and sums of squares
/// are merged (in configuration order, so the result does not depend on arrival) into one mean and standard
/// deviation, which every node then applies. No row leaves a worker.
extension FederatedServer {
    /// Pools the statistics of the workers registered now; fixed for the rest of the run.
    func poolFeatureStatistics() throws {
        let parts = try registry.ordered.map { worker -> FeatureStatistics in
            guard let m = worker.info.featureMoments else {
                throw ServerError.missingStatistics("worker \(worker.name) registered without feature statistics")
            }
            return try FeatureStatistics(count: m.count, sum: m.sum, sumSquares: m.sumSquares)
        }
        let pooled = try FeatureStatistics.merge(parts)
        let map = pooled.standardization()
        try standardize(with: FeatureStandardization(offset: map.offset, divisor: map.divisor))
        let constant = map.divisor.filter { $0 == 1 }.count
        log.info("features standardized with statistics pooled from \(parts.count) workers (\(pooled.count) samples\(constant > 0 ? ", \(constant) features with std ≤ 1e-12 only centred" : ""))")
    }

    /// Adopts `standardization` and applies it to the server's held-out set.
    func standardize(with standardization: FeatureStandardization) throws {
        try standardization.validate(dimension: config.model.inputDimension)
        featureStandardization = standardization
        // The held-out file is read again, mapped like the workers' shards.
        guard let source = config.server.evaluation else { return }
        evaluationSet = try source.load(scaling: FeatureScaling(offset: standardization.offset, divisor: standardization.divisor,
                                                                scale: source.featureScale))
    }
}
