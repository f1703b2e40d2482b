// Partial reads along the first axis (hyperslabs of whole rows) and opening a dataset with a sized chunk
// cache. A shard reader needs a few scattered rows of a large chunked, compressed dataset: one H5Dread
// of the union of row runs reads only the chunks that hold them, and the chunk cache keeps decompressed
// chunks for the next batch so each chunk is inflated once while it stays cached.
//
//   dataset (N, d1, ..., dk)   runs: sorted, disjoint ranges of rows   →   buffer (Σ|run|, d1, ..., dk)

import CHDF5
import Foundation

/// Raw-data chunk cache of one open dataset (HDF5's `rdcc`, see `H5Pset_chunk_cache`). Memory used is at
/// most `bytes` per open dataset and only grows as chunks are actually read.
public struct H5ChunkCache: Equatable, Sendable {
    /// Maximum bytes of decompressed chunks kept (HDF5 default: 1 MiB). Chunks larger than this are never cached.
    public var bytes: Int
    /// Hash-table slots; a prime well above the number of chunks that fit avoids collisions evicting chunks.
    public var slots: Int
    /// Preemption weight 0...1: 0 keeps fully read chunks as long as others (right for re-reads), 1 drops them first.
    public var preemption: Double

    /// Creates cache settings; `slots` defaults to a prime near 100 slots per MiB (at least 521).
    public init(bytes: Int, slots: Int? = nil, preemption: Double = 0) {
        self.bytes = max(0, bytes)
        self.slots = slots ?? Self.prime(atLeast: max(521, (bytes >> 20) * 100))
        self.preemption = min(max(preemption, 0), 1)
    }

    static func prime(atLeast n: Int) -> Int {
        var p = max(2, n)
        func isPrime(_ x: Int) -> Bool {
            if x < 4 { return x >= 2 }
            if x % 2 == 0 { return false }
            var d = 3
            while d * d <= x {
                if x % d == 0 { return false }
                d += 2
            }
            return true
        }
        while !isPrime(p) { p += 1 }
        return p
    }
}

extension H5Group {
    /// Opens existing dataset `name` with its own raw-data chunk cache (instead of the 1 MiB default).
    public func openDataset(_ name: String, chunkCache: H5ChunkCache) throws -> H5Dataset {
        let op = "open dataset"
        let full = childPath(name)
        guard let k = try kind(of: name) else { throw error(op, full, "no such dataset") }
        guard k == .dataset else { throw error(op, full, "object is a \(k), not a dataset") }
        // H5P_DATASET_ACCESS is a macro over this global (valid after H5open, done by H5Library).
        let dapl = try check(H5Pcreate(H5P_CLS_DATASET_ACCESS_ID_g), op, full)
        defer { H5Pclose(dapl) }
        try check(H5Pset_chunk_cache(dapl, chunkCache.slots, chunkCache.bytes, chunkCache.preemption), op, full)
        let did = try check(H5Dopen2(id, name, dapl), op, full)
        return try H5Dataset(id: did, state: state, path: full, owner: fileForChildren)
    }
}

extension H5Dataset {
    /// Number of elements in one row (the product of all axes after the first).
    public var rowSize: Int { shape.dropFirst().reduce(1, *) }

    /// Reads the rows of `runs` (ranges along axis 0, sorted ascending and non-overlapping; empty ranges
    /// are skipped) into `buffer`, row-major, runs one after another. `buffer.count` must equal
    /// `Σ run.count × rowSize`. The stored type must equal `T` exactly.
    public func readRows<T: H5Scalar>(_ runs: [Range<Int>], into buffer: UnsafeMutableBufferPointer<T>) throws {
        let op = "read rows of dataset"
        try ensureOpen(op)
        guard !shape.isEmpty else { throw error(op, nil, "a scalar dataset has no rows") }
        guard elementType == T.h5ElementType else {
            throw error(op, nil, "dataset stores \(elementType?.rawValue ?? "an unsupported type"), "
                        + "requested \(T.h5ElementType.rawValue)")
        }
        let runs = runs.filter { !$0.isEmpty }
        var previousEnd = 0
        var total = 0
        for r in runs {
            guard r.lowerBound >= previousEnd, r.upperBound <= shape[0] else {
                throw error(op, nil, "row runs must be sorted, disjoint and inside 0..<\(shape[0]); got \(r) "
                            + "after a run ending at \(previousEnd)")
            }
            previousEnd = r.upperBound
            total += r.count
        }
        let rowSize = self.rowSize
        guard buffer.count == total * rowSize else {
            throw error(op, nil, "\(total) rows of \(rowSize) values need \(total * rowSize), "
                        + "buffer has \(buffer.count)")
        }
        if total == 0 || rowSize == 0 { return }

        let rank = Int32(shape.count)
        let fileSpace = try check(H5Dget_space(id), op)
        defer { H5Sclose(fileSpace) }
        var count = shape.map { hsize_t($0) }
        var start = [hsize_t](repeating: 0, count: shape.count)
        for (i, r) in runs.enumerated() {
            start[0] = hsize_t(r.lowerBound)
            count[0] = hsize_t(r.count)
            try check(H5Sselect_hyperslab(fileSpace, i == 0 ? H5S_SELECT_SET : H5S_SELECT_OR,
                                          start, nil, count, nil), op)
        }
        var memDims = shape.map { hsize_t($0) }
        memDims[0] = hsize_t(total)
        let memSpace = try check(H5Screate_simple(rank, memDims, nil), op)
        defer { H5Sclose(memSpace) }
        try check(H5Dread(id, T.h5ElementType.nativeType, memSpace, fileSpace, cgm_h5p_default(),
                          buffer.baseAddress), op)
    }

    /// Reads the rows of `runs` (see `readRows(_:into:)`) into an array of shape (Σ run.count, d1, ...).
    public func readRows<T: H5Scalar>(_ runs: [Range<Int>], as type: T.Type = T.self) throws -> H5Array<T> {
        let rows = runs.reduce(0) { $0 + $1.count }
        let n = rows * rowSize
        let values = try [T](unsafeUninitializedCapacity: n) { buf, initialized in
            try readRows(runs, into: buf)
            initialized = n
        }
        var outShape = shape
        if !outShape.isEmpty { outShape[0] = rows }
        return H5Array(shape: outShape, values: values)
    }
}
