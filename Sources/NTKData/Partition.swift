import Foundation
import NTKCore

/// How samples are dealt to workers.
public enum PartitionScheme: String, CaseIterable, Sendable {
    /// A seeded shuffle, worker `w` takes every `W`-th sample starting at `w` (equal sizes, same label mix).
    case iid
    /// Label skew: for each class, the shares of the workers are drawn from `Dir(α, …, α)`
    /// (Hsu et al. 2019). Small α: few classes per worker; large α: close to IID.
    case dirichlet
    /// Label shards (McMahan et al. 2017): samples sorted by label, cut into `W·s` equal shards, `s` random shards per worker.
    case shards
    /// Quantity skew: worker sizes in proportion to a `Dir(α, …, α)` draw, labels mixed as in IID.
    case quantity
    /// Label skew at equal sizes (NTK-FL / FedLab style): every worker gets `⌊n/W⌋` samples (the `n mod W`
    /// left over are unused) and its own label proportions `q_w ~ Dir(α, …, α)` over the classes. Samples are
    /// drawn one at a time without replacement: a worker chosen at random among those still short, a class
    /// from its `q_w` renormalized over the classes not yet exhausted, a random sample of that class.
    case dirichletEqual = "dirichlet-equal"

    /// Whether the scheme groups samples by label (needs classification data).
    public var skewsLabels: Bool { self == .dirichlet || self == .shards || self == .dirichletEqual }
}

/// A deterministic partition of a data set across `workers` workers.
public struct PartitionSpec: Sendable, Equatable {
    public var scheme: PartitionScheme
    public var workers: Int
    public var seed: UInt64
    /// Concentration of the Dirichlet draws (`dirichlet`, `dirichlet-equal`, `quantity`).
    public var alpha: Double
    /// Shards per worker (`shards`).
    public var shardsPerWorker: Int
    /// `dirichlet` and `quantity` redraw (continuing the seeded stream) until every worker has at least this many samples.
    public var minimumSamples: Int

    public init(scheme: PartitionScheme = .iid, workers: Int, seed: UInt64 = 0, alpha: Double = 0.5,
                shardsPerWorker: Int = 2, minimumSamples: Int = 1) {
        self.scheme = scheme
        self.workers = workers
        self.seed = seed
        self.alpha = alpha
        self.shardsPerWorker = shardsPerWorker
        self.minimumSamples = minimumSamples
    }

