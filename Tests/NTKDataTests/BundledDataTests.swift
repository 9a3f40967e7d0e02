import Foundation
import NTKCore
import NTKData
import XCTest

private let dataDirectory = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent()
    .deletingLastPathComponent().appendingPathComponent("data")

/// The data sets in `data/` load as their provenance says, including the gzip and blank-separated ones.
final class BundledDataTests: DataTestCase {
    func testBreastCancerWithHeader() throws {
        var source = DataSource(file: dataDirectory.appendingPathComponent("breast_cancer.csv").path)
        source.header = true
        source.classes = 2
        let table = try source.loadTable()
        XCTAssertEqual(table.features.rows, 569)
        XCTAssertEqual(table.features.columns, 30)
        XCTAssertEqual(table.labels.filter { $0 == 0 }.count, 212, "212 malignant, 357 benign (UCI)")
        XCTAssertEqual(table.rowLines.first, 2)
    }

    func testMNISTSubsetFromGzip() throws {
        let table = try DataSource(file: dataDirectory.appendingPathComponent("mnist_5k.csv.gz").path).loadTable()
        XCTAssertEqual(table.features.rows, 5000)
        XCTAssertEqual(table.features.columns, 784)
        for digit in 0..<10 { XCTAssertEqual(table.labels.filter { $0 == Double(digit) }.count, 500) }
        XCTAssertEqual(table.features.elements.max(), 255)
    }

    func testDiabetesFeaturesAndTargetsFromTwoFiles() throws {
        var source = DataSource(file: dataDirectory.appendingPathComponent("diabetes_data_raw.csv.gz").path)
        source.targetsFile = dataDirectory.appendingPathComponent("diabetes_target.csv.gz").path
        source.classes = nil
        let table = try source.loadTable()
        XCTAssertEqual(table.features.rows, 442)
        XCTAssertEqual(table.features.columns, 10)
        XCTAssertEqual(Array(table.features.elements.prefix(3)), [59, 2, 32.1], "first row, blank-separated")
        XCTAssertEqual(table.labels.prefix(3), [151, 75, 141])
        // Regression: a plain seeded split, 80/20, disjoint and complete.
        source.split = .train
        let train = try source.load()
        source.split = .test
        let test = try source.load()
        XCTAssertEqual(train.inputs.rows, 354)
        XCTAssertEqual(test.inputs.rows, 88)
        XCTAssertEqual(train.targets.columns, 1)
    }
}

/// Gzip files are read by content, and damaged ones fail with the file's name.
final class CompressedFileTests: DataTestCase {
    /// `gzip -c` of `text`, written as `name`.
    private func gzipped(_ name: String, _ text: String) throws -> URL {
        let plain = try write(name + ".plain", text)
        let url = directory.appendingPathComponent(name)
        let p = Process()
        p.executableURL = URL(fileURLWithPath: "/bin/sh")
        p.arguments = ["-c", "gzip -c '\(plain.path)' > '\(url.path)'"]
        try p.run()
        p.waitUntilExit()
        XCTAssertEqual(p.terminationStatus, 0)
        return url
    }

    func testGzipCSVEqualsPlainAndConcatenatedMembersAreOneFile() throws {
        let text = (0..<2000).map { i in "\(i % 7),\(Double(i) / 3),\(i % 3)" }.joined(separator: "\n") + "\n"
        let gz = try gzipped("t.csv.gz", text)
        let plain = try LabeledTable(csv: directory.appendingPathComponent("t.csv.gz.plain"))
        let packed = try LabeledTable(csv: gz)
        XCTAssertEqual(packed.features, plain.features)
        XCTAssertEqual(packed.labels, plain.labels)
        // Two members: `cat a.gz b.gz`.
        let second = try gzipped("u.gz", "9,9,1\n")
        let both = directory.appendingPathComponent("both.csv.gz")
        try (Data(contentsOf: gz) + Data(contentsOf: second)).write(to: both)
        XCTAssertEqual(try LabeledTable(csv: both).labels.count, 2001)
    }

    func testTruncatedAndCorruptGzipNameTheFile() throws {
        let gz = try gzipped("t.csv.gz", String(repeating: "1,2,3\n", count: 5000))
        let bytes = try Data(contentsOf: gz)
        let truncated = try write("truncated.csv.gz", bytes: [UInt8](bytes.prefix(bytes.count / 2)))
        XCTAssertEqual(message { _ = try LabeledTable(csv: truncated) }, "\(truncated.path): gzip: the file is truncated")
        var damaged = [UInt8](bytes)
        damaged[damaged.count - 6] ^= 0xFF   // the CRC-32 trailer
        let corrupt = try write("corrupt.csv.gz", bytes: damaged)
        XCTAssertTrue(message { _ = try LabeledTable(csv: corrupt) }.hasPrefix("\(corrupt.path): gzip: "), message { _ = try LabeledTable(csv: corrupt) })
    }

    func testBlankSeparatedAndTargetsFileErrors() throws {
        let x = try write("x.txt", "1 2\t3\n4  5 6\n7 8\n")
        XCTAssertEqual(message { _ = try LabeledTable(csv: x) }, "\(x.path):3:3: row has 2 fields, earlier rows have 3")
        let good = try write("good.txt", "1 2 3\n4 5 6\n")
        let shortTargets = try write("y1.txt", "1\n")
        XCTAssertEqual(message { _ = try LabeledTable(csvFeatures: good, targets: shortTargets) },
                       "\(shortTargets.path):1: 1 targets for the 2 rows of \(good.path)")
        let wideTargets = try write("y2.txt", "1,2\n3,4\n")
        XCTAssertEqual(message { _ = try LabeledTable(csvFeatures: good, targets: wideTargets) },
                       "\(wideTargets.path):1:2: a targets file has one number per line, this one has 2")
        let badTarget = try write("y3.txt", "1\nx\n")
        XCTAssertEqual(message { _ = try LabeledTable(csvFeatures: good, targets: badTarget) }, "\(badTarget.path):2:1: \"x\" is not a finite number")
        let t = try LabeledTable(csvFeatures: good, targets: try write("y.txt", "0.5\n-2\n"))
        XCTAssertEqual(t.features, Matrix([[1, 2, 3], [4, 5, 6]]))
        XCTAssertEqual(t.labels, [0.5, -2])
    }
}
