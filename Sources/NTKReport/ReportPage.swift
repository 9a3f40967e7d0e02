import Foundation

/// The report as one self-contained page: inline CSS and SVG, no scripts, no fonts or anything else fetched.
///
/// Written as XHTML-compatible HTML (every element closed, only XML's five entities) so that an XML parser
/// can read the whole page; browsers render it as ordinary HTML.
public struct ReportPage: Sendable {
    public var title: String
    public var runs: [RunHistory]
    /// The test accuracy the summary measures "time to" against, as a fraction.
    public var target: Double
    /// Shown in the page's header; nil leaves it out (the same bytes for the same runs).
    public var generated: Date?

    public init(title: String, runs: [RunHistory], target: Double, generated: Date? = nil) {
        self.title = title
        self.runs = runs
        self.target = target
        self.generated = generated
    }

    /// The complete page.
    public func html() -> String {
        let body = [header(), summarySection(), accuracySection(), lossSection(), phaseSection(), spectrumSection(), stepSection(), driftSection()]
        return """
        <!DOCTYPE html>
        <html xmlns="http://www.w3.org/1999/xhtml" lang="en">
        <head>
        <meta charset="utf-8"/>
        <title>\(Markup.escape(title))</title>
        <style>
        \(Self.style)
        </style>
        </head>
        <body>
        \(body.joined(separator: "\n"))
        </body>
        </html>

        """
    }

    private func header() -> String {
        let list = runs.map { "\(Markup.element("code", [:], Markup.escape($0.directory.path))) (\(Markup.escape($0.strategy.rawValue)))" }
        var meta = "Runs: \(list.joined(separator: ", ")). Target test accuracy: \(Markup.escape(ReportFormat.target(target)))."
        if let generated { meta += " Generated \(Markup.escape(ISO8601DateFormatter().string(from: generated)))." }
        return Markup.element("h1", [:], Markup.escape(title)) + "\n" + Markup.element("p", ["class": "meta"], meta)
    }

    private func summarySection() -> String {
        let summaries = runs.map { RunSummary($0, target: target) }
        let head = Markup.element("tr", [:], RunSummary.headings(target: target).map { Markup.element("th", [:], Markup.escape($0)) }.joined())
        let rows = summaries.map { summary in
            Markup.element("tr", [:], summary.cells.map { Markup.element("td", [:], Markup.escape($0)) }.joined())
        }
        let table = Markup.element("table", [:], Markup.element("thead", [:], head) + Markup.element("tbody", [:], rows.joined(separator: "\n")))
        let note = """
        Accuracy on the server's held-out set. “Data” counts bytes in both directions (workers → server and \
        server → workers; 1 MB = 10⁶ bytes); “time” is wall-clock time of the rounds, cumulative through the round \
        that first reaches the target. “Stays” says whether every later round is at or above the target too.
        """
        return section("Summary", [table, Markup.element("p", ["class": "note"], Markup.escape(note))])
    }

    private func accuracySection() -> String {
        section("Test accuracy", [
            figure(ReportFigures.accuracyByRound(runs, target: target)?.svg(), missing: "No run recorded a test accuracy."),
            figure(ReportFigures.accuracyByBytes(runs, target: target)?.svg(), missing: "No run recorded a test accuracy."),
        ])
    }

    private func lossSection() -> String {
        section("Loss", [
            figure(ReportFigures.trainingLoss(runs)?.svg(), missing: "No run recorded a training loss.",
                   caption: "NTK: loss of the network at the round's new θ over all workers' samples. FedAvg: mean loss of the workers' local models before averaging."),
            figure(ReportFigures.testLoss(runs)?.svg(), missing: "No run recorded a test loss.",
                   caption: "Loss on the server's held-out set; same axis as the training loss."),
        ])
    }

    private func phaseSection() -> String {
        let charts = runs.map { figure(ReportFigures.phases($0).svg(), missing: "") }
        let note = """
        Wall-clock seconds of each round by phase. NTK rounds: the slowest worker's Jacobian block, the transfer of the \
        blocks (and waiting for them), Gram assembly as blocks arrive (dense path), the kernel drift against the previous \
        refresh, the eigendecomposition or Lanczos solve, the search over candidate times, the update of θ, evaluation and the checkpoint. FedAvg rounds: broadcast, \
        local training and upload together. “Other” is what the recorded phases leave of the round (broadcast, \
        bookkeeping).
        """
        return section("Time per round", charts + [Markup.element("p", ["class": "note"], Markup.escape(note))])
    }

    private func spectrumSection() -> String {
        let perRun = runs.compactMap { ReportFigures.spectrum($0).map { figure($0.svg(), missing: "") } }
        guard !perRun.isEmpty else {
            return section("Kernel spectrum", [missingNote("No run recorded a kernel spectrum (FedAvg computes no kernel).")])
        }
        let without = runs.filter { run in !run.records.contains { $0.spectrum != nil } }.map(\.label)
        var parts = perRun + [
            figure(ReportFigures.conditionNumber(runs)?.svg(), missing: ""),
            figure(ReportFigures.effectiveRank(runs)?.svg(), missing: ""),
        ]
        let note = """
        Eigenvalues of the Gram H at each refresh, at log-spaced ranks (rank 1 is the largest), above the solver's noise \
        floor. “dense”: every eigenvalue; “ritz”: the Ritz values of the Lanczos basis only, accurate at the ends of the \
        spectrum but sparse in its interior, so their ranks are ranks among the Ritz values and the condition number is \
        that of the extremes found.
        """
        parts.append(Markup.element("p", ["class": "note"], Markup.escape(note)))
        if !without.isEmpty { parts.append(missingNote("No kernel spectrum for \(without.joined(separator: ", ")).")) }
        return section("Kernel spectrum", parts)
    }

