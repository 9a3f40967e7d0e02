import Foundation
import NTKCore

/// The file formats a `DataSource` reads.
public enum DataFormat: String, CaseIterable, Sendable {
    /// Comma-separated numbers, optional header, label column chosen (default: last).
    case csv
    /// One `.npy` 2-D array, label column chosen (default: last).
    case npy
    /// `.npz` with a features array and a labels array (`features_key`, `labels_key`).
    case npz
    /// IDX (MNIST): an images file and a labels file (`labels_file`).
    case idx
    /// LIBSVM text `label idx:value …`, 1-based indices.
    case libsvm

    /// The format a file name suggests (a `.gz` suffix aside): `.npy`, `.npz`, `.svm`/`.libsvm`/`.svmlight`,
    /// `idx` or `-ubyte` in the name; else CSV.
    public static func inferred(from path: String) -> DataFormat {
        var name = URL(fileURLWithPath: path).lastPathComponent.lowercased()
        if name.hasSuffix(".gz") { name.removeLast(3) }
        if name.hasSuffix(".npy") { return .npy }
        if name.hasSuffix(".npz") { return .npz }
        if name.hasSuffix(".svm") || name.hasSuffix(".libsvm") || name.hasSuffix(".svmlight") { return .libsvm }
        if name.contains("-ubyte") || name.contains(".idx") || name.hasSuffix("idx") { return .idx }
        return .csv
    }
}

/// Which of a partition's shards a node takes: worker `index` of `count` under a partition scheme.
public struct ShardSpec: Sendable, Equatable {
    public var index: Int
    public var count: Int
    public var seed: UInt64
    public var scheme: PartitionScheme
    public var alpha: Double
    public var shardsPerWorker: Int
    public var minimumSamples: Int

    public init(index: Int, count: Int, seed: UInt64 = 0, scheme: PartitionScheme = .iid, alpha: Double = 0.5,
                shardsPerWorker: Int = 2, minimumSamples: Int = 1) {
        self.index = index
        self.count = count
        self.seed = seed
        self.scheme = scheme
        self.alpha = alpha
        self.shardsPerWorker = shardsPerWorker
        self.minimumSamples = minimumSamples
    }

    /// The partition of all `count` workers.
    public var partition: PartitionSpec {
        PartitionSpec(scheme: scheme, workers: count, seed: seed, alpha: alpha, shardsPerWorker: shardsPerWorker, minimumSamples: minimumSamples)
    }
}

/// How features are standardized across a federation.
public enum Standardization: String, CaseIterable, Sendable {
    /// Only the constants of the configuration (`feature_offset`, `feature_std`, `feature_scale`).
    case none
    /// `(x − mean)/std` with the pooled mean and standard deviation of every worker's training shard, which the
    /// server merges from per-worker counts, sums and sums of squares (no row leaves a worker).
    case federated
}

/// Where a node's samples come from: a file, the split of it, and the shard of that split.
///
/// The same description serves the server's held-out set (`split: test`) and each worker's private shard
/// (`split: train` with `shard`), so all of them see one consistent split of the same file. Every worker
/// computes the whole (seeded, platform-independent) partition and keeps its own part.
public struct DataSource: Sendable, Equatable {
    /// Which rows of the train/test split to use.
    public enum Split: String, CaseIterable, Sendable { case train, test, all }

    /// The data file (absolute, or resolved by the caller).
    public var file: String
    /// The file format; `nil` = from the file name (`DataFormat.inferred`).
    public var format: DataFormat? = nil
    /// IDX: the labels file (the images are `file`).
    public var labelsFile: String? = nil
    /// CSV: a file with one target per line, row for row with `file`, whose fields are then all features.
    public var targetsFile: String? = nil
    /// `.npz`: names of the features and labels arrays.
    public var featuresKey = "x"
    public var labelsKey = "y"
    /// Label column (0-based); `nil` = the last one (CSV, `.npy`).
    public var labelColumn: Int? = nil
    /// Skip the first line (CSV).
    public var header = false
    /// The number of input features the model expects (LIBSVM: the dimension); `nil` = whatever the file has.
    public var inputDimension: Int? = nil
    /// Every feature is multiplied by this (e.g. 1/16 for digits' pixel counts), after offset and std.
    public var featureScale = 1.0
    /// Subtracted from the features first: none, one value for all, or one per feature (e.g. pooled means).
    public var featureOffset: [Double] = []
    /// The centred features are divided by this: none, one value, or one per feature (e.g. pooled std).
    public var featureStd: [Double] = []
    /// Whether the pooled statistics of the federation's training shards standardize the features.
    public var standardization: Standardization = .none
    /// Number of classes k (one-hot targets); `nil` = regression with one target column.
    public var classes: Int? = 10
    /// Which part of the stratified split.
    public var split: Split = .all
    /// Whether the split keeps each label's fraction; `nil`: for classification yes, for regression no.
    public var stratify: Bool? = nil
    /// Fraction of each class in the train part.
    public var trainFraction = 0.8
    /// Seed of the split.
    public var splitSeed: UInt64 = 0
    /// This node's shard of the split; `nil` = all of it.
    public var shard: ShardSpec? = nil
    /// A split of the shard itself (after `shard`): a worker's held-out samples from its own distribution.
    public var shardSplit: ShardSplit? = nil

    public init(file: String) { self.file = file }

