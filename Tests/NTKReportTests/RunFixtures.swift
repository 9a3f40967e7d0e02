import Foundation
import NTKCore
import NTKServer
import NTKReport

/// Round records and run directories built in code, written the way the server writes them.
enum RunFixtures {
    /// A record with every required field; the tests set what they look at.
    static func record(round: Int, accuracy: Double?, up: Int = 100, down: Int = 50, seconds: Double = 2,
                       solver: String = "Lanczos", drift: Double? = nil, spectrum: KernelSpectrum? = nil) -> RoundRecord {
        // RoundRecord's memberwise initializer is internal to NTKServer; the JSON form is its public face.
        let minimal = """
        {"round": 0, "refreshed": false, "time": 0, "candidateLosses": [], "workers": [], "missingWorkers": [],
         "bytesReceived": {}, "bytesSent": 0, "solver": "", "totalSeconds": 0,
         "seconds": {"blocks": 0, "workerCompute": 0, "transfer": 0, "gram": 0, "solve": 0, "timeSearch": 0,
                     "update": 0, "evaluation": 0, "checkpoint": 0}}
        """
        var r = try! JSONDecoder().decode(RoundRecord.self, from: Data(minimal.utf8))
        r.round = round
        r.testAccuracy = accuracy
        r.trainLoss = accuracy.map { 1 - $0 }
        r.testLoss = accuracy.map { 1.2 * (1 - $0) }
        r.bytesReceived = ["worker-0": up - up / 2, "worker-1": up / 2]
        r.bytesSent = down
        r.totalSeconds = seconds
        r.solver = solver
        r.kernelDrift = drift
        r.spectrum = spectrum
        r.refreshed = spectrum != nil
        if solver == "fedavg" { r.seconds.blocks = seconds / 2 } else { r.seconds.solve = seconds / 2 }
        r.seconds.checkpoint = seconds / 4
        return r
    }

    /// `rounds.jsonl` text: one JSON object per line, as `RoundLog` writes it.
    static func jsonl(_ records: [RoundRecord]) -> String {
        let encoder = JSONEncoder()
        encoder.outputFormatting = [.sortedKeys]
        return records.map { String(decoding: try! encoder.encode($0), as: UTF8.self) + "\n" }.joined()
    }

    /// A fresh run directory named `name` under a temporary folder, holding `rounds.jsonl` with `text`.
    static func directory(_ name: String, text: String?) throws -> URL {
        let dir = FileManager.default.temporaryDirectory.appendingPathComponent("ntk-report-\(UUID().uuidString)").appendingPathComponent(name)
        try FileManager.default.createDirectory(at: dir, withIntermediateDirectories: true)
        if let text { try text.write(to: dir.appendingPathComponent("rounds.jsonl"), atomically: true, encoding: .utf8) }
        return dir
    }

    /// An NTK run (3 rounds, spectra and drift) and a FedAvg run (5 rounds, neither), as histories.
    static func twoRuns() -> [RunHistory] {
        let spectrum = { (scale: Double) in
            var s = KernelSpectrum(eigenvalues: (1...40).map { scale * 100 / Double($0 * $0) }, relativeFloor: 1e-7, method: "ritz")
            // Residual spread evenly over the 40 directions; with m = 50, η = 1, τ = 10 the threshold is λ ≤ 5.
            s.addDiagnostics(measure: (1...40).map { (scale * 100 / Double($0 * $0), 1) }, residualNorm2: 40, sampleCount: 50,
                             learningRate: 1, ridge: 0, time: 10)
            return s
        }
        let ntk = RunHistory(name: "ntk-run", directory: URL(fileURLWithPath: "/tmp/ntk-run"), records: [
            record(round: 1, accuracy: 0.95, up: 60_000_000, down: 30_000_000, spectrum: spectrum(1)),
            record(round: 2, accuracy: 0.975, up: 60_000_000, down: 30_000_000, drift: 0.14, spectrum: spectrum(1.1)),
            record(round: 3, accuracy: 0.978, up: 60_000_000, down: 30_000_000, drift: 0.19, spectrum: spectrum(1.2)),
        ])
        let fedAvg = RunHistory(name: "fedavg-run", directory: URL(fileURLWithPath: "/tmp/fedavg-run"), records: [
            0.87, 0.93, 0.96, 0.972, 0.968,
        ].enumerated().map { record(round: $0.offset + 1, accuracy: $0.element, up: 4_800_000, down: 4_800_000, solver: "fedavg") })
        return [ntk, fedAvg]
    }
}