    /// The sample indices (into `labels`, ascending) of each worker. The workers' sets are disjoint and cover
    /// every sample (`dirichlet-equal`: all but the `n mod W` left over). Labels are grouped by value (class
    /// indices, or any distinct values).
    public func assign(labels: [Double]) throws -> [[Int]] {
        let n = labels.count
        guard workers >= 1 else { throw PartitionError("workers must be ≥ 1, got \(workers)") }
        var rng = PortableGaussian(seed: seed)
        var parts: [[Int]]
        switch scheme {
        case .iid:
            // The historical `shard: {index, count, seed}` rule, kept bit for bit.
            var rows = Array(0..<n)
            PortableSampling.shuffle(&rows, &rng)
            parts = (0..<workers).map { w in stride(from: w, to: n, by: workers).map { rows[$0] } }
        case .dirichlet:
            guard alpha > 0, alpha.isFinite else { throw PartitionError("alpha must be a finite number > 0, got \(alpha)") }
            try checkMinimum(n)
            var byClass: [Double: [Int]] = [:]
            for (i, y) in labels.enumerated() { byClass[y, default: []].append(i) }
            let classes = byClass.keys.sorted()
            var attempt = 0
            repeat {
                attempt += 1
                parts = Array(repeating: [], count: workers)
                for c in classes {
                    var idx = byClass[c]!
                    PortableSampling.shuffle(&idx, &rng)
                    let p = PortableSampling.dirichlet(alpha: alpha, count: workers, &rng)
                    var start = 0
                    for (w, k) in PortableSampling.apportion(idx.count, p).enumerated() {
                        parts[w] += idx[start..<(start + k)]
                        start += k
                    }
                }
            } while parts.contains(where: { $0.count < minimumSamples }) && attempt < 1000
            guard !parts.contains(where: { $0.count < minimumSamples }) else {
                throw PartitionError("no Dirichlet(α = \(alpha)) label partition in 1000 draws gives every one of \(workers) workers ≥ \(minimumSamples) samples; raise alpha or lower min_samples")
            }
        case .dirichletEqual:
            guard alpha > 0, alpha.isFinite else { throw PartitionError("alpha must be a finite number > 0, got \(alpha)") }
            let size = n / workers
            guard size >= 1 else { throw PartitionError("\(workers) workers of equal size need at least \(workers) samples, got \(n)") }
            guard size >= minimumSamples else {
                throw PartitionError("\(workers) workers of equal size get \(size) samples each, fewer than min_samples \(minimumSamples)")
            }
            parts = Self.dirichletEqual(labels: labels, workers: workers, size: size, alpha: alpha, &rng)
        case .quantity:
            guard alpha > 0, alpha.isFinite else { throw PartitionError("alpha must be a finite number > 0, got \(alpha)") }
            try checkMinimum(n)
            var rows = Array(0..<n)
            PortableSampling.shuffle(&rows, &rng)
            var sizes: [Int]
            var attempt = 0
            repeat {
                attempt += 1
                sizes = PortableSampling.apportion(n, PortableSampling.dirichlet(alpha: alpha, count: workers, &rng))
            } while sizes.contains(where: { $0 < minimumSamples }) && attempt < 1000
            guard !sizes.contains(where: { $0 < minimumSamples }) else {
                throw PartitionError("no Dirichlet(α = \(alpha)) size draw in 1000 gives every one of \(workers) workers ≥ \(minimumSamples) samples; raise alpha or lower min_samples")
            }
            var start = 0
            parts = sizes.map { k in defer { start += k }; return Array(rows[start..<(start + k)]) }
        case .shards:
            let s = shardsPerWorker
            guard s >= 1 else { throw PartitionError("shards_per_worker must be ≥ 1, got \(s)") }
            let total = workers * s
            guard total <= n else { throw PartitionError("\(workers) workers × \(s) shards = \(total) shards, more than the \(n) samples") }
            // Sorted by label; within a label, in a seeded random order.
            var order = Array(0..<n)
            PortableSampling.shuffle(&order, &rng)
            var position = [Int](repeating: 0, count: n)
            for (p, i) in order.enumerated() { position[i] = p }
            let sorted = (0..<n).sorted { labels[$0] != labels[$1] ? labels[$0] < labels[$1] : position[$0] < position[$1] }
            var shardIDs = Array(0..<total)
            PortableSampling.shuffle(&shardIDs, &rng)
            parts = (0..<workers).map { w in
                shardIDs[(w * s)..<((w + 1) * s)].flatMap { j in sorted[(j * n / total)..<((j + 1) * n / total)] }
            }
        }
        return parts.map { $0.sorted() }
    }

    /// `dirichlet-equal`: `size` samples per worker, label proportions `Dir(α)` per worker (see the case).
    /// A worker whose proportions put no weight on any class still available draws in proportion to what is left.
    private static func dirichletEqual(labels: [Double], workers: Int, size: Int, alpha: Double,
                                       _ rng: inout PortableGaussian) -> [[Int]] {
        var byClass: [Double: [Int]] = [:]
        for (i, y) in labels.enumerated() { byClass[y, default: []].append(i) }
        let classes = byClass.keys.sorted()
        // Each class's samples in a seeded order; a class is drawn from the end of its list.
        var pools: [[Int]] = classes.map { c in
            var idx = byClass[c]!
            PortableSampling.shuffle(&idx, &rng)
            return idx
        }
        let q = (0..<workers).map { _ in PortableSampling.dirichlet(alpha: alpha, count: classes.count, &rng) }
        var parts = [[Int]](repeating: [], count: workers)
        var short = Array(0..<workers)               // workers still below `size`, in any order
        while !short.isEmpty {
            let slot = Int(rng.nextWord() % UInt64(short.count))
            let w = short[slot]
            var weights = classes.indices.map { pools[$0].isEmpty ? 0 : q[w][$0] }
            var total = 0.0
            for x in weights { total += x }
            if !(total > 0) {
                weights = pools.map { Double($0.count) }
                total = 0
                for x in weights { total += x }
            }
            let u = rng.nextUniform() * total
            var c = -1, cumulative = 0.0               // the first class whose cumulative weight exceeds u
            for k in weights.indices where weights[k] > 0 {
                c = k
                cumulative += weights[k]
                if u < cumulative { break }
            }
            parts[w].append(pools[c].removeLast())
            if parts[w].count == size { short.swapAt(slot, short.count - 1); short.removeLast() }
        }
        return parts
    }

