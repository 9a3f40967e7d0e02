import Foundation
import NTKCore

/// What `writePartition` wrote.
public struct WrittenPartition: Sendable {
    public let files: [URL]
    public let summary: PartitionSummary
    public let summaryText: String
}

/// Partitions `source`'s split (its `shard` is ignored) and writes `worker-<i>.csv` (features, then the label
/// last; unscaled) for each worker and `summary.txt` into `outputDirectory`. Label schemes group samples by
/// distinct label value; with `classes` unset, labels are not checked against 0..<k.
public func writePartition(source: DataSource, spec: PartitionSpec, outputDirectory: URL) throws -> WrittenPartition {
    var whole = source
    whole.shard = nil
    let table = try whole.loadTable()
    let rows = try whole.selectedRows(of: table)
    let labels = rows.map { table.labels[$0] }
    let parts = try spec.assign(labels: labels)
    let summary = PartitionSummary(labels: labels, parts: parts)
    try FileManager.default.createDirectory(at: outputDirectory, withIntermediateDirectories: true)
    let digits = String(spec.workers - 1).count
    var files: [URL] = []
    let d = table.features.columns
    for (w, part) in parts.enumerated() {
        var text = ""
        for p in part {
            let i = rows[p]
            for j in 0..<d { text += formatLabel(table.features.elements[i * d + j]); text += "," }
            text += formatLabel(table.labels[i]); text += "\n"
        }
        let name = "worker-" + String(repeating: "0", count: digits - String(w).count) + String(w) + ".csv"
        let url = outputDirectory.appendingPathComponent(name)
        try Data(text.utf8).write(to: url, options: .atomic)
        files.append(url)
    }
    var header = "# \(source.file)"
    if source.split != .all { header += " (split \(source.split.rawValue), train fraction \(source.trainFraction), split seed \(source.splitSeed))" }
    header += "\n# \(spec.workers) workers, scheme \(spec.scheme.rawValue), seed \(spec.seed)"
    if spec.scheme == .dirichlet || spec.scheme == .dirichletEqual || spec.scheme == .quantity { header += ", alpha \(spec.alpha)" }
    if spec.scheme == .shards { header += ", \(spec.shardsPerWorker) shards per worker" }
    let text = header + "\n" + summary.table
    try Data(text.utf8).write(to: outputDirectory.appendingPathComponent("summary.txt"), options: .atomic)
    return WrittenPartition(files: files, summary: summary, summaryText: text)
}
