import ArgumentParser
import Foundation
import NTKReport

/// `ntk report RUN_DIR…`: one HTML page comparing finished (or running) federated runs.
struct ReportCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "report",
        abstract: "Write a self-contained HTML report (tables and SVG charts) of one or more run directories.",
        discussion: """
        Reads RUN_DIR/rounds.jsonl of every run (written by ntk run, ntk-server or ntk fit) and writes one page: \
        a summary table (final and best test accuracy, the round, data and time to reach --target, whether \
        later rounds stay above it), test accuracy by round and by data transferred, training and test loss, \
        seconds per phase of each round, the kernel's eigenvalue spectrum, condition number and effective rank \
        at each refresh, and the kernel drift. The page needs no network and no scripts. Prints the page's path \
        and the summary table.
        """)

    @Argument(help: ArgumentHelp("Run directories, e.g. runs/digits-noniid runs/digits-noniid-fedavg.", valueName: "run-dir"))
    var runDirectories: [String]

    @Option(name: .long, help: "Where to write the page (default: <first RUN_DIR>/report.html).")
    var output: String?

    @Option(name: .long, help: "Test accuracy (a fraction in (0, 1]) whose first round, data and time the summary reports.")
    var target = 0.97

    @Option(name: .long, help: "The page's title (default: the run names).")
    var title: String?

    func validate() throws {
        guard !runDirectories.isEmpty else { throw ValidationError("give at least one run directory") }
        guard target > 0, target <= 1 else { throw ValidationError("--target must be a fraction in (0, 1], got \(target)") }
        for directory in runDirectories {
            var isDirectory: ObjCBool = false
            guard FileManager.default.fileExists(atPath: directory, isDirectory: &isDirectory), isDirectory.boolValue else {
                throw ValidationError("\(directory): not a directory")
            }
        }
    }

    func run() throws {
        let runs: [RunHistory]
        do { runs = try runDirectories.map { try RunHistory.load(URL(fileURLWithPath: $0)) } } catch let error as RunHistoryError {
            throw ValidationError(error.description)
        }
        let destination = URL(fileURLWithPath: output ?? URL(fileURLWithPath: runDirectories[0]).appendingPathComponent("report.html").path)
        let page = ReportPage(title: title ?? "Federated runs: " + runs.map(\.name).joined(separator: ", "),
                              runs: runs, target: target, generated: Date())
        try FileManager.default.createDirectory(at: destination.deletingLastPathComponent(), withIntermediateDirectories: true)
        try page.html().write(to: destination, atomically: true, encoding: .utf8)
        print(destination.path)
        print(Self.table(runs.map { RunSummary($0, target: target) }, target: target))
    }

    /// The summary as aligned text columns, the same figures as the page's table.
    static func table(_ summaries: [RunSummary], target: Double) -> String {
        let rows = [RunSummary.headings(target: target)] + summaries.map(\.cells)
        let widths = rows[0].indices.map { column in rows.map { $0[column].count }.max() ?? 0 }
        return rows.map { Console.row($0, widths: widths) }.joined(separator: "\n")
    }
}
