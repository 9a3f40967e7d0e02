import Foundation
import NTKCore
import NTKData
import XCTest

final class PartitionTests: DataTestCase {
    /// 10 classes, unequal sizes (100…190), in a scrambled order.
    let labels: [Double] = {
        var l: [Double] = []
        for c in 0..<10 { l += Array(repeating: Double(c), count: 100 + 10 * c) }
        var rng = PortableGaussian(seed: 99)
        PortableSampling.shuffle(&l, &rng)
        return l
    }()

    private func checkIsPartition(_ parts: [[Int]], n: Int, file: StaticString = #filePath, line: UInt = #line) {
        XCTAssertEqual(parts.flatMap { $0 }.sorted(), Array(0..<n), "disjoint and covering", file: file, line: line)
        for p in parts { XCTAssertEqual(p, p.sorted(), file: file, line: line) }
    }

    /// Disjoint, ascending, in range, `n mod W` left over: what `dirichlet-equal` promises instead of covering.
    private func checkIsEqualPartition(_ parts: [[Int]], n: Int, file: StaticString = #filePath, line: UInt = #line) {
        let all = parts.flatMap { $0 }
        XCTAssertEqual(Set(all).count, all.count, "disjoint", file: file, line: line)
        XCTAssertTrue(all.allSatisfy { (0..<n).contains($0) }, file: file, line: line)
        XCTAssertEqual(parts.map(\.count), Array(repeating: n / parts.count, count: parts.count), "equal sizes", file: file, line: line)
        for p in parts { XCTAssertEqual(p, p.sorted(), file: file, line: line) }
    }

    private func checkParts(_ scheme: PartitionScheme, _ parts: [[Int]], n: Int, file: StaticString = #filePath, line: UInt = #line) {
        if scheme == .dirichletEqual { checkIsEqualPartition(parts, n: n, file: file, line: line) }
        else { checkIsPartition(parts, n: n, file: file, line: line) }
    }

    func testEverySchemeIsADeterministicPartition() throws {
        for scheme in PartitionScheme.allCases {
            let spec = PartitionSpec(scheme: scheme, workers: 7, seed: 5, alpha: 0.5, shardsPerWorker: 3)
            let parts = try spec.assign(labels: labels)
            XCTAssertEqual(parts.count, 7)
            checkParts(scheme, parts, n: labels.count)
            XCTAssertTrue(parts.allSatisfy { !$0.isEmpty }, "\(scheme)")
            XCTAssertEqual(try spec.assign(labels: labels), parts, "\(scheme) is deterministic")
            var other = spec
            other.seed = 6
            XCTAssertNotEqual(try other.assign(labels: labels), parts, "\(scheme) depends on the seed")
        }
    }

    func testIIDKeepsTheHistoricalShardRule() throws {
        let n = labels.count
        var rows = Array(0..<n)
        var rng = PortableGaussian(seed: 3)
        for i in stride(from: n - 1, to: 0, by: -1) { rows.swapAt(i, Int(rng.nextWord() % UInt64(i + 1))) }
        let parts = try PartitionSpec(workers: 4, seed: 3).assign(labels: labels)
        for w in 0..<4 { XCTAssertEqual(parts[w], stride(from: w, to: n, by: 4).map { rows[$0] }.sorted()) }
        XCTAssertLessThan(PartitionSummary(labels: labels, parts: parts).meanTotalVariation, 0.08)
    }

    func testDirichletSkewFollowsAlpha() throws {
        func tv(_ alpha: Double, seed: UInt64) throws -> Double {
            let parts = try PartitionSpec(scheme: .dirichlet, workers: 5, seed: seed, alpha: alpha).assign(labels: labels)
            checkIsPartition(parts, n: labels.count)
            return PartitionSummary(labels: labels, parts: parts).meanTotalVariation
        }
        let iid = PartitionSummary(labels: labels, parts: try PartitionSpec(workers: 5, seed: 1).assign(labels: labels)).meanTotalVariation
        for seed: UInt64 in [1, 2, 3] {
            let small = try tv(0.05, seed: seed), half = try tv(0.5, seed: seed), large = try tv(1000, seed: seed)
            XCTAssertGreaterThan(small, 0.6, "α = 0.05 gives workers few classes")
            XCTAssertGreaterThan(half, 0.2)
            XCTAssertLessThan(half, small)
            XCTAssertLessThan(large, 0.06, "α = 1000 is close to IID")
            XCTAssertLessThan(large, 2 * iid + 0.02)
        }
    }

