// HDF5Lock: one process-wide lock serializing HDF5 calls. Debian's libhdf5 is the serial build without
// --enable-threadsafe, so two threads inside the library at once corrupt its global state (error stack,
// identifier tables, metadata cache). Code that calls HDF5IO from a background thread (the CGMData
// prefetcher) takes this lock around every call, and so must any HDF5 use that can run concurrently with
// it (e.g. checkpoint writing on the training thread while a prefetcher is live). Single-threaded code
// that never overlaps with such a thread does not need it.

import Foundation

/// Process-wide lock around HDF5 library calls (the linked HDF5 is not thread-safe).
///
/// The lock is recursive: `withLock` may be nested on one thread (a reader that takes it can call
/// helpers that take it again). Keep critical sections to HDF5 work; do not block on other threads
/// while holding it.
public enum HDF5Lock {
    private static let lock: NSRecursiveLock = {
        let l = NSRecursiveLock()
        l.name = "HDF5Lock"
        return l
    }()

    /// Runs `body` while holding the process-wide HDF5 lock and returns its result.
    @discardableResult
    public static func withLock<R>(_ body: () throws -> R) rethrows -> R {
        lock.lock()
        defer { lock.unlock() }
        return try body()
    }
}
