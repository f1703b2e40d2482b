// Graceful stop on SIGTERM / SIGINT (cluster preemption, scancel, kill, Ctrl-C) and SIGUSR1 / SIGUSR2 (what
// launch/mpirun.sh sends mpirun when it gets SIGTERM / SIGINT: mpirun forwards SIGUSR1 and SIGUSR2 to every
// rank, where SIGTERM or SIGINT would make it tear the job down). Under launch/mpirun.sh
// (CGMTRAIN_FORWARDED_SIGNALS=1) SIGUSR1 is reported as SIGTERM and SIGUSR2 as SIGINT, the signals the
// user sent. A plain `mpirun` turns both SIGINT and SIGTERM into SIGTERM for the ranks (Open MPI 4.1 cannot
// forward either, ess_base_forward_signals refuses them) and exits 1 once it was signalled, whatever the
// ranks return: the ranks still write last.h5 (if they can within odls_base_sigkill_timeout, 1 s by
// default), and the message says that mpirun may have received SIGINT.
//
// A process-wide signal handler (sigaction via signal(), SA_RESTART semantics, so blocking calls such as
// MPI's resume) only records the signal in a global; the training loop reads it once per optimizer step
// and all-gathers it, so every rank stops after the same step even when only one rank was signalled.
// The trainer then writes last.h5 and exits 0 with a message saying how to resume. (A dispatch signal
// source is not used: on Linux it reads a signalfd, which only sees the signal if every thread blocks it,
// and MPI starts threads of its own.)
//
// Two safety nets keep a stop from hanging:
//   • a second SIGTERM/SIGINT exits at once (status 128 + signal);
//   • after the first signal a watchdog thread gives the process `graceSeconds` (env
//     CGMTRAIN_STOP_GRACE_SECONDS, default 10) to finish; if it has not (typically because a peer rank
//     died and a collective can never complete), it prints why and exits with status 128 + signal.
//     Under mpirun, Open MPI itself SIGKILLs ranks `odls_base_sigkill_timeout` seconds after its SIGTERM
//     (launch/mpirun.sh sets that to the same grace) and tears the job down within about twice that when a
//     rank dies; the watchdog covers launchers that would not.

import Config
import Foundation

/// Signal number recorded by the handler (0: none). Written only by the signal handler.
nonisolated(unsafe) private var receivedSignal: Int32 = 0
/// Signals received so far (the second one exits at once).
nonisolated(unsafe) private var receivedCount: Int32 = 0
/// The message written (with write(2), async-signal-safe) when a second signal forces an exit.
nonisolated(unsafe) private var secondSignalMessage: UnsafeMutablePointer<CChar>?

private func handleStopSignal(_ sig: Int32) {
    receivedCount &+= 1
    if receivedCount > 1 {
        if let m = secondSignalMessage { _ = write(STDERR_FILENO, m, strlen(m)) }
        _exit(128 + sig)
    }
    receivedSignal = sig
}

/// Reads the handler's global (not inlined, so every call really loads it).
@inline(never)
private func currentSignal() -> Int32 { receivedSignal }

/// A stop request set by SIGTERM/SIGINT (or programmatically), read by the training loop.
public final class StopSignal: @unchecked Sendable {
    private let lock = NSLock()
    private var manual: String?
    private var finished = false
    private let watchesSignals: Bool
    /// Seconds granted after the first signal before the watchdog exits the process.
    public let graceSeconds: Double
    /// Prefix of the watchdog's message, e.g. "cgmtrain train: rank 1".
    public let label: String

    /// A stop signal that only `request(_:)` sets (tests, embedding without handlers).
    public init(graceSeconds: Double = StopSignal.defaultGrace, label: String = "cgmtrain") {
        self.graceSeconds = graceSeconds
        self.label = label
        self.watchesSignals = false
    }

    private init(installedWith label: String) {
        self.graceSeconds = StopSignal.defaultGrace
        self.label = label
        self.watchesSignals = true
    }

    /// CGMTRAIN_STOP_GRACE_SECONDS, or 10.
    public static var defaultGrace: Double {
        ProcessInfo.processInfo.environment["CGMTRAIN_STOP_GRACE_SECONDS"].flatMap(Double.init).map { max(0.5, $0) } ?? 10
    }

    /// Installs the SIGTERM, SIGINT and SIGUSR1 handlers (once per process) and starts the watchdog.
    public static func install(label: String) -> StopSignal {
        let s = StopSignal(installedWith: label)
        secondSignalMessage = strdup("\(label): second stop signal: exiting now without a checkpoint\n")
        signal(SIGTERM, handleStopSignal)
        signal(SIGINT, handleStopSignal)
        signal(SIGUSR1, handleStopSignal)
        signal(SIGUSR2, handleStopSignal)
        let watchdog = Thread { s.watch() }
        watchdog.name = "cgm-stop-watchdog"
        watchdog.stackSize = 1 << 18
        watchdog.start()
        return s
    }

    /// The signal's name once one arrived (the user's signal: see the file comment), the requested name after
    /// `request`, else nil.
    public var requested: String? {
        if watchesSignals, let name = Self.name(currentSignal(), environment: ProcessInfo.processInfo.environment) {
            return name
        }
        lock.lock()
        defer { lock.unlock() }
        return manual
    }

    /// How a received signal is reported: SIGUSR1/SIGUSR2 forwarded by launch/mpirun.sh are the SIGTERM/SIGINT
    /// it received; a SIGTERM from a plain mpirun may have been a SIGINT to it. Nil for 0 (none).
    static func name(_ sig: Int32, environment env: [String: String]) -> String? {
        let forwarded = env["CGMTRAIN_FORWARDED_SIGNALS"] == "1"
        let underMPIRun = env["OMPI_COMM_WORLD_SIZE"] != nil
        switch sig {
        case 0: return nil
        case SIGTERM where underMPIRun && !forwarded:
            return "SIGTERM (sent by mpirun for a SIGINT or SIGTERM it received; mpirun then exits 1 however the "
                + "ranks end, launch/mpirun.sh exits 0)"
        case SIGTERM: return "SIGTERM"
        case SIGINT: return "SIGINT"
        case SIGUSR1: return forwarded ? "SIGTERM" : "SIGUSR1"
        case SIGUSR2: return forwarded ? "SIGINT" : "SIGUSR2"
        case let other: return "signal \(other)"
        }
    }

    /// Requests a stop as a signal would (without the watchdog).
    public func request(_ name: String = "a stop request") {
        lock.lock()
        if manual == nil { manual = name }
        lock.unlock()
    }

    /// Tells the watchdog the process is stopping cleanly (no forced exit any more).
    public func markFinished() {
        lock.lock()
        finished = true
        lock.unlock()
    }

    private var isFinished: Bool {
        lock.lock()
        defer { lock.unlock() }
        return finished
    }

    /// Watchdog loop: after the first signal, exits the process if it has not finished within the grace.
    private func watch() {
        var since: Date?
        while true {
            Thread.sleep(forTimeInterval: 0.1)
            let sig = currentSignal()
            guard sig != 0 else { continue }
            let start = since ?? Date()
            since = start
            if isFinished { return }
            if Date().timeIntervalSince(start) >= graceSeconds {
                FileHandle.standardError.write(Data(("\(label): received \(requested ?? "a signal") but could not stop "
                    + "cleanly within \(YAMLNode.formatDouble(graceSeconds)) s (is a peer rank dead?); exiting without a "
                    + "checkpoint\n").utf8))
                _exit(128 + sig)
            }
        }
    }
}
