import Foundation
import NTKCore

extension LabeledTable {
    /// Reads a `.npy` file holding one 2-D array (m × (d+1)): `labelColumn` (0-based, default the last) is
    /// the label, the rest are features. Higher ranks fold trailing axes into columns.
    /// Errors name the file, the sample (as the line) and the column.
    public init(npy url: URL, labelColumn: Int? = nil) throws {
        let array: NumpyArray
        do { array = try NumpyArray(contentsOf: url) } catch {
            throw DataError.unreadable(path: url.path, reason: "\(error)")
        }
        guard array.shape.count >= 2, array.shape[0] > 0 else {
            throw DataError.malformed(path: url.path, line: 0, column: nil,
                                      reason: "expected a 2-D array (samples × columns, label included), got shape \(array.shape)")
        }
        let whole: Matrix<Double> = try array.matrix(as: Double.self)
        let labelIndex = labelColumn ?? (whole.columns - 1)
        guard labelIndex >= 0, labelIndex < whole.columns, whole.columns >= 2 else {
            throw DataError.malformed(path: url.path, line: 1, column: labelIndex + 1,
                                      reason: "label column \(labelIndex + 1) does not exist (\(whole.columns) columns)")
        }
        var features: [Double] = []
        features.reserveCapacity(whole.rows * (whole.columns - 1))
        var labels: [Double] = []
        for i in 0..<whole.rows {
            for c in 0..<whole.columns {
                let v = whole.elements[i * whole.columns + c]
                guard v.isFinite else {
                    throw DataError.malformed(path: url.path, line: i + 1, column: c + 1, reason: "sample \(i + 1): \(v) is not a finite number")
                }
                if c == labelIndex { labels.append(v) } else { features.append(v) }
            }
        }
        self.init(features: Matrix(rows: whole.rows, columns: whole.columns - 1, elements: features), labels: labels,
                  source: url.path, labelColumnNumber: labelIndex + 1)
    }

    /// Reads a `.npz` archive with a features array (`featuresKey`, m × d, or m × … folded, e.g. images)
    /// and a labels array (`labelsKey`, m or m × 1). Errors name the file and array, the sample and the column.
    public init(npz url: URL, featuresKey: String = "x", labelsKey: String = "y") throws {
        let archive: NumpyArchive
        do { archive = try NumpyArchive(contentsOf: url) } catch {
            throw DataError.unreadable(path: url.path, reason: "\(error)")
        }
        guard let x = archive.arrays[featuresKey] else {
            throw DataError.malformed(path: url.path, line: 0, column: nil,
                                      reason: "no array '\(featuresKey)' (has: \(archive.arrays.keys.sorted().joined(separator: ", ")))")
        }
        guard let y = archive.arrays[labelsKey] else {
            throw DataError.malformed(path: url.path, line: 0, column: nil,
                                      reason: "no array '\(labelsKey)' (has: \(archive.arrays.keys.sorted().joined(separator: ", ")))")
        }
        guard x.shape.count >= 1, x.shape[0] > 0 else {
            throw DataError.malformed(path: "\(url.path)[\(featuresKey)]", line: 0, column: nil, reason: "expected samples × features, got shape \(x.shape)")
        }
        guard y.shape.count >= 1, y.shape[0] == x.shape[0], y.count == y.shape[0] else {
            throw DataError.malformed(path: "\(url.path)[\(labelsKey)]", line: 0, column: nil,
                                      reason: "expected \(x.shape[0]) labels (shape (\(x.shape[0]),) or (\(x.shape[0]), 1)), got shape \(y.shape)")
        }
        let features: Matrix<Double> = x.shape.count == 1
            ? Matrix(rows: x.shape[0], columns: 1, elements: x.values(as: Double.self))
            : try x.matrix(as: Double.self)
        for (n, v) in features.elements.enumerated() where !v.isFinite {
            throw DataError.malformed(path: "\(url.path)[\(featuresKey)]", line: n / features.columns + 1, column: n % features.columns + 1,
                                      reason: "sample \(n / features.columns + 1): \(v) is not a finite number")
        }
        let labels = y.values(as: Double.self)
        for (i, v) in labels.enumerated() where !v.isFinite {
            throw DataError.malformed(path: "\(url.path)[\(labelsKey)]", line: i + 1, column: 1, reason: "sample \(i + 1): label \(v) is not a finite number")
        }
        self.init(features: features, labels: labels, source: "\(url.path)[\(labelsKey)]", labelColumnNumber: 1)
    }
}