    func testLabelShardsGiveEachWorkerAtMostSLabels() throws {
        var even: [Double] = []
        for c in 0..<10 { even += Array(repeating: Double(c), count: 60) }
        let parts = try PartitionSpec(scheme: .shards, workers: 10, seed: 2, shardsPerWorker: 2).assign(labels: even)
        checkIsPartition(parts, n: 600)
        let summary = PartitionSummary(labels: even, parts: parts)
        XCTAssertEqual(summary.samples, Array(repeating: 60, count: 10))
        for h in summary.counts { XCTAssertLessThanOrEqual(h.filter { $0 > 0 }.count, 2) }
        XCTAssertGreaterThan(summary.meanTotalVariation, 0.75)
        // Unequal class sizes: shards still equal (±1), each spans at most 2 labels.
        let uneven = try PartitionSpec(scheme: .shards, workers: 5, seed: 2, shardsPerWorker: 2).assign(labels: labels)
        let sizes = uneven.map(\.count)
        XCTAssertLessThanOrEqual(sizes.max()! - sizes.min()!, 2)
        XCTAssertTrue(message { _ = try PartitionSpec(scheme: .shards, workers: 4, shardsPerWorker: 400).assign(labels: self.labels) }
            .contains("more than the 1450 samples"))
    }

    func testQuantitySkewVariesSizesNotLabels() throws {
        let parts = try PartitionSpec(scheme: .quantity, workers: 6, seed: 4, alpha: 0.5, minimumSamples: 20).assign(labels: labels)
        checkIsPartition(parts, n: labels.count)
        let summary = PartitionSummary(labels: labels, parts: parts)
        XCTAssertGreaterThan(Double(summary.samples.max()!) / Double(summary.samples.min()!), 3)
        XCTAssertGreaterThanOrEqual(summary.samples.min()!, 20)
        let biggest = summary.samples.firstIndex(of: summary.samples.max()!)!
        XCTAssertLessThan(summary.totalVariation(worker: biggest), 0.1)
        let spread = try PartitionSpec(scheme: .quantity, workers: 6, seed: 4, alpha: 1e4).assign(labels: labels).map(\.count)
        XCTAssertLessThan(spread.max()! - spread.min()!, 30)
    }

    func testDirichletEqualGivesEqualSizesAndFollowsAlpha() throws {
        let n = labels.count                                           // 1450: 20 workers × 72, 10 left over
        let spec = PartitionSpec(scheme: .dirichletEqual, workers: 20, seed: 3, alpha: 0.1)
        let parts = try spec.assign(labels: labels)
        checkIsEqualPartition(parts, n: n)
        XCTAssertEqual(parts.flatMap { $0 }.count, 1440)
        XCTAssertEqual(try spec.assign(labels: labels), parts, "reproducible")
        var other = spec
        other.seed = 4
        XCTAssertNotEqual(try other.assign(labels: labels), parts, "depends on the seed")
        // α = 0.1: clients are dominated by two or three classes (not fewer: the partition takes all but 10 samples, so
        // the last draws go to whatever classes are left); α = 100: every client sees nearly all ten.
        func dominant(_ counts: [Int]) -> Int {                        // fewest classes holding ≥ 80% of the samples
            let sorted = counts.sorted(by: >), total = counts.reduce(0, +)
            var sum = 0
            for (k, c) in sorted.enumerated() { sum += c; if 5 * sum >= 4 * total { return k + 1 } }
            return counts.count
        }
        let skewed = PartitionSummary(labels: labels, parts: parts)
        let few = skewed.counts.map(dominant)
        XCTAssertGreaterThanOrEqual(few.filter { $0 <= 3 }.count, 18, "α = 0.1: \(few)")
        XCTAssertGreaterThanOrEqual(few.filter { $0 <= 2 }.count, 8, "α = 0.1: \(few)")
        XCTAssertGreaterThan(skewed.meanTotalVariation, 0.55)
        let half = PartitionSummary(labels: labels, parts: try PartitionSpec(scheme: .dirichletEqual, workers: 20, seed: 3, alpha: 0.5).assign(labels: labels))
        XCTAssertLessThan(half.meanTotalVariation, skewed.meanTotalVariation)
        let flat = PartitionSummary(labels: labels, parts: try PartitionSpec(scheme: .dirichletEqual, workers: 20, seed: 3, alpha: 100).assign(labels: labels))
        XCTAssertTrue(flat.counts.allSatisfy { dominant($0) >= 6 }, "α = 100: \(flat.counts.map(dominant))")
        XCTAssertLessThan(flat.meanTotalVariation, 0.2)
        // Every sample taken: classes run out and the last draws are renormalized over what is left.
        var even: [Double] = []
        for c in 0..<4 { even += Array(repeating: Double(c), count: 25) }
        let tight = try PartitionSpec(scheme: .dirichletEqual, workers: 10, seed: 1, alpha: 0.05).assign(labels: even)
        checkIsPartition(tight, n: 100)
        XCTAssertEqual(tight.map(\.count), Array(repeating: 10, count: 10))
    }

