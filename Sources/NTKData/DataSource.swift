import Foundation
import NTKCore

/// Where a node's samples come from: a file, the split of it, and the shard of that split.
///
/// The same description serves the server's held-out set (`split: test`) and each worker's private shard
/// (`split: train` with `shard`), so all of them see one consistent split of the same file.
public struct DataSource: Sendable, Equatable {
    /// Which rows of the train/test split to use.
    public enum Split: String, CaseIterable, Sendable { case train, test, all }

    /// A CSV file of numeric columns (absolute, or resolved by the caller).
    public var file: String
    /// Label column (0-based); `nil` = the last one.
    public var labelColumn: Int? = nil
    /// Skip the first line.
    public var header = false
    /// Every feature is multiplied by this (e.g. 1/16 for digits' pixel counts).
    public var featureScale = 1.0
    /// Number of classes k (one-hot targets); `nil` = regression with one target column.
    public var classes: Int? = 10
    /// Which part of the stratified split.
    public var split: Split = .all
    /// Fraction of each class in the train part.
    public var trainFraction = 0.8
    /// Seed of the split.
    public var splitSeed: UInt64 = 0
    /// `(index, count)`: this node takes every `count`-th sample of a seeded shuffle, starting at `index` (IID).
    public var shard: (index: Int, count: Int, seed: UInt64)? = nil

    public init(file: String) { self.file = file }

    public static func == (a: DataSource, b: DataSource) -> Bool {
        a.file == b.file && a.labelColumn == b.labelColumn && a.header == b.header && a.featureScale == b.featureScale
            && a.classes == b.classes && a.split == b.split && a.trainFraction == b.trainFraction && a.splitSeed == b.splitSeed
            && a.shard?.index == b.shard?.index && a.shard?.count == b.shard?.count && a.shard?.seed == b.shard?.seed
    }

    /// Loaded samples: inputs (m × d) and targets (m × k).
    public struct Samples: Sendable {
        public let inputs: Matrix<Double>
        public let targets: Matrix<Double>
    }

    /// Reads the file and selects this node's rows.
    public func load() throws -> Samples {
        let table = try LabeledTable(csv: URL(fileURLWithPath: file), labelColumn: labelColumn, skipHeader: header)
        var rows: [Int]
        switch split {
        case .all: rows = Array(0..<table.labels.count)
        case .train, .test:
            let parts = stratifiedSplit(labels: table.labels, trainFraction: trainFraction, seed: splitSeed)
            rows = split == .train ? parts.train : parts.test
        }
        if let shard {
            guard shard.count > 0, shard.index >= 0, shard.index < shard.count else {
                throw DataError.malformed(path: file, line: 0, column: nil, reason: "shard index \(shard.index) is not in 0..<\(shard.count)")
            }
            var rng = PortableGaussian(seed: shard.seed)
            for i in stride(from: rows.count - 1, to: 0, by: -1) { rows.swapAt(i, Int(rng.nextWord() % UInt64(i + 1))) }
            rows = stride(from: shard.index, to: rows.count, by: shard.count).map { rows[$0] }.sorted()
        }
        let chosen = table.subset(rows)
        var x = chosen.features
        if featureScale != 1 { for i in x.elements.indices { x.elements[i] *= featureScale } }
        let y: Matrix<Double>
        if let k = classes {
            y = try chosen.oneHot(classCount: k)
        } else {
            y = Matrix(rows: chosen.labels.count, columns: 1, elements: chosen.labels)
        }
        return Samples(inputs: x, targets: y)
    }
}
