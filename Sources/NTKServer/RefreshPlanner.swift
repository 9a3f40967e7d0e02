import NTKConfig

/// Decides, round by round, whether the server re-linearizes (asks for new blocks) or keeps integrating on
/// the last kernel, following the configured `RefreshSchedule`.
public struct RefreshPlanner: Codable, Equatable, Sendable {
    /// Round of the last refresh (0: none yet).
    public private(set) var lastRefreshRound = 0
    /// Current interval of the adaptive schedule.
    public private(set) var interval = 1

    public init() {}

    /// Whether `round` (1-based) needs new blocks. The first round always does.
    public func needsRefresh(round: Int, schedule: RefreshSchedule) -> Bool {
        if lastRefreshRound == 0 { return true }
        switch schedule {
        case .everyRound: return true
        case .every(let r): return round - lastRefreshRound >= r
        case .adaptive: return round - lastRefreshRound >= interval
        }
    }

    /// Records the end of a round; at a refresh, the drift `‖H_new − H_old‖/‖H_old‖` it measured (nil on the first).
    public mutating func recordRefresh(round: Int, drift: Double?, schedule: RefreshSchedule, refreshed: Bool = true) {
        guard refreshed else { return }
        lastRefreshRound = round
        if case .adaptive(let threshold, let maxInterval) = schedule, let drift {
            interval = drift < threshold ? min(2 * interval, maxInterval) : 1
        }
    }
}
