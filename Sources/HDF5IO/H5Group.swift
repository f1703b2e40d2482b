// H5Group: groups (nested "a/b" paths, intermediate groups created on demand), membership queries and
// dataset creation. H5File is the root group of a file.

import CHDF5
import Foundation

/// Kind of object a link points to.
public enum H5ObjectKind: Sendable, Equatable {
    case group, dataset, namedDatatype, other
}

/// An open group. Names may be relative ("a/b", resolved from this group) or absolute ("/a/b").
public class H5Group: H5Object {

    // MARK: Membership

    /// True when every component of `name` exists and the last one resolves to an object
    /// (a dangling soft link counts as absent). "" and "/" are always present.
    public func exists(_ name: String) throws -> Bool {
        let op = "look up"
        try ensureOpen(op, childPath(name))
        let parts = name.split(separator: "/", omittingEmptySubsequences: true)
        var prefix = name.hasPrefix("/") ? "/" : ""
        for (i, part) in parts.enumerated() {
            if part == "." { continue }
            prefix += (prefix.isEmpty || prefix == "/" ? "" : "/") + part
            let link = try check(H5Lexists(id, prefix, cgm_h5p_default()), op, childPath(prefix))
            if link <= 0 { return false }
            let object = try check(H5Oexists_by_name(id, prefix, cgm_h5p_default()), op, childPath(prefix))
            if object <= 0 { return false }
            // Intermediate components must be groups to descend further.
            if i < parts.count - 1, try kindUnchecked(prefix) != .group { return false }
        }
        return true
    }

    private func kindUnchecked(_ name: String) throws -> H5ObjectKind {
        let t = cgm_h5o_type_by_name(id, name)
        if t < 0 { throw stackError("inspect", childPath(name)) }
        switch t {
        case Int32(H5O_TYPE_GROUP.rawValue): return .group
        case Int32(H5O_TYPE_DATASET.rawValue): return .dataset
        case Int32(H5O_TYPE_NAMED_DATATYPE.rawValue): return .namedDatatype
        default: return .other
        }
    }

    /// Kind of the object at `name`, or nil if it does not exist.
    public func kind(of name: String) throws -> H5ObjectKind? {
        guard try exists(name) else { return nil }
        return try kindUnchecked(name)
    }

    /// Names of the direct members (groups, datasets, ...) of this group, in name order.
    public func members() throws -> [String] {
        let op = "list members of"
        try ensureOpen(op)
        var info = H5G_info_t()
        try check(H5Gget_info(id, &info), op)
        var names: [String] = []
        names.reserveCapacity(Int(info.nlinks))
        for i in 0..<info.nlinks {
            let len = try check(H5Lget_name_by_idx(id, ".", H5_INDEX_NAME, H5_ITER_INC, i, nil, 0,
                                                   cgm_h5p_default()), op)
            var buf = [CChar](repeating: 0, count: Int(len) + 1)
            try check(H5Lget_name_by_idx(id, ".", H5_INDEX_NAME, H5_ITER_INC, i, &buf, buf.count,
                                         cgm_h5p_default()), op)
            names.append(String(cString: buf))
        }
        return names
    }

    // MARK: Groups

    /// Link-creation property list that creates missing intermediate groups. Caller closes it.
    private func intermediateLCPL(_ op: String, _ object: String) throws -> hid_t {
        let lcpl = try check(H5Pcreate(cgm_h5p_link_create()), op, object)
        if H5Pset_create_intermediate_group(lcpl, 1) < 0 {
            let e = stackError(op, object)
            H5Pclose(lcpl)
            throw e
        }
        return lcpl
    }

    /// Throws unless every existing proper prefix of `name` is a group (so creation can descend).
    private func checkParents(_ name: String, _ op: String) throws {
        let parts = name.split(separator: "/", omittingEmptySubsequences: true)
        guard parts.count > 1 else { return }
        var prefix = name.hasPrefix("/") ? "/" : ""
        for part in parts.dropLast() {
            prefix += (prefix.isEmpty || prefix == "/" ? "" : "/") + part
            guard let k = try kind(of: prefix) else { return }
            if k != .group {
                throw error(op, childPath(name), "parent '\(childPath(prefix))' is a \(k), not a group")
            }
        }
    }

    /// Creates group `name` and any missing parents; throws if it already exists.
    public func createGroup(_ name: String) throws -> H5Group {
        let op = "create group"
        let full = childPath(name)
        try ensureWritable(op, full)
        if try exists(name) { throw error(op, full, "an object with this path already exists") }
        try checkParents(name, op)
        let lcpl = try intermediateLCPL(op, full)
        defer { H5Pclose(lcpl) }
        let gid = try check(H5Gcreate2(id, name, lcpl, cgm_h5p_default(), cgm_h5p_default()), op, full)
        return H5Group(id: gid, state: state, path: full, owner: fileForChildren)
    }

    /// Opens existing group `name`.
    public func openGroup(_ name: String) throws -> H5Group {
        let op = "open group"
        let full = childPath(name)
        guard let k = try kind(of: name) else { throw error(op, full, "no such group") }
        guard k == .group else { throw error(op, full, "object is a \(k), not a group") }
        let gid = try check(H5Gopen2(id, name, cgm_h5p_default()), op, full)
        return H5Group(id: gid, state: state, path: full, owner: fileForChildren)
    }

    /// Opens group `name`, creating it (and its parents) if absent.
    public func requireGroup(_ name: String) throws -> H5Group {
        try exists(name) ? openGroup(name) : createGroup(name)
    }

    // MARK: Datasets

