import Foundation
import NTKCore

/// A numeric table read from comma-separated text: features and an integer or real label column.
public struct LabeledTable: Sendable {
    /// Feature rows, m × d.
    public var features: Matrix<Double>
    /// One label per row (a class index for classification, a value for regression).
    public var labels: [Double]
    /// The file the rows came from (for error messages).
    public var source: String = ""
    /// Where each row was found: its line (text formats) or its 1-based sample number (binary formats).
    public var rowLines: [Int] = []
    /// The label's 1-based column in the file (text formats), if it has one.
    public var labelColumnNumber: Int? = nil

    /// A table from parts; `rowLines` defaults to 1, 2, … (sample numbers).
    public init(features: Matrix<Double>, labels: [Double], source: String = "", rowLines: [Int]? = nil, labelColumnNumber: Int? = nil) {
        precondition(features.rows == labels.count, "one label per row")
        self.features = features
        self.labels = labels
        self.source = source
        self.rowLines = rowLines ?? Array(1..<(labels.count + 1))
        self.labelColumnNumber = labelColumnNumber
    }

    /// The line (or sample number) of row `i`.
    public func line(ofRow i: Int) -> Int { i < rowLines.count ? rowLines[i] : i + 1 }

    /// Reads a CSV file (gzip allowed) with numeric fields only. `labelColumn` (default: last) is split off;
    /// `skipHeader` drops the first line. Fields are separated by commas, or by blanks when the first data
    /// line has no comma. Errors name the file, line and column.
    public init(csv url: URL, labelColumn: Int? = nil, skipHeader: Bool = false) throws {
        let table = try NumericText(url: url, skipHeader: skipHeader)
        let labelIndex = labelColumn ?? (table.width - 1)
        guard labelIndex >= 0, labelIndex < table.width else {
            throw DataError.malformed(path: url.path, line: table.lines[0], column: labelIndex + 1,
                                      reason: "label column \(labelIndex + 1) does not exist (\(table.width) fields)")
        }
        let (features, labels) = table.splittingColumn(labelIndex)
        self.init(features: features, labels: labels, source: url.path, rowLines: table.lines, labelColumnNumber: labelIndex + 1)
    }

    /// Features from one file and targets from another, row for row (e.g. the diabetes data set): every field
    /// of `featuresURL` is a feature; `targetsURL` has one number per line.
    public init(csvFeatures featuresURL: URL, targets targetsURL: URL, skipHeader: Bool = false) throws {
        let features = try NumericText(url: featuresURL, skipHeader: skipHeader)
        let targets = try NumericText(url: targetsURL, skipHeader: skipHeader)
        guard targets.width == 1 else {
            throw DataError.malformed(path: targetsURL.path, line: targets.lines[0], column: 2,
                                      reason: "a targets file has one number per line, this one has \(targets.width)")
        }
        guard targets.rowCount == features.rowCount else {
            throw DataError.malformed(path: targetsURL.path, line: targets.lines.last ?? 0, column: nil,
                                      reason: "\(targets.rowCount) targets for the \(features.rowCount) rows of \(featuresURL.path)")
        }
        self.init(features: Matrix(rows: features.rowCount, columns: features.width, elements: features.values),
                  labels: targets.values, source: featuresURL.path, rowLines: features.lines, labelColumnNumber: nil)
    }

    /// Rows at the given indices.
    public func subset(_ indices: [Int]) -> LabeledTable {
        var copy = self
        let d = features.columns
        var elements: [Double] = []
        elements.reserveCapacity(indices.count * d)
        for i in indices { elements += features.elements[(i * d)..<((i + 1) * d)] }
        copy.features = Matrix(rows: indices.count, columns: d, elements: elements)
        copy.labels = indices.map { labels[$0] }
        copy.rowLines = indices.map { line(ofRow: $0) }
        return copy
    }

    /// One-hot targets for `classCount` classes (m × k); throws for a label that is not a class index.
    public func oneHot(classCount: Int) throws -> Matrix<Double> {
        var y = Matrix<Double>(rows: labels.count, columns: classCount)
        for (i, v) in labels.enumerated() {
            let c = v.isFinite && abs(v) < 1e15 ? Int(v) : -1
            guard c >= 0, Double(c) == v, c < classCount else {
                throw DataError.malformed(path: source.isEmpty ? "labels" : source, line: line(ofRow: i), column: labelColumnNumber,
                                          reason: "label \(v) is not a class index in 0..<\(classCount)")
            }
            y[i, c] = 1
        }
        return y
    }
}

/// A table of numbers read from delimited text: the rows' values (row-major), their width and lines.
struct NumericText {
    var values: [Double] = []
    var width = 0
    /// The 1-based line of each row.
    var lines: [Int] = []
    var rowCount: Int { lines.count }

    /// Parses `url` (gzip allowed): commas, or blanks/tabs when the first data line has no comma; blank lines
    /// skipped; every field a finite number; every row as wide as the first. Errors name file, line and column.
    init(url: URL, skipHeader: Bool) throws {
        let path = url.path
        // Bytes, not `String`: Swift's grapheme-aware splitting and trimming took ~10 s for MNIST's 3.9 M fields.
        let bytes = [UInt8](try FileContents.read(url))
        guard String(validating: bytes, as: UTF8.self) != nil else {
            throw DataError.malformed(path: path, line: 0, column: nil, reason: "not UTF-8 text")
        }
        try bytes.withUnsafeBufferPointer { try parse($0, path: path, skipHeader: skipHeader) }
    }