    private func checkMinimum(_ n: Int) throws {
        guard minimumSamples >= 0, minimumSamples * workers <= n else {
            throw PartitionError("\(workers) workers × min_samples \(minimumSamples) is more than the \(n) samples")
        }
    }
}

/// A partition spec that cannot be satisfied.
public struct PartitionError: Error, CustomStringConvertible {
    public let description: String
    public init(_ description: String) { self.description = "partition: " + description }
}

/// Samples and label histogram per worker.
public struct PartitionSummary: Sendable {
    /// The distinct label values, ascending.
    public let classes: [Double]
    /// `counts[w][c]`: samples of class `classes[c]` at worker `w`.
    public let counts: [[Int]]

    public init(labels: [Double], parts: [[Int]]) {
        classes = Array(Set(labels)).sorted()
        let column = Dictionary(uniqueKeysWithValues: classes.enumerated().map { ($0.element, $0.offset) })
        counts = parts.map { part in
            var h = [Int](repeating: 0, count: column.count)
            for i in part { h[column[labels[i]]!] += 1 }
            return h
        }
    }

    public var samples: [Int] { counts.map { $0.reduce(0, +) } }

    /// The pooled label histogram.
    public var total: [Int] { classes.indices.map { c in counts.reduce(0) { $0 + $1[c] } } }

    /// Total-variation distance `½ Σ_c |p_w(c) − p(c)|` between worker `w`'s label distribution and the pooled one.
    public func totalVariation(worker w: Int) -> Double {
        let all = total, m = Double(all.reduce(0, +)), mw = Double(samples[w])
        guard mw > 0, m > 0 else { return 1 }
        return 0.5 * classes.indices.reduce(0.0) { $0 + abs(Double(counts[w][$1]) / mw - Double(all[$1]) / m) }
    }

    /// Mean total-variation distance over workers: 0 for identical label mixes, near 1 for disjoint classes.
    public var meanTotalVariation: Double {
        counts.isEmpty ? 0 : counts.indices.reduce(0.0) { $0 + totalVariation(worker: $1) } / Double(counts.count)
    }

    /// A text table: worker, samples, one column per label value (up to 30; beyond, samples only), TV distance.
    public var table: String {
        let showClasses = classes.count <= 30
        var header = ["worker", "samples"]
        if showClasses { header += classes.map { formatLabel($0) } }
        header.append("tv")
        var rows: [[String]] = counts.indices.map { w in
            var r = [String(w), String(samples[w])]
            if showClasses { r += counts[w].map(String.init) }
            r.append(String(format: "%.3f", totalVariation(worker: w)))
            return r
        }
        var last = ["all", String(samples.reduce(0, +))]
        if showClasses { last += total.map(String.init) }
        last.append(String(format: "%.3f", meanTotalVariation))
        rows.append(last)
        let widths = header.indices.map { c in ([header] + rows).map { $0[c].count }.max()! }
        func line(_ r: [String]) -> String {
            r.enumerated().map { String(repeating: " ", count: widths[$0.offset] - $0.element.count) + $0.element }.joined(separator: "  ")
        }
        var out = line(header) + "\n"
        for r in rows.dropLast() { out += line(r) + "\n" }
        out += line(last) + "   (tv: total-variation distance to the pooled label mix; last row: mean)\n"
        return out
    }
}

func formatLabel(_ v: Double) -> String {
    v == v.rounded() && abs(v) < 1e15 ? String(Int(v)) : String(v)
}