    /// What the spectrum means for training: the learning-rate bound and what the next rounds learn slowly.
    private func stepSection() -> String {
        let heading = "Step size and slow directions"
        let step = ReportFigures.stableStep(runs), slow = ReportFigures.slowResidual(runs)
        guard step != nil || slow != nil else {
            return section(heading, [missingNote("No run recorded the stable step or the slow residual (FedAvg, cross-entropy, or runs recorded before these diagnostics).")])
        }
        let rows = runs.flatMap(SpectrumTable.rows).filter { $0.stableStep != nil }
        let head = Markup.element("tr", [:], SpectrumTable.headings.map { Markup.element("th", [:], Markup.escape($0)) }.joined())
        let body = rows.map { row in Markup.element("tr", [:], SpectrumTable.cells(row).map { Markup.element("td", [:], Markup.escape($0)) }.joined()) }
        let table = Markup.element("table", [:], Markup.element("thead", [:], head) + Markup.element("tbody", [:], body.joined(separator: "\n")))
        let note = """
        Loss (1/2m) Σ‖y − f‖² + (ρ/2)‖θ − θ₀‖², m = all samples. Stable step: gradient descent on this loss (linearized \
        at the refresh) converges for learning rates below 2/(λ_max/m + ρ) and diverges above; λ_max/m is the top \
        eigenvalue of the Gauss–Newton part of the loss Hessian. Slow: eigen-directions of H with λ ≤ m/(ητ), τ the \
        round's longest candidate time, where gradient flow removes less than 63% (1 − 1/e) of the residual within the \
        round; the null space of H counts as slow (it is never learned). The percentage is the share of ‖f(θ) − y‖² at \
        the refresh in those directions: dense solves project the residual on the eigenvectors; Lanczos, whose Krylov \
        space starts from the residual, reads it from the Ritz vectors' first components (Gauss quadrature: close, \
        not exact). The round's chosen t is at most τ, so at least this share is learned slowly.
        """
        return section(heading, [figure(step?.svg(), missing: "No run recorded the stable step."),
                                 figure(slow?.svg(), missing: "No run recorded the slow residual."),
                                 table, Markup.element("p", ["class": "note"], Markup.escape(note))])
    }

    private func driftSection() -> String {
        let without = runs.filter { run in !run.records.contains { $0.kernelDrift != nil } }.map(\.label)
        var parts = [figure(ReportFigures.kernelDrift(runs)?.svg(), missing: "No run recorded a kernel drift (FedAvg computes no kernel; the first refresh has nothing to compare with).",
                            caption: "Relative change of the kernel since the previous refresh, measured at each refresh after the first.")]
        if !without.isEmpty && without.count < runs.count { parts.append(missingNote("No kernel drift for \(without.joined(separator: ", ")).")) }
        return section("Kernel drift", parts)
    }

    // MARK: - Markup helpers

    private func section(_ heading: String, _ parts: [String]) -> String {
        let figures = parts.filter { $0.hasPrefix("<figure") }, others = parts.filter { !$0.hasPrefix("<figure") }
        let grid = figures.isEmpty ? [] : [Markup.element("div", ["class": "grid"], "\n" + figures.joined(separator: "\n") + "\n")]
        return Markup.element("section", [:], "\n" + ([Markup.element("h2", [:], Markup.escape(heading))] + grid + others).joined(separator: "\n") + "\n")
    }

    /// A chart in a `<figure>` with its caption, or the sentence saying why there is none.
    private func figure(_ svg: String?, missing: String, caption: String? = nil) -> String {
        guard let svg else { return missingNote(missing) }
        let captionMarkup = caption.map { Markup.element("figcaption", [:], Markup.escape($0)) } ?? ""
        return Markup.element("figure", [:], svg + captionMarkup)
    }

    private func missingNote(_ text: String) -> String { Markup.element("p", ["class": "missing"], Markup.escape(text)) }

    /// Print-friendly and plain: two charts side by side on a wide screen, one on a narrow one.
    static let style = """
    body { font-family: "DejaVu Sans", Helvetica, Arial, sans-serif; font-size: 14px; color: #222; margin: 24px auto; max-width: 1340px; padding: 0 16px; }
    h1 { font-size: 22px; margin: 0 0 6px 0; }
    h2 { font-size: 17px; margin: 28px 0 10px 0; border-bottom: 1px solid #ccc; padding-bottom: 4px; }
    p.meta { color: #555; margin: 0 0 12px 0; }
    p.note { color: #555; font-size: 12.5px; max-width: 1300px; }
    p.missing { color: #777; font-style: italic; }
    table { border-collapse: collapse; font-size: 13px; }
    th, td { padding: 4px 10px; text-align: right; border-bottom: 1px solid #ddd; white-space: nowrap; }
    th:first-child, td:first-child, th:nth-child(2), td:nth-child(2) { text-align: left; }
    thead th { border-bottom: 2px solid #888; }
    .grid { display: grid; grid-template-columns: repeat(auto-fill, minmax(640px, 1fr)); gap: 12px 24px; }
    figure { margin: 0; }
    figure svg { max-width: 100%; height: auto; }
    figcaption { color: #555; font-size: 12.5px; margin-top: 2px; }
    """
}
