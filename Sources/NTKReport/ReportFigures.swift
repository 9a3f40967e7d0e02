import Foundation
import NTKCore
import NTKServer

/// The report's charts, built from run histories. Each returns nil when no run has the data, so that the
/// page can say so instead of drawing an empty chart.
public enum ReportFigures {
    /// Test accuracy (%) against the round, every run overlaid, with the target as a dashed line.
    public static func accuracyByRound(_ runs: [RunHistory], target: Double) -> SVGChart? {
        accuracyChart(runs, target: target, title: "Test accuracy by round", xLabel: "round", xScale: .linear) { run in
            run.records.map { Double($0.round) }
        }
    }

    /// Test accuracy (%) against the megabytes moved so far (in + out), log x.
    public static func accuracyByBytes(_ runs: [RunHistory], target: Double) -> SVGChart? {
        accuracyChart(runs, target: target, title: "Test accuracy by data transferred",
                      xLabel: "cumulative data transferred, up + down (MB, log scale)", xScale: .logarithmic) { run in
            run.cumulativeBytes.map { Double($0) / 1e6 }
        }
    }

    private static func accuracyChart(_ runs: [RunHistory], target: Double, title: String, xLabel: String, xScale: AxisScale.Kind,
                                      x: (RunHistory) -> [Double]) -> SVGChart? {
        let series = runs.enumerated().map { index, run in
            SVGChart.Series(name: run.label, points: points(x(run), run.records.map { $0.testAccuracy.map { 100 * $0 } }), color: Palette.run(index))
        }
        return chart(SVGChart(title: title, xLabel: xLabel, yLabel: "test accuracy (%)", xScale: xScale, integerX: xScale == .linear,
                              series: series, rules: [.init(y: 100 * target, label: "target \(ReportFormat.target(target))")]))
    }

    /// Training loss (of the real network over all workers' samples) against the round, log y, every run overlaid.
    public static func trainingLoss(_ runs: [RunHistory]) -> SVGChart? {
        lossChart(runs, title: "Training loss", loss: \.trainLoss)
    }

    /// Loss on the server's held-out set against the round, on the same y axis as `trainingLoss`.
    public static func testLoss(_ runs: [RunHistory]) -> SVGChart? {
        lossChart(runs, title: "Test loss", loss: \.testLoss)
    }

    private static func lossChart(_ runs: [RunHistory], title: String, loss: KeyPath<RoundRecord, Double?>) -> SVGChart? {
        let series = runs.enumerated().map { index, run in
            SVGChart.Series(name: run.label, points: points(run.records.map { Double($0.round) }, run.records.map { $0[keyPath: loss] }),
                            color: Palette.run(index))
        }
        // Both loss charts span every loss recorded, so that their curves can be compared by eye.
        let everyLoss = runs.flatMap { $0.records.flatMap { [$0.trainLoss, $0.testLoss].compactMap { $0 } } }
        return chart(SVGChart(title: title, xLabel: "round", yLabel: "loss (log scale)", yScale: .logarithmic, integerX: true,
                              series: series, yExtent: everyLoss))
    }

    /// Seconds per phase in each round of one run, stacked; what the recorded phases leave of the round's
    /// wall time is shown as "other", so that a bar's height is the round's duration.
    public static func phases(_ run: RunHistory) -> StackedBarChart {
        let phases = run.strategy.isBaseline ? fedAvgPhases : ntkPhases
        var components = phases.enumerated().map { index, phase in
            StackedBarChart.Component(name: phase.name, color: phaseColors[index % phaseColors.count],
                                      values: run.records.map { max(0, phase.seconds($0.seconds)) })
        }
        let accounted = run.records.indices.map { i in components.reduce(0) { $0 + $1.values[i] } }
        components.append(.init(name: "other", color: "#bbbbbb", values: zip(run.records, accounted).map { max(0, $0.totalSeconds - $1) }))
        return StackedBarChart(title: "Time per phase: \(run.label)", xLabel: "round", yLabel: "seconds",
                               bars: run.records.map(\.round), components: components)
    }

    /// A phase of a round and where its seconds are in the record.
    struct Phase {
        let name: String
        let seconds: (RoundRecord.Phases) -> Double
    }

    /// The NTK round's phases in the order they happen. The Gram is assembled while blocks arrive, inside the
    /// block phase's transfer-and-wait time, so it is carved out of `transfer` rather than counted twice.
    static let ntkPhases = [
        Phase(name: "worker compute") { $0.workerCompute },
        Phase(name: "transfer") { $0.transfer - $0.gram },
        Phase(name: "gram") { $0.gram },
        Phase(name: "drift") { $0.drift },
        Phase(name: "solve") { $0.solve },
        Phase(name: "time search") { $0.timeSearch },
        Phase(name: "update") { $0.update },
        Phase(name: "evaluation") { $0.evaluation },
        Phase(name: "checkpoint") { $0.checkpoint },
    ]

    /// A FedAvg round records its broadcast, local training and upload as `blocks`.
    static let fedAvgPhases = [Phase(name: "local training") { $0.blocks }] + ntkPhases.dropFirst(4)

