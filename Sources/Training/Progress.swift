// Rank 0's console output. On a terminal: a one-line bar redrawn with \r (epoch, step/steps, loss,
// samples/s, ETA), cleared before any other line. Otherwise (files, CI): a plain line every
// `log_every_seconds`. Under mpirun a rank's stdout is a pseudo-terminal even when mpirun's output goes to
// a file, so there the launcher decides: CGMTRAIN_PROGRESS=bar|plain (launch/mpirun.sh sets it from its
// own stdout); without it, MPI runs print plain lines. Validation checks, epoch summaries and notes are always printed as lines. Other
// ranks print nothing (they get a `Progress` with `enabled == false`) unless something goes wrong.

import Foundation

/// Console progress of a run (rank 0).
public final class Progress {
    /// False on ranks other than 0.
    public let enabled: Bool
    /// Redraw a bar (stdout is a terminal) instead of periodic lines.
    public let isTerminal: Bool
    /// Seconds between plain lines.
    public let every: Double
    private var lastPrint = Date.distantPast
    private var barVisible = false
    /// Where lines go (tests capture it).
    public var sink: (String) -> Void = { text in FileHandle.standardOutput.write(Data(text.utf8)) }

    public init(enabled: Bool, every: Double, isTerminal: Bool = Progress.stdoutIsTerminal) {
        self.enabled = enabled
        self.every = every
        self.isTerminal = isTerminal
    }

    /// CGMTRAIN_PROGRESS=bar|plain if set; plain under mpirun; else whether stdout is a terminal.
    public static var stdoutIsTerminal: Bool {
        let env = ProcessInfo.processInfo.environment
        switch env["CGMTRAIN_PROGRESS"] {
        case "bar": return true
        case "plain": return false
        default: return env["OMPI_COMM_WORLD_SIZE"] == nil && env["PMIX_RANK"] == nil && isatty(STDOUT_FILENO) != 0
        }
    }

    /// Prints a whole line (clearing the bar first).
    public func line(_ text: String) {
        guard enabled else { return }
        sink((barVisible ? "\r\u{1B}[2K" : "") + text + "\n")
        barVisible = false
    }

    /// Reports training progress after a step; prints (bar or plain line) when due.
    public func step(epoch: Int, maxEpochs: Int, stepInEpoch: Int, stepsPerEpoch: Int, loss: Double,
                     samplesPerSecond: Double, etaSeconds: Double) {
        guard enabled else { return }
        let now = Date()
        if isTerminal {
            guard now.timeIntervalSince(lastPrint) >= 0.1 || stepInEpoch == stepsPerEpoch else { return }
            lastPrint = now
            let width = 24, filled = stepsPerEpoch > 0 ? width * stepInEpoch / stepsPerEpoch : 0
            let bar = String(repeating: "█", count: filled) + String(repeating: "·", count: width - filled)
            sink("\r\u{1B}[2Kepoch \(epoch)/\(maxEpochs) \(bar) \(stepInEpoch)/\(stepsPerEpoch) loss \(Self.fmt(loss)) "
                 + "\(Self.rate(samplesPerSecond)) samples/s ETA \(Self.clock(etaSeconds))")
            barVisible = true
        } else {
            guard now.timeIntervalSince(lastPrint) >= every else { return }
            lastPrint = now
            line("epoch \(epoch)/\(maxEpochs) step \(stepInEpoch)/\(stepsPerEpoch) loss \(Self.fmt(loss)) "
                 + "\(Self.rate(samplesPerSecond)) samples/s ETA \(Self.clock(etaSeconds))")
        }
    }

    /// Restarts the plain-line timer (so the first periodic line comes `every` seconds after a start).
    public func resetTimer() { lastPrint = Date() }

    // MARK: Formatting

    /// 4 significant digits ("0.01234", "1.235e-05").
    public static func fmt(_ v: Double) -> String {
        guard v.isFinite else { return "\(v)" }
        if v != 0 && (abs(v) < 1e-3 || abs(v) >= 1e5) { return String(format: "%.3e", v) }
        return String(format: "%.5f", v)
    }

    static func rate(_ v: Double) -> String { v.isFinite ? String(format: "%.0f", v) : "-" }

    /// "1:02:03" or "2:03".
    public static func clock(_ seconds: Double) -> String {
        guard seconds.isFinite, seconds >= 0 else { return "-" }
        let s = Int(seconds.rounded())
        return s >= 3600 ? String(format: "%d:%02d:%02d", s / 3600, s / 60 % 60, s % 60) : String(format: "%d:%02d", s / 60, s % 60)
    }
}
