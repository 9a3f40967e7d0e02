import Foundation

/// Peak resident memory of processes (Linux): what a run really needed, for reports and budgets.
public enum ProcessMemory {
    /// This process's peak resident set so far, in MB (`getrusage`'s `ru_maxrss`, in KiB on Linux).
    public static func peakResidentMB() -> Double {
        var usage = rusage()
        guard getrusage(__rusage_who_t(RUSAGE_SELF.rawValue), &usage) == 0 else { return 0 }
        return Double(usage.ru_maxrss) * 1024 / 1e6
    }

    /// Another running process's peak resident set (`VmHWM` in `/proc/PID/status`), in MB; `nil` once it is gone.
    public static func peakResidentMB(pid: Int32) -> Double? {
        guard let status = try? String(contentsOfFile: "/proc/\(pid)/status", encoding: .utf8),
              let line = status.split(separator: "\n").first(where: { $0.hasPrefix("VmHWM:") }),
              let kib = line.split(separator: " ", omittingEmptySubsequences: true).dropFirst().first.flatMap({ Double($0) }) else { return nil }
        return kib * 1024 / 1e6
    }
}