    /// Tableau 10, one colour per phase (distinct from each other, not from the run colours: phases have their own charts).
    static let phaseColors = ["#4e79a7", "#f28e2b", "#e15759", "#9c755f", "#76b7b2", "#59a14f", "#edc948", "#b07aa1", "#ff9da7"]

    /// The kernel's eigenvalues against their rank (log–log), one line per refresh of one run; nil for a run
    /// without spectra (FedAvg, or a run recorded before spectra were).
    public static func spectrum(_ run: RunHistory) -> SVGChart? {
        let refreshes = run.records.compactMap { record in record.spectrum.map { (round: record.round, spectrum: $0) } }
        guard !refreshes.isEmpty else { return nil }
        let colors = Palette.sequence(refreshes.count)
        let series = refreshes.enumerated().map { index, refresh in
            SVGChart.Series(name: "round \(refresh.round) (\(refresh.spectrum.method), \(refresh.spectrum.count) values)",
                            points: points(refresh.spectrum.ranks.map(Double.init), refresh.spectrum.values),
                            color: colors[index], markers: refresh.spectrum.values.count <= 24)
        }
        return chart(SVGChart(title: "Kernel eigenvalues: \(run.label)", xLabel: "rank (log scale)", yLabel: "eigenvalue λ of H (log scale)",
                              xScale: .logarithmic, yScale: .logarithmic, series: series))
    }

    /// The condition number λ_max/λ_min of each refresh's kernel, every run overlaid, log y.
    public static func conditionNumber(_ runs: [RunHistory]) -> SVGChart? {
        spectrumFigure(runs, title: "Kernel condition number", yLabel: "λ_max / λ_min (log scale)", yScale: .logarithmic) { $0.conditionNumber }
    }

    /// The effective rank (Σλ)²/Σλ² of each refresh's kernel, every run overlaid.
    public static func effectiveRank(_ runs: [RunHistory]) -> SVGChart? {
        spectrumFigure(runs, title: "Kernel effective rank", yLabel: "(Σλ)² / Σλ²", yScale: .linear) { $0.effectiveRank }
    }

    /// The largest stable gradient-descent learning rate `2/(λ_max/m + ρ)` at each refresh, every run overlaid, log y.
    public static func stableStep(_ runs: [RunHistory]) -> SVGChart? {
        spectrumFigure(runs, title: "Stable step for gradient descent", yLabel: "2 / (λ_max/m + ρ) (log scale)", yScale: .logarithmic) { $0.stableStep }
    }

    /// The part of the residual in slow directions (λ ≤ m/(ητ)) at each refresh, in percent, every run overlaid.
    public static func slowResidual(_ runs: [RunHistory]) -> SVGChart? {
        spectrumFigure(runs, title: "Residual in slow directions", yLabel: "‖r‖² with λ ≤ m/(ητ) (%)", yScale: .linear, yExtent: [0, 100]) {
            $0.slowResidualFraction.map { 100 * $0 }
        }
    }

    private static func spectrumFigure(_ runs: [RunHistory], title: String, yLabel: String, yScale: AxisScale.Kind, yExtent: [Double] = [],
                                       value: (KernelSpectrum) -> Double?) -> SVGChart? {
        let series = runs.enumerated().map { index, run in
            SVGChart.Series(name: run.label, points: points(run.records.map { Double($0.round) }, run.records.map { $0.spectrum.flatMap(value) }),
                            color: Palette.run(index))
        }
        return chart(SVGChart(title: title, xLabel: "refresh round", yLabel: yLabel, yScale: yScale, integerX: true, series: series,
                              yExtent: yExtent))
    }

    /// The measured kernel drift ‖H_new − H_old‖/‖H_old‖ per round (rounds without a measurement are skipped).
    public static func kernelDrift(_ runs: [RunHistory]) -> SVGChart? {
        let series = runs.enumerated().map { index, run in
            let methods = Set(run.records.compactMap(\.kernelDriftMethod)).sorted()
            return SVGChart.Series(name: methods.isEmpty ? run.label : "\(run.label), \(methods.joined(separator: ", "))",
                                   points: points(run.records.map { Double($0.round) }, run.records.map(\.kernelDrift)),
                                   color: Palette.run(index))
        }
        let rounds = runs.filter { $0.records.contains { $0.kernelDrift != nil } }.flatMap { $0.records.map { Double($0.round) } }
        return chart(SVGChart(title: "Kernel drift between refreshes", xLabel: "round", yLabel: "‖H_new − H_old‖ / ‖H_old‖",
                              integerX: true, series: series, xExtent: rounds, yFromZero: true))
    }

    /// Pairs `xs` with the present `ys`.
    static func points(_ xs: [Double], _ ys: [Double?]) -> [SVGChart.Point] {
        zip(xs, ys).compactMap { x, y in y.map { SVGChart.Point(x, $0) } }
    }

    /// `chart` unless none of its series has a point it can draw.
    private static func chart(_ chart: SVGChart) -> SVGChart? { chart.drawableSeries.isEmpty ? nil : chart }
}
