import Foundation

/// An n-dimensional array of `Float` on contiguous row-major storage.
///
/// `Tensor` is a value type: copies share storage until one of them is mutated (copy on write).
/// A tensor may be a view (`offset`, `shape`) into a larger storage, as parameters are.
public struct Tensor {
    public private(set) var storage: TensorStorage
    public private(set) var offset: Int
    public private(set) var shape: [Int]

    /// Number of elements.
    public var count: Int { Shape.count(shape) }
    public var rank: Int { shape.count }

    // MARK: Construction

    /// A tensor over `storage` starting at `offset` (no copy). Used for parameter views.
    public init(storage: TensorStorage, offset: Int = 0, shape: [Int]) {
        precondition(shape.allSatisfy { $0 >= 0 }, "negative dimension in shape \(shape)")
        precondition(offset >= 0 && offset + Shape.count(shape) <= storage.count,
                     "view [\(offset), +\(Shape.count(shape))) outside storage of \(storage.count)")
        self.storage = storage
        self.offset = offset
        self.shape = shape
    }

    /// Uninitialized contents; the caller must write every element.
    public init(uninitialized shape: [Int]) {
        self.init(storage: TensorStorage(uninitializedCount: Shape.count(shape)), shape: shape)
    }

    public init(zeros shape: [Int]) {
        self.init(storage: TensorStorage(zeroedCount: Shape.count(shape)), shape: shape)
    }

    public init(repeating value: Float, shape: [Int]) {
        self.init(uninitialized: shape)
        storage.pointer.update(repeating: value, count: count)
    }

    public init(shape: [Int], scalars: [Float]) {
        precondition(scalars.count == Shape.count(shape),
                     "\(scalars.count) scalars do not fill shape \(shape) (\(Shape.count(shape)) elements)")
        self.init(uninitialized: shape)
        scalars.withUnsafeBufferPointer { storage.pointer.update(from: $0.baseAddress!, count: $0.count) }
    }

    public init(scalar: Float) { self.init(shape: [], scalars: [scalar]) }

    // MARK: Access

    /// Read-only pointer to the first element.
    @inlinable public var pointer: UnsafePointer<Float> { UnsafePointer(storage.pointer + offset) }

    /// Mutable pointer without a uniqueness check: only for tensors the caller just allocated
    /// (kernel outputs) or for deliberate writes through a shared view (parameters, gradients).
    @inlinable public var sharedMutablePointer: UnsafeMutablePointer<Float> { storage.pointer + offset }

    public var scalars: [Float] { Array(UnsafeBufferPointer(start: pointer, count: count)) }

    /// The single value of a one-element tensor.
    public var scalar: Float {
        precondition(count == 1, "scalar of a tensor with shape \(shape)")
        return pointer[0]
    }

    public func withUnsafeBufferPointer<R>(_ body: (UnsafeBufferPointer<Float>) throws -> R) rethrows -> R {
        try body(UnsafeBufferPointer(start: pointer, count: count))
    }

    /// Mutable access with copy-on-write: storage shared with another tensor is copied first.
    public mutating func withUnsafeMutableBufferPointer<R>(
        _ body: (UnsafeMutableBufferPointer<Float>) throws -> R
    ) rethrows -> R {
        if !isKnownUniquelyReferenced(&storage) || storage.count != count {
            let copy = TensorStorage(uninitializedCount: count)
            copy.pointer.update(from: pointer, count: count)
            storage = copy
            offset = 0
        }
        return try body(UnsafeMutableBufferPointer(start: storage.pointer + offset, count: count))
    }

    /// Element at a multi-index (slow; for tests and small tools).
    public subscript(_ index: Int...) -> Float {
        get { pointer[flatIndex(index)] }
        set {
            let i = flatIndex(index)
            withUnsafeMutableBufferPointer { $0[i] = newValue }
        }
    }

    private func flatIndex(_ index: [Int]) -> Int {
        precondition(index.count == shape.count, "index \(index) for shape \(shape)")
        var flat = 0
        for (i, d) in zip(index, shape) {
            precondition(i >= 0 && i < d, "index \(index) out of bounds for shape \(shape)")
            flat = flat * d + i
        }
        return flat
    }

    /// The same elements under another shape of equal size (no copy).
    public func reshaped(_ newShape: [Int]) -> Tensor {
        precondition(Shape.count(newShape) == count, "cannot reshape \(shape) to \(newShape)")
        return Tensor(storage: storage, offset: offset, shape: newShape)
    }

    /// A deep copy with its own storage.
    public func copy() -> Tensor {
        var t = Tensor(uninitialized: shape)
        t.storage.pointer.update(from: pointer, count: count)
        t.offset = 0
        return t
    }

    /// True if every element is finite.
    public var isFinite: Bool {
        let p = pointer
        for i in 0..<count where !p[i].isFinite { return false }
        return true
    }
}

extension Tensor: CustomStringConvertible {
    public var description: String {
        let shown = scalars.prefix(8).map { String(format: "%.5g", $0) }.joined(separator: ", ")
        return "Tensor(shape: \(shape), [\(shown)\(count > 8 ? ", …" : "")])"
    }
}

extension Tensor: Equatable {
    /// Bitwise equality of shape and elements (used by determinism tests).
    public static func == (a: Tensor, b: Tensor) -> Bool {
        guard a.shape == b.shape else { return false }
        return memcmp(a.pointer, b.pointer, a.count * MemoryLayout<Float>.stride) == 0
    }
}
