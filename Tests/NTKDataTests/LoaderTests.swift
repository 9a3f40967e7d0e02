import Foundation
import NTKCore
import NTKData
import XCTest

final class CSVLoaderTests: DataTestCase {
    func testHeaderAndChosenLabelColumn() throws {
        let url = try write("a.csv", "label,x1,x2\n1, 0.5, 2\n0,1.5,-3\n\n2,7,8\n")
        let t = try LabeledTable(csv: url, labelColumn: 0, skipHeader: true)
        XCTAssertEqual(t.labels, [1, 0, 2])
        XCTAssertEqual(t.features, Matrix([[0.5, 2], [1.5, -3], [7, 8]]))
        XCTAssertEqual(t.rowLines, [2, 3, 5])
        var s = DataSource(file: url.path)
        s.labelColumn = 0
        s.header = true
        s.classes = 3
        let samples = try s.load()
        XCTAssertEqual(samples.targets, Matrix([[0, 1, 0], [1, 0, 0], [0, 0, 1]]))
        s.classes = nil
        XCTAssertEqual(try s.load().targets, Matrix([[1], [0], [2]]))
    }

    func testBadRowsNameFileLineAndColumn() throws {
        let ragged = try write("ragged.csv", "1,2,0\n3,4\n")
        XCTAssertEqual(message { _ = try LabeledTable(csv: ragged) }, "\(ragged.path):2:3: row has 2 fields, earlier rows have 3")
        let text = try write("text.csv", "1,2,0\n3,abc,1\n")
        XCTAssertEqual(message { _ = try LabeledTable(csv: text) }, "\(text.path):2:2: \"abc\" is not a finite number")
        let nan = try write("nan.csv", "h\n1,2,0\n3,4,0\nnan,1,1\n")
        XCTAssertEqual(message { _ = try LabeledTable(csv: nan, skipHeader: true) }, "\(nan.path):4:1: \"nan\" is not a finite number")
        let labels = try write("labels.csv", "1,2,0\n\n3,4,7\n")
        var s = DataSource(file: labels.path)
        s.classes = 3
        XCTAssertEqual(message { _ = try s.load() }, "\(labels.path):3:3: label 7 is not a class index in 0..<3")
        let fractional = try write("frac.csv", "0.5,1,2\n")
        s = DataSource(file: fractional.path)
        s.labelColumn = 0
        s.classes = 3
        XCTAssertEqual(message { _ = try s.load() }, "\(fractional.path):1:1: label 0.5 is not a class index in 0..<3")
        s.classes = nil
        s.inputDimension = 3
        XCTAssertEqual(message { _ = try s.load() }, "\(fractional.path):1: rows have 2 input features, the model expects 3")
        XCTAssertTrue(message { _ = try LabeledTable(csv: URL(fileURLWithPath: "/nonexistent/x.csv")) }.hasPrefix("/nonexistent/x.csv: cannot read"))
    }
}

final class NumpyLoaderTests: DataTestCase {
    func testNpyWithLabelColumn() throws {
        let url = directory.appendingPathComponent("d.npy")
        try NumpyArray(Matrix<Double>([[1, 2, 0], [3, 4, 1]])).write(to: url)
        let t = try LabeledTable(npy: url)
        XCTAssertEqual(t.features, Matrix([[1, 2], [3, 4]]))
        XCTAssertEqual(t.labels, [0, 1])
        let first = try LabeledTable(npy: url, labelColumn: 0)
        XCTAssertEqual(first.labels, [1, 3])
        var s = DataSource(file: url.path)
        s.classes = 2
        XCTAssertEqual(try s.load().targets, Matrix([[1, 0], [0, 1]]))
    }

    func testBadNpy() throws {
        let nan = directory.appendingPathComponent("nan.npy")
        try NumpyArray(Matrix<Double>([[1, 2, 0], [3, .nan, 1]])).write(to: nan)
        XCTAssertEqual(message { _ = try LabeledTable(npy: nan) }, "\(nan.path):2:2: sample 2: nan is not a finite number")
        let flat = directory.appendingPathComponent("flat.npy")
        try NumpyArray([1.0, 2.0]).write(to: flat)
        XCTAssertTrue(message { _ = try LabeledTable(npy: flat) }.contains("expected a 2-D array"))
        let labels = directory.appendingPathComponent("labels.npy")
        try NumpyArray(Matrix<Double>([[1, 2, 0], [3, 4, 5]])).write(to: labels)
        var s = DataSource(file: labels.path)
        s.classes = 3
        XCTAssertEqual(message { _ = try s.load() }, "\(labels.path):2:3: label 5 is not a class index in 0..<3")
        let garbage = try write("garbage.npy", "not numpy")
        XCTAssertTrue(message { _ = try LabeledTable(npy: garbage) }.hasPrefix("\(garbage.path): cannot read"))
    }

