import ArgumentParser
import Foundation
import NTKCore

/// A problem with a file or a value the user gave, said in terms of the flag and the file.
/// (Thrown from `run()`: ArgumentParser prints "Error: <description>" and exits with status 1.)
struct InputError: Error, CustomStringConvertible {
    let description: String
    init(_ description: String) { self.description = description }
}

/// How CSV files are read (shared by every command that reads data files).
struct CSVOptions: ParsableArguments {
    @Flag(help: "CSV files start with a header line, which is skipped. (Without it every line must be numeric.)")
    var header = false
}

/// Reading the tool's input files: feature matrices, labels, weights; and parsing value lists.
///
/// Formats: `.npy` (NumPy, float32/float64/int) and `.csv` (numbers separated by commas, one sample
/// per line). Every error names the flag and the file, and says what was expected.
enum InputLoading {
    // MARK: Matrices

    /// A numeric matrix from a `.npy` or `.csv` file. A 1-D `.npy` array is read as one column when
    /// `allowVector` (labels), and refused otherwise (inputs must say how many features they have).
    static func readMatrix(path: String, flag: String, header: Bool, allowVector: Bool = false) throws -> Matrix<Double> {
        guard FileManager.default.fileExists(atPath: path) else {
            throw InputError("\(flag) \(path): no such file")
        }
        switch URL(fileURLWithPath: path).pathExtension.lowercased() {
        case "npy":
            let array: NumpyArray
            do { array = try NumpyArray(contentsOf: URL(fileURLWithPath: path)) } catch {
                throw InputError("\(flag) \(path): \(reason(error, path: path))")
            }
            guard array.shape.count == 2 || (allowVector && array.shape.count == 1) else {
                throw InputError("\(flag) \(path): array has shape \(array.shape); expected 2-D (samples × columns)\(allowVector ? " or 1-D" : "")")
            }
            let matrix: Matrix<Double> = try array.matrix()
            guard matrix.isFinite else { throw InputError("\(flag) \(path): holds NaN or infinite values") }
            return matrix
        case "csv":
            return try readCSV(path: path, flag: flag, header: header)
        default:
            throw InputError("\(flag) \(path): unknown file type; expected a .npy or .csv file")
        }
    }

    /// Every field of a CSV file as a number; all rows must have the same number of fields.
    private static func readCSV(path: String, flag: String, header: Bool) throws -> Matrix<Double> {
        let text: String
        do { text = try String(contentsOfFile: path, encoding: .utf8) } catch {
            throw InputError("\(flag) \(path): cannot read as UTF-8 text (\(error.localizedDescription))")
        }
        var values: [Double] = []
        var columns: Int? = nil
        var rows = 0
        for (index, line) in text.split(separator: "\n", omittingEmptySubsequences: false).enumerated() {
            if header && index == 0 { continue }
            let trimmed = line.trimmingCharacters(in: .whitespacesAndNewlines)
            if trimmed.isEmpty { continue }
            let fields = trimmed.split(separator: ",", omittingEmptySubsequences: false)
            if let columns, fields.count != columns {
                throw InputError("\(flag) \(path), line \(index + 1): \(fields.count) fields, earlier lines have \(columns)")
            }
            columns = fields.count
            for (c, field) in fields.enumerated() {
                let cleaned = field.trimmingCharacters(in: .whitespaces)
                guard let v = Double(cleaned), v.isFinite else {
                    let hint = (index == 0 && !header) ? " (a header line? pass --header)" : ""
                    throw InputError("\(flag) \(path), line \(index + 1), column \(c + 1): \"\(cleaned)\" is not a finite number\(hint)")
                }
                values.append(v)
            }
            rows += 1
        }
        guard let columns, rows > 0 else { throw InputError("\(flag) \(path): no data lines") }
        return Matrix(rows: rows, columns: columns, elements: values)
    }

    /// Network inputs: a samples × features matrix with exactly the features the network expects.
    static func readInputs(path: String, flag: String, header: Bool, features: Int) throws -> Matrix<Double> {
        let x = try readMatrix(path: path, flag: flag, header: header)
        guard x.rows > 0 else { throw InputError("\(flag) \(path): no samples") }
        guard x.columns == features else {
            throw InputError("\(flag) \(path): \(x.rows)×\(x.columns), i.e. \(x.columns) features per sample, but the network's input width n_0 is \(features)")
        }
        return x
    }