    func testImpossibleSpecsAreErrors() {
        XCTAssertTrue(message { _ = try PartitionSpec(scheme: .dirichletEqual, workers: 3, alpha: -1).assign(labels: self.labels) }.contains("alpha"))
        XCTAssertTrue(message { _ = try PartitionSpec(scheme: .dirichletEqual, workers: 2000).assign(labels: self.labels) }
            .contains("need at least 2000 samples, got 1450"))
        XCTAssertTrue(message { _ = try PartitionSpec(scheme: .dirichletEqual, workers: 100, minimumSamples: 20).assign(labels: self.labels) }
            .contains("min_samples"))
        XCTAssertTrue(message { _ = try PartitionSpec(scheme: .dirichlet, workers: 3, alpha: 0).assign(labels: self.labels) }.contains("alpha"))
        XCTAssertTrue(message { _ = try PartitionSpec(workers: 0).assign(labels: self.labels) }.contains("workers"))
        XCTAssertTrue(message { _ = try PartitionSpec(scheme: .quantity, workers: 3, minimumSamples: 1000).assign(labels: self.labels) }
            .contains("min_samples"))
    }

    func testSamplersMatchTheirDistributions() {
        var rng = PortableGaussian(seed: 11)
        for shape in [0.3, 1.0, 4.5] {
            let n = 20000
            let draws = (0..<n).map { _ in Foundation.exp(PortableSampling.logGamma(shape: shape, &rng)) }
            let mean = draws.reduce(0, +) / Double(n)
            let variance = draws.reduce(0) { $0 + ($1 - mean) * ($1 - mean) } / Double(n)
            XCTAssertEqual(mean, shape, accuracy: 0.05 * shape, "Gamma(\(shape)) mean")
            XCTAssertEqual(variance, shape, accuracy: 0.1 * shape, "Gamma(\(shape)) variance")
        }
        let p = PortableSampling.dirichlet(alpha: 0.01, count: 8, &rng)
        XCTAssertEqual(p.reduce(0, +), 1, accuracy: 1e-12)
        XCTAssertTrue(p.allSatisfy { $0 >= 0 && $0.isFinite })
        for x in stride(from: -700.0, through: 700, by: 3.7) {
            XCTAssertEqual(PortableSampling.exp(x), Foundation.exp(x), accuracy: 2e-15 * Foundation.exp(x))
        }
        XCTAssertEqual(PortableSampling.apportion(10, [0.25, 0.25, 0.5]), [3, 2, 5])
        XCTAssertEqual(PortableSampling.apportion(7, [0.5, 0.3, 0.2]).reduce(0, +), 7)
    }

    func testDataSourceShardsPartitionTheTrainSplit() throws {
        var text = ""
        for (i, y) in labels.enumerated() { text += "\(i),\(Double(i) / 10),\(Int(y))\n" }
        let url = try write("d.csv", text)
        for scheme in PartitionScheme.allCases {
            var source = DataSource(file: url.path)
            source.split = .train
            source.classes = 10
            var ids: [Double] = []
            for w in 0..<4 {
                source.shard = ShardSpec(index: w, count: 4, seed: 8, scheme: scheme, alpha: 0.3, shardsPerWorker: 2)
                ids += try source.load().inputs.elements.enumerated().filter { $0.offset % 2 == 0 }.map(\.element)
            }
            source.shard = nil
            let train = try source.load().inputs.elements.enumerated().filter { $0.offset % 2 == 0 }.map(\.element)
            if scheme == .dirichletEqual {
                XCTAssertEqual(Set(ids).count, ids.count, "disjoint")
                XCTAssertTrue(Set(ids).isSubset(of: Set(train)))
                XCTAssertEqual(ids.count, train.count / 4 * 4)
            } else {
                XCTAssertEqual(ids.sorted(), train, "\(scheme)")
            }
        }
        var regression = DataSource(file: url.path)
        regression.classes = nil
        for scheme in [PartitionScheme.dirichlet, .dirichletEqual, .shards] {
            regression.shard = ShardSpec(index: 0, count: 2, scheme: scheme)
            XCTAssertTrue(message { _ = try regression.load() }.contains("needs class labels"), "\(scheme)")
        }
    }