    /// Which part of a node's shard to keep: the shard's rows split (stratified for classification, seeded)
    /// into a training part and a local held-out part of `heldOutFraction`. The two parts are disjoint.
    public struct ShardSplit: Sendable, Equatable {
        public enum Part: String, Sendable { case train, heldOut = "held_out" }
        public var part: Part
        public var heldOutFraction: Double
        public var seed: UInt64
        public init(part: Part, heldOutFraction: Double, seed: UInt64 = 0) {
            self.part = part
            self.heldOutFraction = heldOutFraction
            self.seed = seed
        }
    }

    /// Loaded samples: inputs (m × d) and targets (m × k).
    public struct Samples: Sendable {
        public let inputs: Matrix<Double>
        public let targets: Matrix<Double>
        public init(inputs: Matrix<Double>, targets: Matrix<Double>) {
            self.inputs = inputs
            self.targets = targets
        }
    }

    /// The affine feature map of this source.
    public var scaling: FeatureScaling { FeatureScaling(offset: featureOffset, divisor: featureStd, scale: featureScale) }

    /// The whole file, unscaled.
    public func loadTable() throws -> LabeledTable {
        let url = URL(fileURLWithPath: file)
        let table: LabeledTable
        switch format ?? DataFormat.inferred(from: file) {
        case .csv:
            if let targetsFile {
                table = try LabeledTable(csvFeatures: url, targets: URL(fileURLWithPath: targetsFile), skipHeader: header)
            } else {
                table = try LabeledTable(csv: url, labelColumn: labelColumn, skipHeader: header)
            }
        case .npy: table = try LabeledTable(npy: url, labelColumn: labelColumn)
        case .npz: table = try LabeledTable(npz: url, featuresKey: featuresKey, labelsKey: labelsKey)
        case .libsvm: table = try LabeledTable(libsvm: url, dimension: inputDimension)
        case .idx:
            guard let labelsFile else {
                throw DataError.malformed(path: file, line: 0, column: nil, reason: "an IDX images file needs 'labels_file' (the IDX labels)")
            }
            table = try LabeledTable(idxImages: url, labels: URL(fileURLWithPath: labelsFile))
        }
        if let d = inputDimension, table.features.columns != d {
            throw DataError.malformed(path: file, line: table.line(ofRow: 0), column: nil,
                                      reason: "rows have \(table.features.columns) input features, the model expects \(d)")
        }
        if let k = classes {
            for (i, v) in table.labels.enumerated() where !(v >= 0 && v < Double(k) && v == v.rounded()) {
                throw DataError.malformed(path: table.source, line: table.line(ofRow: i), column: table.labelColumnNumber,
                                          reason: "label \(formatLabel(v)) is not a class index in 0..<\(k)")
            }
        }
        return table
    }

    /// The rows of `table` this node takes: the split, then the shard, then the shard's own split (ascending).
    public func selectedRows(of table: LabeledTable) throws -> [Int] {
        var rows: [Int]
        switch split {
        case .all: rows = Array(0..<table.labels.count)
        case .train, .test:
            // Regression targets are not classes: a plain seeded shuffle splits them.
            let parts = !(stratify ?? (classes != nil)) ? randomSplit(count: table.labels.count, trainFraction: trainFraction, seed: splitSeed)
                                       : stratifiedSplit(labels: table.labels, trainFraction: trainFraction, seed: splitSeed)
            rows = split == .train ? parts.train : parts.test
        }
        if let shard {
            guard shard.count > 0, shard.index >= 0, shard.index < shard.count else {
                throw DataError.malformed(path: file, line: 0, column: nil, reason: "shard index \(shard.index) is not in 0..<\(shard.count)")
            }
            if classes == nil && shard.scheme.skewsLabels {
                throw DataError.malformed(path: file, line: 0, column: nil, reason: "a '\(shard.scheme.rawValue)' label partition needs class labels ('classes: k')")
            }
            let parts: [[Int]]
            do { parts = try shard.partition.assign(labels: rows.map { table.labels[$0] }) } catch {
                throw DataError.malformed(path: file, line: 0, column: nil, reason: "\(error)")
            }
            rows = parts[shard.index].map { rows[$0] }
        }
        if let s = shardSplit {
            guard s.heldOutFraction > 0, s.heldOutFraction < 1 else {
                throw DataError.malformed(path: file, line: 0, column: nil, reason: "the shard's held-out fraction \(s.heldOutFraction) is not in (0, 1)")
            }
            let labels = rows.map { table.labels[$0] }
            let parts = !(stratify ?? (classes != nil)) ? randomSplit(count: labels.count, trainFraction: 1 - s.heldOutFraction, seed: s.seed)
                                                        : stratifiedSplit(labels: labels, trainFraction: 1 - s.heldOutFraction, seed: s.seed)
            rows = (s.part == .train ? parts.train : parts.test).map { rows[$0] }
        }
        return rows
    }

    /// Reads the file and selects this node's rows, mapped by `scaling` (default: the configured constants;
    /// federated standardization passes the pooled statistics), with one-hot (classification) or real targets.
    /// With `cache`, the file is parsed once per process however many clients read it.
    public func load(scaling: FeatureScaling? = nil, cache: TableCache? = nil) throws -> Samples {
        let table = try cache?.table(for: self) ?? loadTable()
        let chosen = table.subset(try selectedRows(of: table))
        var x = chosen.features
        try (scaling ?? self.scaling).apply(to: &x, path: file)
        let y: Matrix<Double>
        if let k = classes {
            y = try chosen.oneHot(classCount: k)
        } else {
            y = Matrix(rows: chosen.labels.count, columns: 1, elements: chosen.labels)
        }
        return Samples(inputs: x, targets: y)
    }
}
