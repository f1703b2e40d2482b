import Foundation

/// A contiguous, 64-byte aligned buffer of `Float`s shared by one or more `Tensor`s.
///
/// Storage is a reference type; `Tensor` gives it value semantics by copying on write
/// (`isKnownUniquelyReferenced`). Parameter tensors are views (offset + shape) into one large
/// storage owned by a `ParameterStore`, so the optimizer and the gradient all-reduce see one flat buffer.
public final class TensorStorage {
    public let pointer: UnsafeMutablePointer<Float>
    public let count: Int

    /// Allocates `count` floats, uninitialized.
    public init(uninitializedCount count: Int) {
        precondition(count >= 0, "negative storage size \(count)")
        _ = TensorStorage.allocatorTuned
        var raw: UnsafeMutableRawPointer?
        let bytes = max(count, 1) * MemoryLayout<Float>.stride
        guard posix_memalign(&raw, 64, bytes) == 0, let raw else {
            fatalError("out of memory allocating \(bytes) bytes for a tensor")
        }
        self.pointer = raw.bindMemory(to: Float.self, capacity: max(count, 1))
        self.count = count
    }

    /// Allocates `count` floats set to zero.
    public convenience init(zeroedCount count: Int) {
        self.init(uninitializedCount: count)
        pointer.initialize(repeating: 0, count: count)
    }

    deinit { free(pointer) }

    /// glibc serves allocations above its mmap threshold with fresh `mmap`s and unmaps them on
    /// `free`, so every training step would page-fault its activations in again. Keeping large
    /// blocks on the heap (bounded by the peak working set, which the RSS benchmark watches) makes
    /// the next step reuse them.
    static let allocatorTuned: Bool = {
        #if os(Linux)
        _ = glibcMallopt(-3 /* M_MMAP_THRESHOLD */, 512 << 20)
        _ = glibcMallopt(-1 /* M_TRIM_THRESHOLD */, 1 << 30)
        #endif
        return true
    }()
}

#if os(Linux)
/// glibc's `mallopt` (declared in <malloc.h>, which the Glibc module does not export).
@_silgen_name("mallopt") private func glibcMallopt(_ parameter: Int32, _ value: Int32) -> Int32
#endif