    func testNpzImagesAreFlattenedAndLabelsChecked() throws {
        let url = directory.appendingPathComponent("d.npz")
        let images = try NumpyArray(shape: [3, 2, 2], elements: .float32((0..<12).map(Float.init)))
        let labels = try NumpyArray(shape: [3], elements: .int64([2, 0, 1]))
        try NumpyArchive(arrays: ["images": images, "labels": labels]).write(to: url)
        let t = try LabeledTable(npz: url, featuresKey: "images", labelsKey: "labels")
        XCTAssertEqual(t.features.rows, 3)
        XCTAssertEqual(t.features.columns, 4)
        XCTAssertEqual(t.features.row(2), [8, 9, 10, 11])
        XCTAssertEqual(t.labels, [2, 0, 1])
        var s = DataSource(file: url.path)
        s.featuresKey = "images"
        s.labelsKey = "labels"
        s.classes = 3
        s.featureScale = 0.5
        let samples = try s.load()
        XCTAssertEqual(samples.inputs.row(1), [2, 2.5, 3, 3.5])
        s.classes = 2
        XCTAssertEqual(message { _ = try s.load() }, "\(url.path)[labels]:1:1: label 2 is not a class index in 0..<2")
        s.labelsKey = "y"
        XCTAssertEqual(message { _ = try s.load() }, "\(url.path): no array 'y' (has: images, labels)")

        let short = directory.appendingPathComponent("short.npz")
        try NumpyArchive(arrays: ["x": images, "y": try NumpyArray(shape: [2], elements: .int64([0, 1]))]).write(to: short)
        XCTAssertTrue(message { _ = try LabeledTable(npz: short) }.contains("expected 3 labels"))
        let nan = directory.appendingPathComponent("nan.npz")
        try NumpyArchive(arrays: ["x": NumpyArray(Matrix<Double>([[1, 2], [3, .infinity]])), "y": NumpyArray([0.0, 1.0])]).write(to: nan)
        XCTAssertEqual(message { _ = try LabeledTable(npz: nan) }, "\(nan.path)[x]:2:2: sample 2: inf is not a finite number")
    }
}

final class IDXLoaderTests: DataTestCase {
    func testUbyteImagesAndLabels() throws {
        let images = try write("train-images-idx3-ubyte", bytes: idx(type: 0x08, shape: [2, 2, 3], payload: Array(0..<12)))
        let labels = try write("train-labels-idx1-ubyte", bytes: idx(type: 0x08, shape: [2], payload: [7, 1]))
        let t = try LabeledTable(idxImages: images, labels: labels)
        XCTAssertEqual(t.features, Matrix([[0, 1, 2, 3, 4, 5], [6, 7, 8, 9, 10, 11]]))
        XCTAssertEqual(t.labels, [7, 1])
        XCTAssertEqual(DataFormat.inferred(from: images.path), .idx)
        var s = DataSource(file: images.path)
        s.labelsFile = labels.path
        s.classes = 10
        XCTAssertEqual(try s.load().targets.row(0), [0, 0, 0, 0, 0, 0, 0, 1, 0, 0])
        s.classes = 5
        XCTAssertEqual(message { _ = try s.load() }, "\(labels.path):1:1: label 7 is not a class index in 0..<5")
        s.labelsFile = nil
        XCTAssertTrue(message { _ = try s.load() }.contains("needs 'labels_file'"))
    }

