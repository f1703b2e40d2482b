// A background thread that runs beside one trial's training on each rank of its group:
//   • forwards a process stop signal (SIGTERM/SIGINT/SIGUSR1 seen by the sweep's StopSignal) to the trial's
//     own StopSignal, so the trainer finishes its step, writes last.h5 and returns as for `train`;
//   • on the group's rank 0 with pruning on, re-evaluates the median stopping rule whenever the trial logs a
//     new validation check and, if it says stop, requests a stop the same way. The trainer all-gathers stop
//     requests every step, so every rank of the group stops after the same step.
// The trial's StopSignal is a fresh manual one per trial, so a pruned trial does not stop the next one.

import Foundation
import Training

final class SweepTrialMonitor: @unchecked Sendable {
    private let processStop: StopSignal
    let trialStop: StopSignal
    private let check: (() -> String?)?
    private let lock = NSLock()
    private var ended = false
    private var reason: String?
    private let done = DispatchSemaphore(value: 0)

    /// `check` (group rank 0 with pruning on) returns a reason to prune, or nil.
    init(processStop: StopSignal, label: String, check: (() -> String?)?) {
        self.processStop = processStop
        self.trialStop = StopSignal(graceSeconds: processStop.graceSeconds, label: label)
        self.check = check
    }

    /// Why the trial was pruned (nil: not pruned).
    var pruneReason: String? {
        lock.lock()
        defer { lock.unlock() }
        return reason
    }

    private var isEnded: Bool {
        lock.lock()
        defer { lock.unlock() }
        return ended
    }

    func start() {
        let t = Thread { [self] in
            var lastCheck = Date.distantPast
            while !isEnded {
                if let s = processStop.requested { trialStop.request(s) }
                if let check, pruneReason == nil, Date().timeIntervalSince(lastCheck) >= 0.1 {
                    lastCheck = Date()
                    if let r = check() {
                        lock.lock()
                        reason = r
                        lock.unlock()
                        trialStop.request("the median stopping rule")
                    }
                }
                Thread.sleep(forTimeInterval: 0.02)
            }
            done.signal()
        }
        t.name = "cgm-sweep-monitor"
        t.stackSize = 1 << 19
        t.start()
    }

    /// Ends the thread and waits for it.
    func finish() {
        lock.lock()
        ended = true
        lock.unlock()
        done.wait()
    }
}
