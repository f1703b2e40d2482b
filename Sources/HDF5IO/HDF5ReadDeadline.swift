// HDF5ReadDeadline: an end for a read that libhdf5 never finishes. A crafted or corrupt file can make
// Debian's libhdf5 1.10 loop forever inside the library (fuzz-checkpoint found one in the global heap that
// holds variable-length strings: H5HG_read under H5Aread). Code in a C loop cannot be interrupted, so a
// watchdog thread ends the process, naming the file, when one read takes longer than its deadline; under
// mpirun the job then ends as for any rank that exits non-zero.

import Foundation

/// Bounds how long reading one untrusted HDF5 file may take (default 300 s, or
/// $CGMTRAIN_HDF5_READ_TIMEOUT_S); past it the process prints an error naming the file and exits 1.
public enum HDF5ReadDeadline {
    private static let lock = NSLock()
    nonisolated(unsafe) private static var current: (file: String, what: String, start: Double, seconds: Double)?
    nonisolated(unsafe) private static var watching = false

    /// Seconds one read may take.
    public static var seconds: Double {
        ProcessInfo.processInfo.environment["CGMTRAIN_HDF5_READ_TIMEOUT_S"].flatMap(Double.init).flatMap { $0 > 0 ? $0 : nil } ?? 300
    }

    /// Runs `body` (reading `file`, described as `what`, e.g. "checkpoint") under the deadline. Nested calls
    /// run under the outermost one.
    public static func reading<R>(_ file: String, what: String, _ body: () throws -> R) rethrows -> R {
        lock.lock()
        let outermost = current == nil
        if outermost { current = (file, what, now(), seconds) }
        if !watching { watching = true; startWatcher() }
        lock.unlock()
        defer { if outermost { lock.lock(); current = nil; lock.unlock() } }
        return try body()
    }

    private static func now() -> Double { Double(DispatchTime.now().uptimeNanoseconds) / 1e9 }

    private static func startWatcher() {
        let t = Thread {
            while true {
                Thread.sleep(forTimeInterval: 0.25)
                lock.lock()
                let late = current.flatMap { now() - $0.start > $0.seconds ? $0 : nil }
                lock.unlock()
                guard let late else { continue }
                let message = "error: \(late.what) \(late.file): the HDF5 library has not finished reading it after "
                    + "\(Int(late.seconds)) s (CGMTRAIN_HDF5_READ_TIMEOUT_S): the file is corrupt or crafted to make "
                    + "libhdf5 loop; giving up\n"
                FileHandle.standardError.write(Data(message.utf8))
                _exit(1)   // not exit(): atexit handlers would re-enter the HDF5 library the stuck thread holds
            }
        }
        t.name = "HDF5ReadDeadline"
        t.start()
    }
}
