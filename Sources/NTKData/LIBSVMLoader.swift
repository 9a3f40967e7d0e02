import Foundation
import NTKCore

extension LabeledTable {
    /// Reads LIBSVM/SVMlight text: `label idx:value idx:value …` per line, indices 1-based and increasing,
    /// absent features 0, `#` starts a comment. `dimension` fixes the number of features (an index above it is
    /// an error); `nil` infers it from the largest index. Columns in errors count whitespace-separated fields
    /// (1 = the label).
    public init(libsvm url: URL, dimension: Int? = nil) throws {
        let text = try FileContents.text(url)
        let path = url.path
        var labels: [Double] = []
        var lines: [Int] = []
        var entries: [[(Int, Double)]] = []
        var largest = 0
        var lineNumber = 0
        for raw in text.split(separator: "\n", omittingEmptySubsequences: false) {
            lineNumber += 1
            let content = raw.split(separator: "#", maxSplits: 1, omittingEmptySubsequences: false).first ?? ""
            let fields = content.split(whereSeparator: { $0 == " " || $0 == "\t" || $0 == "\r" })
            if fields.isEmpty { continue }
            guard let y = Double(fields[0]), y.isFinite else {
                throw DataError.malformed(path: path, line: lineNumber, column: 1, reason: "label \"\(fields[0])\" is not a finite number")
            }
            var row: [(Int, Double)] = []
            var previous = 0
            for (f, field) in fields.dropFirst().enumerated() {
                let column = f + 2
                let parts = field.split(separator: ":", omittingEmptySubsequences: false)
                guard parts.count == 2, let index = Int(parts[0]) else {
                    throw DataError.malformed(path: path, line: lineNumber, column: column, reason: "\"\(field)\" is not index:value")
                }
                guard index >= 1 else {
                    throw DataError.malformed(path: path, line: lineNumber, column: column, reason: "feature index \(index) is not ≥ 1 (indices are 1-based)")
                }
                guard index > previous else {
                    throw DataError.malformed(path: path, line: lineNumber, column: column, reason: "feature index \(index) does not increase (previous \(previous))")
                }
                if let dimension, index > dimension {
                    throw DataError.malformed(path: path, line: lineNumber, column: column, reason: "feature index \(index) exceeds the input dimension \(dimension)")
                }
                guard let v = Double(parts[1]), v.isFinite else {
                    throw DataError.malformed(path: path, line: lineNumber, column: column, reason: "value \"\(parts[1])\" is not a finite number")
                }
                previous = index
                row.append((index, v))
            }
            largest = max(largest, previous)
            labels.append(y)
            lines.append(lineNumber)
            entries.append(row)
        }
        guard !labels.isEmpty else { throw DataError.malformed(path: path, line: lineNumber, column: nil, reason: "no data rows") }
        let d = dimension ?? largest
        guard d >= 1 else { throw DataError.malformed(path: path, line: lines[0], column: nil, reason: "no features in any row") }
        var x = Matrix<Double>(rows: labels.count, columns: d)
        for (i, row) in entries.enumerated() { for (index, v) in row { x.elements[i * d + index - 1] = v } }
        self.init(features: x, labels: labels, source: path, rowLines: lines, labelColumnNumber: 1)
    }
}