    /// Creates an (unwritten) dataset. `chunks` (one positive size per axis, each <= the axis length)
    /// enables chunked storage; `gzipLevel` (0...9) adds the deflate filter, `shuffle` the byte-shuffle
    /// filter before it. Compression without `chunks` picks chunks of at most ~1 MiB automatically.
    /// Missing parent groups are created.
    public func createDataset(_ name: String, elementType: H5ElementType, shape: [Int], chunks: [Int]? = nil,
                              gzipLevel: Int? = nil, shuffle: Bool = false) throws -> H5Dataset {
        let op = "create dataset"
        let full = childPath(name)
        try ensureWritable(op, full)
        guard shape.allSatisfy({ $0 >= 0 }) else { throw error(op, full, "negative dimension in shape \(shape)") }
        if let level = gzipLevel, !(0...9).contains(level) {
            throw error(op, full, "gzip level \(level) outside 0...9")
        }
        let filtered = gzipLevel != nil || shuffle
        var chunkShape = chunks
        if let c = chunks {
            guard c.count == shape.count, !shape.isEmpty else {
                throw error(op, full, "chunks \(c) do not match dataset shape \(shape)")
            }
            guard zip(c, shape).allSatisfy({ $0 > 0 && $0 <= $1 }) else {
                throw error(op, full, "chunks \(c) must be positive and at most the shape \(shape)")
            }
        } else if filtered {
            guard !shape.isEmpty else { throw error(op, full, "a scalar dataset cannot be compressed") }
            // nil when an axis has length 0: nothing to compress, stored contiguously.
            chunkShape = Self.automaticChunks(shape: shape, elementSize: elementType.byteSize)
        }
        if try exists(name) { throw error(op, full, "an object with this path already exists") }
        try checkParents(name, op)

        let space: hid_t
        if shape.isEmpty {
            space = try check(H5Screate(H5S_SCALAR), op, full)
        } else {
            var dims = shape.map { hsize_t($0) }
            space = try check(H5Screate_simple(Int32(shape.count), &dims, nil), op, full)
        }
        defer { H5Sclose(space) }
        let dcpl = try check(H5Pcreate(cgm_h5p_dataset_create()), op, full)
        defer { H5Pclose(dcpl) }
        if let c = chunkShape {
            var dims = c.map { hsize_t($0) }
            try check(H5Pset_chunk(dcpl, Int32(c.count), &dims), op, full)
            if shuffle { try check(H5Pset_shuffle(dcpl), op, full) }
            if let level = gzipLevel {
                guard H5Library.hasGzip else { throw error(op, full, "the gzip (deflate) filter is unavailable") }
                try check(H5Pset_deflate(dcpl, UInt32(level)), op, full)
            }
        }
        let lcpl = try intermediateLCPL(op, full)
        defer { H5Pclose(lcpl) }
        let did = try check(H5Dcreate2(id, name, elementType.nativeType, space, lcpl, dcpl, cgm_h5p_default()),
                            op, full)
        return try H5Dataset(id: did, state: state, path: full, owner: fileForChildren)
    }

    /// Creates dataset `name` from row-major `values` with `shape` (default: 1-D of `values.count`).
    @discardableResult
    public func createDataset<T: H5Scalar>(_ name: String, values: [T], shape: [Int]? = nil, chunks: [Int]? = nil,
                                           gzipLevel: Int? = nil, shuffle: Bool = false) throws -> H5Dataset {
        try values.withUnsafeBufferPointer {
            try createDataset(name, buffer: $0, shape: shape, chunks: chunks, gzipLevel: gzipLevel, shuffle: shuffle)
        }
    }

    /// Creates dataset `name` from row-major memory (e.g. a tensor's storage) with `shape`.
    @discardableResult
    public func createDataset<T: H5Scalar>(_ name: String, buffer: UnsafeBufferPointer<T>, shape: [Int]? = nil,
                                           chunks: [Int]? = nil, gzipLevel: Int? = nil,
                                           shuffle: Bool = false) throws -> H5Dataset {
        let shape = shape ?? [buffer.count]
        guard shape.reduce(1, *) == buffer.count, shape.allSatisfy({ $0 >= 0 }) else {
            throw error("create dataset", childPath(name),
                        "shape \(shape) holds \(shape.reduce(1, *)) values, got \(buffer.count)")
        }
        let ds = try createDataset(name, elementType: T.h5ElementType, shape: shape, chunks: chunks,
                                   gzipLevel: gzipLevel, shuffle: shuffle)
        try ds.write(buffer)
        return ds
    }

    /// Opens existing dataset `name`.
    public func openDataset(_ name: String) throws -> H5Dataset {
        let op = "open dataset"
        let full = childPath(name)
        guard let k = try kind(of: name) else { throw error(op, full, "no such dataset") }
        guard k == .dataset else { throw error(op, full, "object is a \(k), not a dataset") }
        let did = try check(H5Dopen2(id, name, cgm_h5p_default()), op, full)
        return try H5Dataset(id: did, state: state, path: full, owner: fileForChildren)
    }

    /// Reads dataset `name` into an array with its shape (see `H5Dataset.read`).
    public func readDataset<T: H5Scalar>(_ name: String, as type: T.Type = T.self,
                                         allowConversion: Bool = false) throws -> H5Array<T> {
        try openDataset(name).read(as: type, allowConversion: allowConversion)
    }

    /// Chunk shape of at most ~1 MiB: the full shape, halving the largest axis until small enough;
    /// nil if an axis has length 0.
    static func automaticChunks(shape: [Int], elementSize: Int) -> [Int]? {
        if shape.contains(0) { return nil }
        var c = shape
        while c.reduce(elementSize, *) > 1 << 20 {
            let i = c.indices.max { c[$0] < c[$1] }!
            c[i] = (c[i] + 1) / 2
        }
        return c
    }
}