    func testWritePartitionWritesShardsAndSummary() throws {
        var text = ""
        for (i, y) in labels.prefix(200).enumerated() { text += "\(i),\(Double(i) / 4),\(Int(y))\n" }
        let url = try write("d.csv", text)
        var source = DataSource(file: url.path)
        source.classes = 10
        let out = directory.appendingPathComponent("out")
        let written = try writePartition(source: source, spec: PartitionSpec(scheme: .dirichlet, workers: 3, seed: 1, alpha: 0.5), outputDirectory: out)
        XCTAssertEqual(written.files.map(\.lastPathComponent), ["worker-0.csv", "worker-1.csv", "worker-2.csv"])
        var rows: [[Double]] = []
        for (w, f) in written.files.enumerated() {
            let t = try LabeledTable(csv: f)
            XCTAssertEqual(t.labels.count, written.summary.samples[w])
            for i in 0..<t.labels.count { rows.append(t.features.row(i) + [t.labels[i]]) }
        }
        let original = try LabeledTable(csv: url)
        XCTAssertEqual(rows.sorted { $0[0] < $1[0] }, (0..<200).map { original.features.row($0) + [original.labels[$0]] })
        let summary = try String(contentsOf: out.appendingPathComponent("summary.txt"), encoding: .utf8)
        XCTAssertEqual(summary, written.summaryText)
        XCTAssertTrue(summary.contains("worker  samples"))
        XCTAssertTrue(summary.contains("scheme dirichlet, seed 1, alpha 0.5"))
        XCTAssertEqual(summary.split(separator: "\n").count, 2 + 1 + 3 + 1)
        let equal = try writePartition(source: source, spec: PartitionSpec(scheme: .dirichletEqual, workers: 3, seed: 1, alpha: 0.5),
                                       outputDirectory: directory.appendingPathComponent("equal"))
        XCTAssertEqual(equal.summary.samples, [66, 66, 66])
        XCTAssertTrue(equal.summaryText.contains("scheme dirichlet-equal, seed 1, alpha 0.5"))
    }
}

final class FeatureStatisticsTests: XCTestCase {
    func testMergedWorkerStatisticsEqualThePooledOnes() throws {
        var rng = PortableGaussian(seed: 4)
        let d = 5
        let shards = [37, 1, 120, 64].map { m in Matrix<Double>(rows: m, columns: d, elements: (0..<(m * d)).map { 3 + 2 * rng.next() + Double($0 % d) }) }
        let pooled = FeatureStatistics(Matrix(rows: shards.reduce(0) { $0 + $1.rows }, columns: d, elements: shards.flatMap(\.elements)))
        let merged = try FeatureStatistics.merge(shards.map(FeatureStatistics.init))
        XCTAssertEqual(merged.count, pooled.count)
        for j in 0..<d {
            XCTAssertEqual(merged.sum[j], pooled.sum[j], accuracy: 1e-12 * abs(pooled.sum[j]))
            XCTAssertEqual(merged.sumSquares[j], pooled.sumSquares[j], accuracy: 1e-12 * pooled.sumSquares[j])
            // Against a two-pass computation on the pooled rows.
            let column = (0..<pooled.count).map { i -> Double in
                var k = i
                for s in shards { if k < s.rows { return s[k, j] }; k -= s.rows }
                fatalError()
            }
            let mean = column.reduce(0, +) / Double(column.count)
            let std = (column.reduce(0) { $0 + ($1 - mean) * ($1 - mean) } / Double(column.count)).squareRoot()
            XCTAssertEqual(merged.mean[j], mean, accuracy: 1e-12 * abs(mean))
            XCTAssertEqual(merged.standardDeviation[j], std, accuracy: 1e-9 * std)
        }
        // Standardizing with the merged statistics gives every feature mean 0 and std 1 over the pool.
        var x = Matrix<Double>(rows: pooled.count, columns: d, elements: shards.flatMap(\.elements))
        try merged.standardization().apply(to: &x, path: "pool")
        let after = FeatureStatistics(x)
        for j in 0..<d {
            XCTAssertEqual(after.mean[j], 0, accuracy: 1e-12)
            XCTAssertEqual(after.standardDeviation[j], 1, accuracy: 1e-9)
        }
    }

    func testConstantFeaturesAndMismatchesAndReceivedStatistics() throws {
        let constant = FeatureStatistics(Matrix([[2.0, 1], [2, 3]]))
        XCTAssertEqual(constant.standardization().divisor, [1, 1])
        XCTAssertEqual(constant.mean, [2, 2])
        XCTAssertThrowsError(try constant.merged(with: FeatureStatistics(dimension: 3)))
        XCTAssertThrowsError(try FeatureStatistics(count: 2, sum: [1], sumSquares: [-1]))
        XCTAssertThrowsError(try FeatureStatistics(count: 2, sum: [1, 2], sumSquares: [1]))
        XCTAssertEqual(try FeatureStatistics(count: 2, sum: [4, 4], sumSquares: [8, 10]), constant)
    }
}
