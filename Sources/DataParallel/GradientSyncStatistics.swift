import Foundation

/// Where the gradient all-reduce spent its time, accumulated over optimizer steps (reset with
/// `DataParallel.resetStatistics()`).
///
/// `exposedSeconds` is communication the training thread waited for after backward: the blocking
/// all-reduces, or the `wait()`s of all-reduces started during backward, plus the averaging.
/// `launchSeconds` is time spent inside the non-blocking start calls during backward (already part of
/// backward's wall time). How much communication is *hidden* is what overlap removes from the exposed
/// time: compare `exposedSeconds` of a run with overlap against one without (the benchmark does).
public struct GradientSyncStatistics: Equatable, Sendable {
    /// Optimizer steps synchronized.
    public var steps = 0
    /// Bucket all-reduces issued (the sample-count all-reduce is not counted).
    public var bucketAllReduces = 0
    /// Gradient bytes all-reduced.
    public var bytes = 0
    /// All-reduces started during backward (overlap).
    public var launchedDuringBackward = 0
    /// Seconds the training thread waited for communication after backward.
    public var exposedSeconds = 0.0
    /// Seconds inside non-blocking start calls made during backward.
    public var launchSeconds = 0.0
    /// Seconds of the synchronizing micro-batches' backward passes (including launches).
    public var synchronizingBackwardSeconds = 0.0

    public init() {}

    /// Exposed seconds per step.
    public var exposedPerStep: Double { steps > 0 ? exposedSeconds / Double(steps) : 0 }
}

/// Monotonic clock in seconds.
@inline(__always)
func monotonicSeconds() -> Double {
    var ts = timespec()
    clock_gettime(CLOCK_MONOTONIC, &ts)
    return Double(ts.tv_sec) + Double(ts.tv_nsec) * 1e-9
}

/// CPU time consumed by the calling thread, in seconds.
func threadCPUSeconds() -> Double {
    var ts = timespec()
    clock_gettime(CLOCK_THREAD_CPUTIME_ID, &ts)
    return Double(ts.tv_sec) + Double(ts.tv_nsec) * 1e-9
}