    private mutating func parse(_ text: UnsafeBufferPointer<UInt8>, path: String, skipHeader: Bool) throws {
        let newline = UInt8(ascii: "\n"), comma = UInt8(ascii: ","), space = UInt8(ascii: " "), tab = UInt8(ascii: "\t")
        func isBlank(_ b: UInt8) -> Bool { b == space || b == tab || b == UInt8(ascii: "\r") || b == 0x0b || b == 0x0c }
        var separatedByComma: Bool? = nil
        var lineNumber = 0
        var lineStart = 0
        var field = [CChar](repeating: 0, count: 128)
        var fields: [Range<Int>] = []
        while lineStart <= text.count {
            var lineEnd = lineStart
            while lineEnd < text.count && text[lineEnd] != newline { lineEnd += 1 }
            defer { lineStart = lineEnd + 1 }
            lineNumber += 1
            if skipHeader && lineNumber == 1 { continue }
            var a = lineStart, b = lineEnd
            while a < b && isBlank(text[a]) { a += 1 }
            while b > a && isBlank(text[b - 1]) { b -= 1 }
            if a == b { continue }
            if separatedByComma == nil { separatedByComma = text[a..<b].contains(comma) }
            fields.removeAll(keepingCapacity: true)
            var f = a
            if separatedByComma! {
                for i in a..<b where text[i] == comma {
                    fields.append(f..<i)
                    f = i + 1
                }
                fields.append(f..<b)
            } else {
                while f < b {
                    var e = f
                    while e < b && text[e] != space && text[e] != tab { e += 1 }
                    fields.append(f..<e)
                    f = e
                    while f < b && (text[f] == space || text[f] == tab) { f += 1 }
                }
            }
            if !lines.isEmpty, fields.count != width {
                throw DataError.malformed(path: path, line: lineNumber, column: min(fields.count, width) + 1,
                                          reason: "row has \(fields.count) fields, earlier rows have \(width)")
            }
            width = fields.count
            for (c, r) in fields.enumerated() {
                var lo = r.lowerBound, hi = r.upperBound
                while lo < hi && isBlank(text[lo]) { lo += 1 }
                while hi > lo && isBlank(text[hi - 1]) { hi -= 1 }
                let n = hi - lo
                var value: Double? = nil
                if n > 0 && n < field.count {
                    value = field.withUnsafeMutableBufferPointer { buffer -> Double? in
                        for k in 0..<n { buffer[k] = CChar(bitPattern: text[lo + k]) }
                        buffer[n] = 0
                        var end: UnsafeMutablePointer<CChar>? = nil
                        let v = strtod(buffer.baseAddress!, &end)
                        return end == buffer.baseAddress! + n ? v : nil
                    }
                }
                guard let v = value, v.isFinite else {
                    let text = String(decoding: UnsafeBufferPointer(rebasing: text[r]), as: UTF8.self)
                    throw DataError.malformed(path: path, line: lineNumber, column: c + 1, reason: "\"\(text)\" is not a finite number")
                }
                values.append(v)
            }
            lines.append(lineNumber)
        }
        guard !lines.isEmpty else { throw DataError.malformed(path: path, line: lineNumber, column: nil, reason: "no data rows") }
    }

    /// The other columns as a matrix, and column `j` as a list.
    func splittingColumn(_ j: Int) -> (Matrix<Double>, [Double]) {
        var rest: [Double] = [], column: [Double] = []
        rest.reserveCapacity(rowCount * (width - 1))
        column.reserveCapacity(rowCount)
        for i in 0..<rowCount {
            let row = values[(i * width)..<((i + 1) * width)]
            column.append(row[row.startIndex + j])
            rest += row[row.startIndex..<(row.startIndex + j)]
            rest += row[(row.startIndex + j + 1)...]
        }
        return (Matrix(rows: rowCount, columns: width - 1, elements: rest), column)
    }
}

/// A stratified split: for each class, the first `trainFraction` of a seeded shuffle goes to training.
public func stratifiedSplit(labels: [Double], trainFraction: Double, seed: UInt64) -> (train: [Int], test: [Int]) {
    var rng = PortableGaussian(seed: seed)
    var byClass: [Double: [Int]] = [:]
    for (i, y) in labels.enumerated() { byClass[y, default: []].append(i) }
    var train: [Int] = [], test: [Int] = []
    for key in byClass.keys.sorted() {
        var idx = byClass[key]!
        // Fisher–Yates with the portable generator: the same split on every machine.
        for i in stride(from: idx.count - 1, to: 0, by: -1) {
            let j = Int(rng.nextWord() % UInt64(i + 1))
            idx.swapAt(i, j)
        }
        let cut = Int((Double(idx.count) * trainFraction).rounded())
        train += idx[..<cut]
        test += idx[cut...]
    }
    return (train.sorted(), test.sorted())
}

/// A seeded split without strata (regression): the first `trainFraction` of a shuffle goes to training.
public func randomSplit(count: Int, trainFraction: Double, seed: UInt64) -> (train: [Int], test: [Int]) {
    stratifiedSplit(labels: Array(repeating: 0, count: count), trainFraction: trainFraction, seed: seed)
}

/// Bad or unreadable data, with the place it was found: `path:line:column: reason`. For binary formats
/// (`.npy`, `.npz`, IDX) the "line" is the 1-based sample number; line 0 means the file as a whole.
public enum DataError: Error, CustomStringConvertible {
    case unreadable(path: String, reason: String)
    case malformed(path: String, line: Int, column: Int?, reason: String)

    public var description: String {
        switch self {
        case .unreadable(let path, let reason): return "\(path): cannot read: \(reason)"
        case .malformed(let path, let line, let column, let reason):
            // Line 0: the problem is with the file (or a setting) as a whole, not one line.
            if line <= 0 { return "\(path): \(column.map { "column \($0): " } ?? "")\(reason)" }
            return "\(path):\(line)\(column.map { ":\($0)" } ?? ""): \(reason)"
        }
    }
}
