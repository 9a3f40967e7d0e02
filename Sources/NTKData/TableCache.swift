import Foundation

/// Files read once per process: a worker process hosting hundreds of clients of one data file parses it
/// once, not once per client. Each client still selects (and copies) only its own rows.
public final class TableCache: @unchecked Sendable {
    private let lock = NSLock()
    private var tables: [String: LabeledTable] = [:]

    public init() {}

    /// The whole file of `source`, unscaled (read on first use; later calls share it).
    public func table(for source: DataSource) throws -> LabeledTable {
        // Everything that changes what `loadTable` reads or accepts.
        let key = [source.file, source.format?.rawValue ?? "", source.labelsFile ?? "", source.targetsFile ?? "", "\(source.header)",
                   source.labelColumn.map(String.init) ?? "", source.featuresKey, source.labelsKey,
                   source.inputDimension.map(String.init) ?? "", source.classes.map(String.init) ?? ""].joined(separator: "\u{1f}")
        lock.lock()
        defer { lock.unlock() }
        if let table = tables[key] { return table }
        let table = try source.loadTable()
        tables[key] = table
        return table
    }
}
