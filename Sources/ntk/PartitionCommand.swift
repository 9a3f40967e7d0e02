import ArgumentParser
import Foundation
import NTKData

/// `ntk partition`: deal a data set to W workers (IID or non-IID) and write one CSV per worker.
struct PartitionCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "partition",
        abstract: "Split a data set across workers (iid, dirichlet label skew, dirichlet-equal label skew at equal sizes, label shards, quantity skew): one CSV per worker plus summary.txt.",
        discussion: """
        Each worker's file has the features, then the label as the last column, unscaled, one row per \
        sample in the original order. summary.txt (also printed) has per worker: samples, label histogram \
        and the total-variation distance of its label mix to the pooled one. The same partition is what a \
        config's data.shard {index, count, seed, scheme, alpha, shards_per_worker} selects, so a run can \
        use either the files or the spec.
        """)

    @Option(help: "The data file (CSV, .npy, .npz, IDX images, LIBSVM).") var data: String
    @Option(help: "Its format: csv, npy, npz, idx, libsvm (default: from the file name).") var format: String?
    @Option(help: "IDX: the labels file.") var labelsFile: String?
    @Option(help: "CSV: a file with one target per line (then every field of --data is a feature), e.g. the diabetes data.") var targetsFile: String?
    @Option(help: ".npz: features array name.") var featuresKey = "x"
    @Option(help: ".npz: labels array name.") var labelsKey = "y"
    @Option(help: "Label column, 0-based (CSV, .npy; default: the last).") var labelColumn: Int?
    @Flag(help: "The CSV's first line is a header.") var header = false
    @Option(help: "LIBSVM: number of features (default: the largest index).") var dimension: Int?
    @Option(help: "Number of classes: labels are checked to be 0..<k; 0 = no check (label schemes group by distinct label value).") var classes: Int = 0
    @Option(help: "Number of workers.") var workers: Int
    @Option(help: "iid, dirichlet, dirichlet-equal, shards or quantity.") var scheme: String = "iid"
    @Option(help: "Dirichlet concentration (dirichlet, dirichlet-equal, quantity).") var alpha: Double = 0.5
    @Option(help: "Label shards per worker (shards).") var shardsPerWorker: Int = 2
    @Option(help: "Redraw dirichlet/quantity until every worker has at least this many samples.") var minSamples: Int = 1
    @Option(help: "Seed of the partition.") var seed: UInt64 = 0
    @Option(help: "Partition only this part of a stratified split: train, test or all.") var split: String = "all"
    @Option(help: "Fraction of each class in the train part.") var trainFraction: Double = 0.8
    @Option(help: "Seed of the split.") var splitSeed: UInt64 = 0
    @Option(help: "Directory for worker-<i>.csv and summary.txt.") var outputDir: String

    func validate() throws {
        guard workers >= 1 else { throw ValidationError("--workers must be ≥ 1") }
        guard PartitionScheme(rawValue: scheme) != nil else { throw ValidationError("--scheme must be one of \(PartitionScheme.allCases.map(\.rawValue).joined(separator: ", "))") }
        guard DataSource.Split(rawValue: split) != nil else { throw ValidationError("--split must be train, test or all") }
        if let format, DataFormat(rawValue: format) == nil { throw ValidationError("--format must be one of csv, npy, npz, idx, libsvm") }
        guard classes == 0 || classes >= 2 else { throw ValidationError("--classes must be ≥ 2, or 0 for regression") }
        guard trainFraction > 0, trainFraction < 1 else { throw ValidationError("--train-fraction must be in (0, 1)") }
        guard alpha > 0, alpha.isFinite else { throw ValidationError("--alpha must be a finite number > 0") }
    }

    func run() throws {
        var source = DataSource(file: data)
        source.format = format.flatMap(DataFormat.init(rawValue:))
        source.labelsFile = labelsFile
        source.targetsFile = targetsFile
        source.featuresKey = featuresKey
        source.labelsKey = labelsKey
        source.labelColumn = labelColumn
        source.header = header
        source.inputDimension = dimension
        source.classes = classes == 0 ? nil : classes
        source.stratify = targetsFile == nil   // labels (checked or not) are strata; real-valued targets are not
        source.split = DataSource.Split(rawValue: split)!
        source.trainFraction = trainFraction
        source.splitSeed = splitSeed
        let spec = PartitionSpec(scheme: PartitionScheme(rawValue: scheme)!, workers: workers, seed: seed, alpha: alpha,
                                 shardsPerWorker: shardsPerWorker, minimumSamples: minSamples)
        let result = try writePartition(source: source, spec: spec, outputDirectory: URL(fileURLWithPath: outputDir))
        print(result.summaryText, terminator: "")
        for f in result.files { print("wrote \(f.path)") }
    }
}