    /// Training or test targets, m × k, from a label file.
    ///
    /// - one column (1-D `.npy`, or a one-column file) and k > 1 outputs: class indices 0…k−1, turned into
    ///   one-hot rows (`classes`, when given, must equal k: it is a check);
    /// - k columns: regression targets (or already one-hot rows), used as they are.
    static func readTargets(path: String, flag: String, header: Bool, samples: Int, outputs k: Int,
                            classes: Int?) throws -> Matrix<Double> {
        let raw = try readMatrix(path: path, flag: flag, header: header, allowVector: true)
        guard raw.rows == samples else {
            throw InputError("\(flag) \(path): \(raw.rows) labels for \(samples) input samples")
        }
        if let classes, classes != k {
            throw InputError("--classes \(classes): the network has k = \(k) outputs; one-hot targets need as many classes as outputs")
        }
        if raw.columns == k { return raw }
        guard raw.columns == 1 else {
            throw InputError("\(flag) \(path): \(raw.columns) columns; expected 1 (class indices) or k = \(k) (one target per output)")
        }
        var y = Matrix<Double>(rows: samples, columns: k)
        for i in 0..<samples {
            let v = raw.elements[i]
            guard let c = Int(exactly: v), c >= 0, c < k else {
                throw InputError("\(flag) \(path), sample \(i + 1): label \(v) is not a class index in 0…\(k - 1)")
            }
            y[i, c] = 1
        }
        return y
    }

    // MARK: Weights

    /// An `.npz` archive (weights).
    static func readArchive(path: String, flag: String) throws -> NumpyArchive {
        guard FileManager.default.fileExists(atPath: path) else { throw InputError("\(flag) \(path): no such file") }
        do { return try NumpyArchive(contentsOf: URL(fileURLWithPath: path)) } catch {
            throw InputError("\(flag) \(path): \(reason(error, path: path))")
        }
    }

    // MARK: Values and outputs

    /// A comma-separated list of times `t ≥ 0`, e.g. `0,1,10,1e3`. With `integers`, each must be a whole number
    /// (gradient descent counts steps).
    static func parseTimes(_ text: String, flag: String, integers: Bool = false) throws -> [Double] {
        let fields = text.split(separator: ",").map { $0.trimmingCharacters(in: .whitespaces) }
        guard !fields.isEmpty else { throw ValidationError("\(flag): give at least one time, e.g. 0,1,10,100") }
        return try fields.map { field in
            guard let t = Double(field), t.isFinite, t >= 0 else {
                throw ValidationError("\(flag) \(text): \"\(field)\" is not a finite number ≥ 0")
            }
            if integers, t != t.rounded() {
                throw ValidationError("\(flag) \(text): \(field) is not a whole number; with --gd times count steps")
            }
            return t
        }
    }

    /// `count` times spread evenly on a log scale from `low` to `high` (both included).
    static func logGrid(from low: Double, to high: Double, count: Int) -> [Double] {
        guard count > 1 else { return [high] }
        let a = log10(low), b = log10(high)
        return (0..<count).map { pow(10, a + (b - a) * Double($0) / Double(count - 1)) }
    }

    /// Creates the output directory (and its parents) if needed.
    static func outputDirectory(_ path: String, flag: String) throws -> URL {
        let url = URL(fileURLWithPath: path, isDirectory: true)
        var isDirectory: ObjCBool = false
        if FileManager.default.fileExists(atPath: path, isDirectory: &isDirectory), !isDirectory.boolValue {
            throw InputError("\(flag) \(path): exists and is not a directory")
        }
        do { try FileManager.default.createDirectory(at: url, withIntermediateDirectories: true) } catch {
            throw InputError("\(flag) \(path): cannot create the directory (\(error.localizedDescription))")
        }
        return url
    }

    /// Writes a file through `body`, replacing any old one atomically, and turns a failure into a
    /// message naming the file.
    ///
    /// `body` writes to a fresh staging name next to the destination, which then replaces the
    /// destination by POSIX `rename` (atomic on one file system). Besides atomicity this avoids
    /// `FileManager.replaceItemAt`, which fails on Linux when the destination exists.
    static func write(_ url: URL, _ body: (URL) throws -> Void) throws {
        let directory = url.deletingLastPathComponent()
        var isDirectory: ObjCBool = false
        guard FileManager.default.fileExists(atPath: directory.path, isDirectory: &isDirectory), isDirectory.boolValue else {
            throw InputError("cannot write \(url.path): the directory \(directory.path) does not exist")
        }
        let staging = directory.appendingPathComponent(".\(url.lastPathComponent).\(getpid()).staging")
        try? FileManager.default.removeItem(at: staging)
        do { try body(staging) } catch {
            try? FileManager.default.removeItem(at: staging)
            throw InputError("cannot write \(url.path): \(reason(error, path: staging.path))")
        }
        guard rename(staging.path, url.path) == 0 else {
            let why = String(cString: strerror(errno))
            try? FileManager.default.removeItem(at: staging)
            throw InputError("cannot write \(url.path): \(why)")
        }
    }

    /// An error's message without a repeated "path: " prefix (the caller names the file already);
    /// Foundation's errors by their readable description rather than their debug dump.
    static func reason(_ error: Error, path: String) -> String {
        if error is CocoaError { return error.localizedDescription }
        let text = "\(error)"
        return text.hasPrefix(path + ": ") ? String(text.dropFirst(path.count + 2)) : text
    }
}