    func testFloatImagesAndBadFiles() throws {
        let images = try write("x.idx", bytes: idx(type: 0x0D, shape: [2, 2], payload: [0.5, -1, 2, 3.25].flatMap(bigEndian)))
        let labels = try write("y.idx", bytes: idx(type: 0x08, shape: [2], payload: [0, 1]))
        XCTAssertEqual(try LabeledTable(idxImages: images, labels: labels).features, Matrix([[0.5, -1], [2, 3.25]]))
        let nan = try write("nan.idx", bytes: idx(type: 0x0D, shape: [2, 2], payload: [0.5, -1, 2, .nan].flatMap(bigEndian)))
        XCTAssertEqual(message { _ = try LabeledTable(idxImages: nan, labels: labels) }, "\(nan.path):2:2: sample 2: nan is not a finite number")
        let truncated = try write("t.idx", bytes: Array(idx(type: 0x08, shape: [2, 3], payload: Array(0..<6)).dropLast()))
        XCTAssertEqual(message { _ = try LabeledTable(idxImages: truncated, labels: labels) },
                       "\(truncated.path): shape [2, 3] of 1-byte elements needs 18 bytes, the file has 17")
        let three = try write("three.idx", bytes: idx(type: 0x08, shape: [3], payload: [0, 1, 1]))
        XCTAssertTrue(message { _ = try LabeledTable(idxImages: images, labels: three) }.contains("expected 2 labels"))
        let badType = try write("bad.idx", bytes: idx(type: 0x42, shape: [1], payload: [0]))
        XCTAssertTrue(message { _ = try LabeledTable(idxImages: badType, labels: labels) }.contains("unknown IDX element type 0x42"))
        let notIDX = try write("n.idx", "hello")
        XCTAssertTrue(message { _ = try LabeledTable(idxImages: notIDX, labels: labels) }.contains("not an IDX file"))
    }
}

final class LIBSVMLoaderTests: DataTestCase {
    func testSparseRowsInferredAndGivenDimension() throws {
        let url = try write("d.svm", "1 1:0.5 3:2 # comment\n\n0 2:-1\n# only a comment\n2\t1:1 4:4\n")
        let t = try LabeledTable(libsvm: url)
        XCTAssertEqual(t.features, Matrix([[0.5, 0, 2, 0], [0, -1, 0, 0], [1, 0, 0, 4]]))
        XCTAssertEqual(t.labels, [1, 0, 2])
        XCTAssertEqual(t.rowLines, [1, 3, 5])
        XCTAssertEqual(try LabeledTable(libsvm: url, dimension: 6).features.columns, 6)
        XCTAssertEqual(message { _ = try LabeledTable(libsvm: url, dimension: 3) }, "\(url.path):5:3: feature index 4 exceeds the input dimension 3")
        var s = DataSource(file: url.path)
        XCTAssertEqual(DataFormat.inferred(from: url.path), .libsvm)
        s.classes = 3
        XCTAssertEqual(try s.load().targets, Matrix([[0, 1, 0], [1, 0, 0], [0, 0, 1]]))
        s.classes = 2
        XCTAssertEqual(message { _ = try s.load() }, "\(url.path):5:1: label 2 is not a class index in 0..<2")
    }

    func testBadLines() throws {
        let cases: [(String, String)] = [
            ("1 1:2\nx 1:1\n", ":2:1: label \"x\" is not a finite number"),
            ("1 1:2 2\n", ":1:3: \"2\" is not index:value"),
            ("1 0:2\n", ":1:2: feature index 0 is not ≥ 1 (indices are 1-based)"),
            ("1 3:2 2:1\n", ":1:3: feature index 2 does not increase (previous 3)"),
            ("1 1:2 2:nan\n", ":1:3: value \"nan\" is not a finite number"),
            ("\n# nothing\n", ":3: no data rows"),
        ]
        for (n, (text, expected)) in cases.enumerated() {
            let url = try write("bad\(n).svm", text)
            XCTAssertEqual(message { _ = try LabeledTable(libsvm: url) }, url.path + expected)
        }
    }
}

final class FeatureScalingTests: DataTestCase {
    func testOffsetStdAndScaleFromTheConfig() throws {
        let url = try write("s.csv", "1,10,0\n3,30,1\n")
        var s = DataSource(file: url.path)
        s.classes = 2
        s.featureOffset = [2, 20]
        s.featureStd = [1, 10]
        s.featureScale = 0.5
        XCTAssertEqual(try s.load().inputs, Matrix([[-0.5, -0.5], [0.5, 0.5]]))
        s.featureOffset = [1]
        s.featureStd = []
        s.featureScale = 1
        XCTAssertEqual(try s.load().inputs, Matrix([[0, 9], [2, 29]]))
        s.featureOffset = [1, 2, 3]
        XCTAssertEqual(message { _ = try s.load() }, "\(url.path): feature_offset has 3 values; the data has 2 features (give 1 or 2)")
        s.featureOffset = []
        s.featureStd = [1, 0]
        XCTAssertEqual(message { _ = try s.load() }, "\(url.path): column 2: feature_std[1] = 0.0 must be a finite number > 0")
    }
}
